"""Handoff store on SQLite and on a real PostgreSQL: records are committed, complete, and private."""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from bot import PROJECT_ROOT
from bot.handoff.contact import Contact
from bot.handoff.store import HandoffNotFound, HandoffRecord, HandoffStore, HandoffStoreError
from tests.support import postgres

CONSENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return postgres.database_url(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> HandoffStore:
    return HandoffStore(db_url)


def make(store: HandoffStore, **overrides: object) -> HandoffRecord:
    kwargs: dict[str, object] = {
        "conversation_id": "conv-1",
        "reason": "contraindication",
        "conditions": ["pregnancy", "blood thinners"],
        "name": "Jane Doe",
        "contact": "(403) 555-0123",
        "consent_at": CONSENT,
    }
    kwargs.update(overrides)
    return store.create(**kwargs)  # type: ignore[arg-type]


def test_create_commits_a_complete_record(store: HandoffStore, db_url: str) -> None:
    before = datetime.now(UTC)
    record = make(store)
    assert uuid.UUID(record.id).version == 4
    assert before <= record.created_at <= datetime.now(UTC)
    assert (record.status, record.resolved_at, record.transcript) == ("new", None, None)
    assert (record.contact, record.contact_kind) == ("+14035550123", "phone")
    # A second, independent store (another process) sees it: it was committed, not just flushed.
    fetched = HandoffStore(db_url).get(record.id)
    assert fetched == record
    assert fetched.created_at.tzinfo is not None and fetched.created_at.utcoffset() == timedelta(0)
    assert fetched.consent_at == CONSENT
    assert fetched.conditions == ["pregnancy", "blood thinners"]


def test_contact_object_and_anonymous_handoff(store: HandoffStore) -> None:
    with_email = make(store, contact=Contact("email", "jane@example.com"), name=None)
    assert (with_email.contact, with_email.contact_kind, with_email.name) == ("jane@example.com", "email", None)
    anonymous = store.create("conv-2", "urgent")
    fetched = store.get(anonymous.id)
    assert fetched is not None
    assert (fetched.name, fetched.contact, fetched.contact_kind, fetched.consent_at, fetched.conditions) == (None, None, None, None, [])


def test_non_utc_consent_is_stored_as_utc(store: HandoffStore) -> None:
    mountain = datetime(2024, 5, 1, 6, 0, tzinfo=UTC).astimezone(ZoneInfo("America/Edmonton"))
    record = make(store, consent_at=mountain)
    assert store.get(record.id).consent_at == datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reason": "curious"}, "reason"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"contact": "call me maybe"}, "contact"),
        ({"consent_at": None}, "consent"),
        ({"contact": None, "consent_at": None}, "consent"),  # a name alone also needs consent
        ({"consent_at": datetime(2024, 5, 1, 12, 0)}, "timezone"),
    ],
)
def test_invalid_input_is_refused_before_writing(store: HandoffStore, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(store, **overrides)
    assert store.list() == []


def test_transcript_is_not_stored_by_default(db_url: str) -> None:
    store = HandoffStore(db_url)
    record = make(store, transcript=[{"user": "I'm pregnant, can I have dry needling?"}])
    assert record.transcript is None
    assert store.get(record.id).transcript is None
    engine = create_engine(db_url, future=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT transcript FROM handoffs")).scalar_one() is None
    engine.dispose()
    assert "pregnant" not in store.export("json") and "transcript" not in store.export("csv")


def test_transcript_is_stored_when_enabled(db_url: str) -> None:
    transcript = [{"user": "I'm pregnant"}, {"bot": "A clinician will call you."}]
    store = HandoffStore(db_url, store_transcript=True)
    record = make(store, transcript=transcript)
    assert store.get(record.id).transcript == transcript
    assert json.loads(store.export("json"))[0]["transcript"] == transcript


def test_list_filters_by_status_and_resolve_is_idempotent(store: HandoffStore) -> None:
    first, second = make(store), make(store, conversation_id="conv-2", reason="clinician_request")
    assert [r.id for r in store.list()] == [first.id, second.id]
    resolved = store.resolve(first.id)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert [r.id for r in store.list("open")] == [second.id]
    assert [r.id for r in store.list(status="resolved")] == [first.id]
    assert store.resolve(first.id).resolved_at == resolved.resolved_at
    with pytest.raises(ValueError):
        store.list("closed")  # type: ignore[arg-type]


def test_unknown_ids(store: HandoffStore) -> None:
    assert store.get(str(uuid.uuid4())) is None
    with pytest.raises(HandoffNotFound):
        store.resolve("no-such-id")


def test_export_csv_and_json(store: HandoffStore) -> None:
    record = make(store, name='=HYPERLINK("http://evil")', conditions=["pregnancy", "-knee"])
    rows = list(csv.DictReader(io.StringIO(store.export("csv"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == record.id and row["contact"] == "+14035550123" and row["status"] == "new"
    assert row["name"].startswith("'=")  # spreadsheet formula defused
    assert row["conditions"] == "pregnancy; -knee"
    assert datetime.fromisoformat(row["created_at"]) == record.created_at
    assert "transcript" not in row
    data = json.loads(store.export("json"))
    assert data[0]["id"] == record.id and data[0]["conditions"] == ["pregnancy", "-knee"]
    assert "transcript" not in data[0]
    assert store.export("json", status="resolved") == "[]\n"
    with pytest.raises(ValueError):
        store.export("xml")  # type: ignore[arg-type]


def test_logs_carry_ids_only(store: HandoffStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    record = make(store, name="Jane Doe", contact="jane@example.com")
    store.resolve(record.id)
    assert record.id in caplog.text
    assert "Jane" not in caplog.text and "jane@" not in caplog.text and "pregnancy" not in caplog.text
    assert "Jane" not in repr(record) and "jane@" not in repr(record)


def test_unreachable_database_raises_store_error() -> None:
    store = HandoffStore(f"postgresql+psycopg2://postgres@127.0.0.1:{postgres._free_port()}/nowhere")
    with pytest.raises(HandoffStoreError):
        make(store)
    with pytest.raises(HandoffStoreError):
        store.list()


def test_read_only_sqlite_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "handoffs.db"
    HandoffStore(f"sqlite:///{path}").list()  # creates the schema
    store = HandoffStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert store.list() == []
    with pytest.raises(HandoffStoreError) as excinfo:
        make(store)
    assert "Jane" not in str(excinfo.value) and "403" not in str(excinfo.value.__cause__)
    assert HandoffStore(f"sqlite:///{path}").list() == []


def test_outbox_failure_rolls_back_the_record(db_url: str) -> None:
    """Record and outbox row are one transaction: if the second insert fails, neither exists."""
    store = HandoffStore(db_url, webhook_url="http://127.0.0.1:9/hook")
    store.list()  # create the schema
    engine = create_engine(db_url, future=True)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER fail BEFORE INSERT ON handoff_outbox BEGIN SELECT RAISE(ABORT, 'boom'); END"))
        else:
            conn.execute(text("CREATE FUNCTION fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER fail BEFORE INSERT ON handoff_outbox FOR EACH ROW EXECUTE FUNCTION fail()"))
    engine.dispose()
    with pytest.raises(HandoffStoreError):
        make(store)
    assert store.list() == [] and store.outbox_pending() == 0


def test_default_location_and_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HANDOFF_DATABASE_URL", "HANDOFF_WEBHOOK_URL", "HANDOFF_WEBHOOK_SECRET", "HANDOFF_STORE_TRANSCRIPT"):
        monkeypatch.delenv(name, raising=False)
    default = HandoffStore.from_env()
    assert default.engine.url.database == str(PROJECT_ROOT / "var" / "handoffs.db")
    assert (PROJECT_ROOT / "var").is_dir()
    assert (default.webhook_url, default.webhook_secret, default.store_transcript) == (None, None, False)
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", "https://example.org/hook")
    monkeypatch.setenv("HANDOFF_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("HANDOFF_STORE_TRANSCRIPT", "true")
    configured = HandoffStore.from_env()
    assert configured.engine.url.database == str(tmp_path / "x.db")
    assert (configured.webhook_url, configured.webhook_secret, configured.store_transcript) == ("https://example.org/hook", "s3cret", True)


def test_relative_sqlite_path_is_under_the_project_root(tmp_path: Path) -> None:
    relative = Path("var") / f"test-{uuid.uuid4().hex}" / "handoffs.db"
    try:
        store = HandoffStore(f"sqlite:///{relative}")
        assert store.engine.url.database == str(PROJECT_ROOT / relative)
        assert (PROJECT_ROOT / relative).parent.is_dir()
    finally:
        shutil.rmtree((PROJECT_ROOT / relative).parent, ignore_errors=True)
