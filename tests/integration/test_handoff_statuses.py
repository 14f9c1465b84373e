"""Handoff statuses new / contacted / resolved with a staff note, on SQLite and a real PostgreSQL: who changed what
and when is recorded, filters find the right records, and a database from before these statuses is upgraded in
place without losing a record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, CheckConstraint, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text, create_engine, insert
from sqlalchemy.exc import IntegrityError

from bot.handoff import migrate
from bot.handoff.store import HandoffNotFound, HandoffStore, handoffs
from tests.support import postgres

CONSENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return postgres.database_url(request.param, tmp_path)


@pytest.fixture
def store(db_url: str) -> HandoffStore:
    return HandoffStore(db_url, store_transcript=True)


def test_a_new_record_is_new_and_a_status_change_records_who_and_when(store: HandoffStore) -> None:
    record = store.create("conv-1", "contraindication", ["pregnancy"], "Jane Doe", "jane@example.com", CONSENT, channel="webchat")
    assert (record.status, record.channel, record.note, record.updated_by) == ("new", "webchat", None, None)
    before = datetime.now(UTC)
    change = store.set_status(record.id, "contacted", by="alice", note="Left a voicemail")
    assert change.status_changed and change.note_changed
    stored = store.get(record.id)
    assert (stored.status, stored.note, stored.updated_by, stored.resolved_at) == ("contacted", "Left a voicemail", "alice", None)
    assert before <= stored.updated_at <= datetime.now(UTC)

    resolved = store.set_status(record.id, "resolved", by="bob").after  # note None: kept
    assert (resolved.status, resolved.note, resolved.updated_by) == ("resolved", "Left a voicemail", "bob")
    assert resolved.resolved_at is not None
    again = store.set_status(record.id, "resolved", by="carol")  # nothing changes: the first resolution is kept
    assert not again.status_changed and not again.note_changed and store.get(record.id) == resolved
    reopened = store.set_status(record.id, "new", by="carol", note="").after
    assert (reopened.status, reopened.resolved_at, reopened.note, reopened.updated_by) == ("new", None, None, "carol")


def test_the_change_and_what_runs_within_it_commit_together(store: HandoffStore) -> None:
    record = store.create("conv-1", "urgent", ["chest_pain"])
    seen = []

    def fails(conn, change) -> None:
        seen.append(change.after.status)
        raise RuntimeError("the audit entry could not be written")

    with pytest.raises(RuntimeError):
        store.set_status(record.id, "contacted", by="alice", within=fails)
    assert seen == ["contacted"] and store.get(record.id).status == "new"  # rolled back with it
    store.set_status(record.id, "contacted", by="alice", within=lambda conn, change: seen.append("ok"))
    assert seen[-1] == "ok" and store.get(record.id).status == "contacted"


def test_invalid_changes_are_refused(store: HandoffStore) -> None:
    record = store.create("conv-1", "clinician_request")
    with pytest.raises(HandoffNotFound):
        store.set_status(str(uuid.uuid4()), "contacted", by="alice")
    with pytest.raises(ValueError):
        store.set_status(record.id, "open", by="alice")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.set_status(record.id, "contacted", by="")
    with pytest.raises(ValueError):
        store.set_status(record.id, "contacted", by="alice", note="x" * 2001)
    assert store.get(record.id).status == "new"


def test_find_filters_and_counts(store: HandoffStore) -> None:
    jane = store.create("conv-1", "contraindication", ["pregnancy"], "Jane Doe", "(403) 555-0123", CONSENT)
    sam = store.create("conv-2", "clinician_request", [], "Sam Lee", "sam@example.com", CONSENT)
    urgent = store.create("+14035550199", "urgent", ["bleeding"], channel="twilio")
    store.set_status(sam.id, "contacted", by="alice")
    assert [r.id for r in store.find()] == [urgent.id, sam.id, jane.id]  # newest first
    assert [r.id for r in store.find(newest_first=False)] == [jane.id, sam.id, urgent.id]
    assert [r.id for r in store.find(statuses=["contacted"])] == [sam.id]
    assert [r.id for r in store.find(reasons=["urgent"])] == [urgent.id]
    assert [r.id for r in store.find(text="jane")] == [jane.id]
    assert [r.id for r in store.find(text="403 555 0123")] == [jane.id]  # digits match however typed
    assert [r.id for r in store.find(text="50%_")] == []  # LIKE wildcards are literal
    assert store.find(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(store.find(until=datetime.now(UTC) + timedelta(minutes=1))) == 3
    assert [r.id for r in store.list("open")] == [jane.id, sam.id, urgent.id]  # the CLI's filter: new or contacted
    assert store.count_by_status() == {"new": 2, "contacted": 1, "resolved": 0}
    with pytest.raises(ValueError):
        store.find(statuses=["closed"])


def test_record_ids_are_random(store: HandoffStore) -> None:
    ids = [store.create(f"conv-{i}", "urgent").id for i in range(20)]
    assert len(set(ids)) == 20 and all(uuid.UUID(i).version == 4 for i in ids)
    assert len({i[:8] for i in ids}) == 20  # no shared, counting prefix


def _old_schema(url: str) -> Table:
    """The handoffs table (and an outbox referring to it) as databases created before the staff console have it."""
    meta = MetaData()
    old = Table(
        "handoffs",
        meta,
        Column("id", String(36), primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("conversation_id", String(255), nullable=False),
        Column("reason", String(32), nullable=False),
        Column("conditions", JSON, nullable=False),
        Column("name", Text),
        Column("contact", String(254)),
        Column("contact_kind", String(8)),
        Column("consent_at", DateTime(timezone=True)),
        Column("status", String(16), nullable=False),
        Column("resolved_at", DateTime(timezone=True)),
        Column("transcript", JSON(none_as_null=True)),
        CheckConstraint("reason IN ('contraindication', 'clinician_request', 'urgent')", name="ck_handoffs_reason"),
        CheckConstraint("status IN ('open', 'resolved')", name="ck_handoffs_status"),
    )
    Table(
        "handoff_outbox",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("handoff_id", String(36), ForeignKey("handoffs.id"), nullable=False),
        Column("payload", Text, nullable=False),
    )
    engine = create_engine(url, future=True)
    meta.create_all(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for i, status in enumerate(["open", "resolved", "open"]):
            conn.execute(
                insert(old).values(
                    id=f"00000000-0000-4000-8000-00000000000{i}",
                    created_at=now - timedelta(days=3 - i),
                    conversation_id=f"conv-{i}",
                    reason="contraindication",
                    conditions=["pregnancy"],
                    name="Jane Doe",
                    contact="+14035550123",
                    contact_kind="phone",
                    consent_at=now,
                    status=status,
                    resolved_at=now if status == "resolved" else None,
                    transcript=[{"from": "visitor", "text": "hello"}] if i == 0 else None,
                )
            )
        conn.execute(insert(meta.tables["handoff_outbox"]).values(handoff_id="00000000-0000-4000-8000-000000000000", payload="{}"))
    engine.dispose()
    return old


def test_an_existing_database_is_upgraded_in_place(db_url: str) -> None:
    _old_schema(db_url)
    store = HandoffStore(db_url, store_transcript=True)
    records = store.list()
    assert [r.status for r in records] == ["new", "resolved", "new"]  # every 'open' record is now 'new'
    assert records[0].name == "Jane Doe" and records[0].transcript == [{"from": "visitor", "text": "hello"}]
    assert records[1].resolved_at is not None and records[0].channel is None and records[0].note is None
    change = store.set_status(records[0].id, "contacted", by="alice", note="Called back")
    assert change.after.status == "contacted"
    assert store.create("conv-new", "urgent").status == "new"
    engine = create_engine(db_url, future=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM handoff_outbox").scalar_one() == 1  # the outbox rows are kept
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the old status is refused now
        conn.exec_driver_sql(f"UPDATE handoffs SET status = 'open' WHERE id = '{records[2].id}'")
    assert migrate.upgrade(engine, handoffs, "new") is False  # a second process finds nothing to do
    engine.dispose()
    assert HandoffStore(db_url).get(records[0].id).note == "Called back"


def test_the_cli_records_who_viewed_exported_and_changed(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot.console import audit
    from bot.console.audit import AuditLog
    from bot.handoff.cli import main, operator

    monkeypatch.setenv("HANDOFF_DATABASE_URL", db_url)
    monkeypatch.delenv("STORES", raising=False)
    store = HandoffStore(db_url)
    record = store.create("conv-1", "contraindication", ["pregnancy"], "Jane Doe", "jane@example.com", CONSENT)
    assert main(["list"]) == 0 and main(["show", record.id]) == 0
    assert main(["status", record.id, "contacted", "--note", "Left a voicemail"]) == 0
    assert main(["resolve", record.id]) == 0 and main(["export", "--format", "json"]) == 0
    capsys.readouterr()
    entries = list(reversed(AuditLog(store.engine).find(record_id=record.id)))
    assert [e.action for e in entries] == [
        audit.INBOX_VIEW,
        audit.RECORD_VIEW,
        audit.STATUS_CHANGE,
        audit.NOTE_CHANGE,
        audit.STATUS_CHANGE,
        audit.EXPORT,
    ]
    assert {(e.staff, e.client) for e in entries} == {(operator(), "cli")} and operator().startswith("cli")
    assert entries[2].detail == "new -> contacted" and entries[4].detail == "contacted -> resolved"
    assert store.get(record.id).updated_by == operator()
