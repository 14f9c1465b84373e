"""Retention command on SQLite and a real PostgreSQL, with Rasa's own SQL tracker store for the conversations."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot import PROJECT_ROOT
from bot.config import PRODUCTION_DEFAULTS, load_settings
from bot.handoff.outbox import outbox
from bot.handoff.store import HandoffStore, handoffs
from bot.persistence import retention
from bot.persistence.opt_outs import OptOutStore
from tests.support import postgres

DAY = 86400.0
NOW = time.time()
NAME, PHONE, DISCLOSURE = "Jane Doe", "(403) 555-0123", "I'm 10 weeks pregnant, can I have dry needling?"
# Environment variables that would point the command elsewhere than the test databases.
STORE_VARS = ("STORES", "TRACKER_DATABASE_URL", "HANDOFF_DATABASE_URL", "RETENTION_DAYS", "POSTGRESQL_SCHEMA") + tuple(
    name for name in os.environ if name.startswith("POSTGRES_")
)


@dataclass
class Databases:
    kind: str
    tracker_url: str
    handoff_url: str

    def environ(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in STORE_VARS}
        env.update(TRACKER_DATABASE_URL=self.tracker_url, HANDOFF_DATABASE_URL=self.handoff_url, **extra)
        return env


@pytest.fixture(params=["sqlite", "postgresql"])
def dbs(request: pytest.FixtureRequest, tmp_path: Path) -> Databases:
    if request.param == "sqlite":  # the embedded layout: two files
        return Databases("sqlite", f"sqlite:///{tmp_path / 'trackers.db'}", f"sqlite:///{tmp_path / 'handoffs.db'}")
    url = postgres.fresh_database()  # the production layout: one database for both
    return Databases("postgresql", url, url)


# -- seeding with the real stores ---------------------------------------------------------


def tracker_store(url: str) -> SQLTrackerStore:
    # A URL in `host` is used as is by Rasa (SQLTrackerStore.get_db_url); the schema is Rasa's own.
    return SQLTrackerStore(domain=Domain.empty(), host=url)


def conversation(sender_id: str, *ages_in_days: float) -> list[Event]:
    """A Rasa conversation whose events happened the given numbers of days ago (oldest first)."""
    result: list[Event] = []
    for i, age in enumerate(ages_in_days):
        ts = NOW - age * DAY
        if i == 0 or ages_in_days[i - 1] - age > 1 / 24:  # a new session after an hour of silence, as Rasa does
            result += [ActionExecuted("action_session_start", timestamp=ts), SessionStarted(timestamp=ts)]
        result += [
            UserUttered(DISCLOSURE, {"name": "disclose_condition", "confidence": 0.9}, timestamp=ts + 1),
            SlotSet("contact", PHONE, timestamp=ts + 2),
            BotUttered("A clinician must review this before booking.", timestamp=ts + 3),
            ActionExecuted("action_listen", timestamp=ts + 4),
        ]
    return result


CONVERSATIONS = {
    "visitor-old": (45, 40),  # every event older than 30 days: deleted whole
    "visitor-new": (2, 0.5),
    "visitor-resumed": (60, 0.01),  # first event 60 days ago, last a quarter of an hour ago: kept whole
    "visitor-29-days": (29.5, 29),
    "visitor-31-days": (31.5, 31),  # deleted by the 30-day default
}


def seed_conversations(url: str) -> dict[str, int]:
    """Save the conversations through Rasa's store; return how many events each has."""
    store = tracker_store(url)
    counts = {}
    for sender_id, ages in CONVERSATIONS.items():
        tracker = DialogueStateTracker.from_events(sender_id, conversation(sender_id, *ages))
        asyncio.run(store.save(tracker))
        counts[sender_id] = len(tracker.events)
    store.engine.dispose()
    return counts


def stored_conversations(url: str) -> dict[str, int]:
    """Sender id -> number of events, read back through Rasa's store (all sessions)."""
    store = tracker_store(url)
    try:
        result = {}
        for sender_id in asyncio.run(store.keys()):
            tracker = asyncio.run(store.retrieve_full_tracker(sender_id))
            result[sender_id] = len(tracker.events)
        return result
    finally:
        store.engine.dispose()


@dataclass
class Handoffs:
    old_resolved: str
    old_open: str
    old_urgent: str
    recent: str
    recent_29_days: str


def seed_handoffs(url: str) -> Handoffs:
    store = HandoffStore(url, webhook_url="https://clinic.example/hook", store_transcript=True)
    consent = datetime.now(UTC)

    def make(conversation_id: str, age_days: float, resolved: bool = False, reason: str = "contraindication") -> str:
        personal = {} if reason == "urgent" else {"name": NAME, "contact": PHONE, "consent_at": consent}
        record = store.create(conversation_id, reason, ["pregnancy"], transcript=[{"user": DISCLOSURE}], **personal)
        if resolved:
            store.resolve(record.id)
        with store.engine.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == record.id).values(created_at=datetime.now(UTC) - timedelta(days=age_days)))
        return record.id

    seeded = Handoffs(
        old_resolved=make("visitor-old", 40, resolved=True),
        old_open=make("visitor-old", 36),
        old_urgent=make("visitor-31-days", 31, resolved=True, reason="urgent"),
        recent=make("visitor-new", 1),
        recent_29_days=make("visitor-29-days", 29),
    )
    store.engine.dispose()
    return seeded


def seed_opt_out(url: str) -> None:
    opt_outs = OptOutStore(url)
    opt_outs.opt_out("sms", "+14035550123")
    with opt_outs.engine.begin() as conn:  # opted out long ago: still honoured
        conn.execute(text("UPDATE messaging_opt_outs SET opted_out_at = :t"), {"t": datetime.now(UTC) - timedelta(days=900)})
    opt_outs.engine.dispose()


def remaining_handoffs(url: str) -> tuple[set[str], set[str]]:
    """(handoff ids, handoff ids that still have outbox rows)."""
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        ids = set(conn.execute(select(handoffs.c.id)).scalars())
        outbox_ids = set(conn.execute(select(outbox.c.handoff_id)).scalars())
    engine.dispose()
    return ids, outbox_ids


@pytest.fixture
def seeded(dbs: Databases) -> Iterator[tuple[Databases, dict[str, int], Handoffs]]:
    events = seed_conversations(dbs.tracker_url)
    records = seed_handoffs(dbs.handoff_url)
    seed_opt_out(dbs.handoff_url)
    yield dbs, events, records


# -- the function -------------------------------------------------------------------------


def test_deletes_old_conversations_and_handoffs_and_keeps_the_rest(seeded, caplog: pytest.LogCaptureFixture) -> None:
    dbs, events, records = seeded
    caplog.set_level(logging.DEBUG)
    result = retention.run(30, dbs.environ())
    assert result.errors == ()
    deleted = ("visitor-old", "visitor-31-days")
    assert result.conversations == retention.ConversationCounts(2, sum(events[s] for s in deleted))
    assert result.handoffs == retention.HandoffCounts(handoffs=3, open_handoffs=1, outbox_rows=3)

    kept = {s: n for s, n in events.items() if s not in deleted}
    assert stored_conversations(dbs.tracker_url) == kept  # whole: the resumed conversation keeps its 60-day-old events
    assert events["visitor-resumed"] == 12
    ids, outbox_ids = remaining_handoffs(dbs.handoff_url)
    assert ids == outbox_ids == {records.recent, records.recent_29_days}
    assert HandoffStore(dbs.handoff_url).get(records.recent).name == NAME  # kept records are untouched
    assert OptOutStore(dbs.handoff_url).is_opted_out("sms", "+14035550123")
    if dbs.kind == "sqlite":  # secure_delete (the command turns it on; Debian builds have it on): no leftovers in free pages
        for url in (dbs.tracker_url, dbs.handoff_url):
            content = Path(make_url(url).database).read_bytes()
            assert b"visitor-old" not in content and b"visitor-31-days" not in content and b"visitor-new" in content

    warnings = [r for r in caplog.records if r.name == "bot.persistence.retention" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1 handoff(s)" in warnings[0].getMessage() and "still open" in warnings[0].getMessage()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert NAME not in ours and "403" not in ours and "visitor-" not in ours and "pregnan" not in ours

    again = retention.run(30, dbs.environ())  # idempotent
    assert again.conversations == retention.ConversationCounts(0, 0) and again.handoffs == retention.HandoffCounts(0, 0, 0)


def test_dry_run_counts_and_deletes_nothing(seeded) -> None:
    dbs, events, records = seeded
    result = retention.run(30, dbs.environ(), dry_run=True)
    assert result.conversations == retention.ConversationCounts(2, events["visitor-old"] + events["visitor-31-days"])
    assert result.handoffs == retention.HandoffCounts(3, 1, 3)
    assert stored_conversations(dbs.tracker_url) == events
    ids, outbox_ids = remaining_handoffs(dbs.handoff_url)
    assert ids == outbox_ids == set(vars(records).values())


def test_cutoff_follows_the_number_of_days(seeded) -> None:
    dbs, events, _ = seeded
    assert retention.run(50, dbs.environ()).conversations == retention.ConversationCounts(0, 0)
    assert retention.run(35, dbs.environ()).conversations == retention.ConversationCounts(1, events["visitor-old"])
    result = retention.run(1, dbs.environ())
    assert result.conversations == retention.ConversationCounts(2, events["visitor-29-days"] + events["visitor-31-days"])
    assert set(stored_conversations(dbs.tracker_url)) == {"visitor-new", "visitor-resumed"}


def test_missing_databases_and_tables_mean_nothing_to_delete(tmp_path: Path) -> None:
    missing = {
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'none' / 'trackers.db'}",
        "HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'none' / 'handoffs.db'}",
    }
    result = retention.run(30, missing)
    assert (result.conversations, result.handoffs, result.errors) == (retention.ConversationCounts(), retention.HandoffCounts(), ())
    assert not (tmp_path / "none").exists()  # nothing was created
    # Files that exist but hold other tables (the opt-outs only): also nothing to delete.
    other = f"sqlite:///{tmp_path / 'other.db'}"
    OptOutStore(other).opt_out("sms", "+14035550123")
    result = retention.run(30, {"TRACKER_DATABASE_URL": other, "HANDOFF_DATABASE_URL": other})
    assert (result.conversations, result.handoffs, result.errors) == (retention.ConversationCounts(), retention.HandoffCounts(), ())
    assert OptOutStore(other).is_opted_out("sms", "+14035550123")


def test_relative_sqlite_paths_are_under_the_project_root() -> None:
    parsed = retention._parse_url("sqlite:///var/trackers.db", "tracker")
    assert parsed.database == str(PROJECT_ROOT / "var" / "trackers.db")


# -- the database URL -------------------------------------------------------------------


def tracker_database_url(environ: dict[str, str]) -> str:
    return load_settings(environ).stores.tracker_database_url()


def test_tracker_database_url() -> None:
    assert tracker_database_url({}) == f"sqlite:///{PROJECT_ROOT / 'var' / 'trackers.db'}"  # endpoints.yml
    assert tracker_database_url({"STORES": "embedded"}) == tracker_database_url({})
    url = make_url(tracker_database_url({"STORES": "production"}))
    defaults = PRODUCTION_DEFAULTS
    assert (url.get_backend_name(), url.username, url.password, url.host, url.port, url.database) == (
        "postgresql",
        "assistant",
        None,
        defaults["POSTGRES_HOST"],
        5432,
        "assistant",
    )
    env = {
        "STORES": "Production",
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": "6543",
        "POSTGRES_DB": "bot",
        "POSTGRES_USER": "rasa",
        "POSTGRES_PASSWORD": "p@ss:w/rd %",
    }
    url = make_url(tracker_database_url(env))
    assert (url.username, url.password, url.host, url.port, url.database) == ("rasa", "p@ss:w/rd %", "db.internal", 6543, "bot")
    explicit = "postgresql+psycopg2://u@elsewhere/x"
    assert tracker_database_url({**env, "TRACKER_DATABASE_URL": explicit}) == explicit
    with pytest.raises(ValueError):
        tracker_database_url({"STORES": "production", "POSTGRES_PORT": "five"})


def test_retention_days() -> None:
    assert retention.retention_days(None) == 30
    assert retention.retention_days(" 7 ") == 7
    for bad in ("0", "-3", "1.5", "a week"):
        with pytest.raises(ValueError):
            retention.retention_days(bad)


# -- the command line -------------------------------------------------------------------


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.persistence.retention", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def counts(stdout: str) -> dict[str, str]:
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in stdout.splitlines() if ":" in line}


def test_cli_default_30_days_env_override_and_flag(seeded) -> None:
    dbs, events, _ = seeded
    old, d31 = events["visitor-old"], events["visitor-31-days"]

    dry = cli(dbs.environ(), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    out = counts(dry.stdout)
    assert out["conversations would be deleted"] == f"2 ({old + d31} events)"
    assert out["handoffs would be deleted"] == "3 (1 still open, 3 outbox rows)"
    assert "dry run, nothing deleted" in dry.stdout and out["retention"].startswith("30 days")
    assert len(stored_conversations(dbs.tracker_url)) == 5

    env_days = cli(dbs.environ(RETENTION_DAYS="35"))  # env override: only the 40-day-old conversation
    assert env_days.returncode == 0, env_days.stderr
    assert counts(env_days.stdout)["conversations deleted"] == f"1 ({old} events)"
    assert counts(env_days.stdout)["handoffs deleted"] == "2 (1 still open, 2 outbox rows)"

    flag = cli(dbs.environ(RETENTION_DAYS="35"), "--days", "30")  # --days wins over the environment
    assert flag.returncode == 0, flag.stderr
    assert counts(flag.stdout)["conversations deleted"] == f"1 ({d31} events)"
    assert counts(flag.stdout)["handoffs deleted"] == "1 (0 still open, 1 outbox rows)"
    assert counts(flag.stdout)["sms opt-outs"] == "kept (never deleted)"

    default = cli(dbs.environ())  # default 30 days: nothing left to delete
    assert counts(default.stdout)["conversations deleted"] == "0 (0 events)"
    assert set(stored_conversations(dbs.tracker_url)) == {"visitor-new", "visitor-resumed", "visitor-29-days"}
    assert OptOutStore(dbs.handoff_url).is_opted_out("sms", "+14035550123")

    for run in (dry, env_days, flag, default):  # counts only: no names, contacts, text or conversation ids
        output = run.stdout + run.stderr
        assert NAME not in output and "pregnant" not in output and "visitor-" not in output
        assert "5550123" not in output and "555-0123" not in output
    assert "WARNING" in env_days.stderr and "still open" in env_days.stderr


def test_cli_production_settings_reach_the_production_database() -> None:
    """STORES=production with POSTGRES_*: the same PostgreSQL database the assistant uses, for both kinds of records."""
    url = make_url(postgres.fresh_database())
    seed_conversations(url.render_as_string(hide_password=False))
    seed_handoffs(url.render_as_string(hide_password=False))
    env = {k: v for k, v in os.environ.items() if k not in STORE_VARS}
    env.update(
        STORES="production", POSTGRES_HOST=url.host, POSTGRES_PORT=str(url.port), POSTGRES_DB=url.database, POSTGRES_USER=url.username
    )
    result = cli(env)
    assert result.returncode == 0, result.stderr
    assert counts(result.stdout)["conversations deleted"].startswith("2 (")
    assert counts(result.stdout)["handoffs deleted"] == "3 (1 still open, 3 outbox rows)"


def test_cli_unreachable_database_fails_clearly_and_still_processes_the_other(tmp_path: Path) -> None:
    handoff_url = f"sqlite:///{tmp_path / 'handoffs.db'}"
    seed_handoffs(handoff_url)
    env = Databases("", f"postgresql+psycopg2://assistant:s3cret-pw@127.0.0.1:{postgres._free_port()}/assistant", handoff_url).environ()
    result = cli(env)
    assert result.returncode == 3
    assert "error: tracker database postgresql+psycopg2://assistant:***@127.0.0.1" in result.stderr
    assert "could not be read or written" in result.stderr and "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "conversations" not in result.stdout  # no counts for the database that failed
    assert counts(result.stdout)["handoffs deleted"] == "3 (1 still open, 3 outbox rows)"


@pytest.mark.parametrize(("args", "env"), [(["--days", "0"], {}), (["--days", "x"], {}), ([], {"RETENTION_DAYS": "thirty"})])
def test_cli_refuses_invalid_days(tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    dbs = Databases("sqlite", f"sqlite:///{tmp_path / 't.db'}", f"sqlite:///{tmp_path / 'h.db'}")
    result = cli(dbs.environ(**env), *args)
    assert result.returncode == 2 and "retention days must be" in result.stderr


def test_cli_help_explains_the_obligation_and_the_opt_outs() -> None:
    result = cli(dict(os.environ), "--help")
    assert result.returncode == 0
    assert "legal obligation" in result.stdout and "opt-outs" in result.stdout and "NOT deleted" in result.stdout
    assert "RETENTION_DAYS" in result.stdout and "30" in result.stdout


def test_counts_helper_matches_the_report() -> None:
    result = retention.RetentionResult(
        datetime(2026, 1, 1, tzinfo=UTC), False, retention.ConversationCounts(2, 9), retention.HandoffCounts(1, 1, 0)
    )
    out = counts(retention.report(result, 30))
    assert out["conversations deleted"] == "2 (9 events)" and out["handoffs deleted"] == "1 (1 still open, 0 outbox rows)"


def test_events_table_is_rasas(dbs: Databases) -> None:
    """The columns the command relies on are Rasa's (so a Rasa upgrade that renames them fails here)."""
    seed_conversations(dbs.tracker_url)
    engine = create_engine(dbs.tracker_url, future=True)
    with engine.connect() as conn:
        oldest, newest = conn.execute(select(func.min(retention.events.c.timestamp), func.max(retention.events.c.timestamp))).one()
    engine.dispose()
    assert NOW - 61 * DAY < oldest < newest <= NOW


def test_writers_are_held_off_while_deleting(dbs: Databases) -> None:
    """While conversations are chosen and deleted, the assistant cannot add an event (it waits), but can read."""
    seed_conversations(dbs.tracker_url)
    engine = retention._tracker_engine(retention._parse_url(dbs.tracker_url, "tracker"), immediate=True)
    other = create_engine(dbs.tracker_url, future=True, connect_args={"timeout": 0.2} if dbs.kind == "sqlite" else {})
    insert_event = text("INSERT INTO events (sender_id, type_name, timestamp) VALUES ('visitor-old', 'user', :t)")
    try:
        with engine.begin() as conn:
            retention._hold_off_writers(conn)
            with other.connect() as reader:
                assert reader.execute(text("SELECT count(*) FROM events")).scalar_one() > 0
            with pytest.raises(OperationalError), other.begin() as writer:
                if dbs.kind == "postgresql":
                    writer.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                writer.execute(insert_event, {"t": NOW})
        with other.begin() as writer:  # released at commit
            writer.execute(insert_event, {"t": NOW})
    finally:
        engine.dispose()
        other.dispose()


def test_invalid_production_settings_are_reported_not_raised() -> None:
    result = retention.run(30, {"STORES": "production", "POSTGRES_PORT": "five"})
    assert (result.conversations, result.handoffs) == (None, None)
    assert len(result.errors) == 2 and all("POSTGRES_PORT" in error for error in result.errors)


def test_postgresql_schema_as_rasa_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Rasa's POSTGRESQL_SCHEMA, the events table is in that schema; the command looks there too."""
    url = postgres.fresh_database()
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA conversations")
    engine.dispose()
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "conversations")
    events = seed_conversations(url)
    monkeypatch.delenv("POSTGRESQL_SCHEMA")
    env = {"TRACKER_DATABASE_URL": url, "HANDOFF_DATABASE_URL": url}
    assert retention.run(30, env).conversations == retention.ConversationCounts()  # not in the default schema
    result = retention.run(30, {**env, "POSTGRESQL_SCHEMA": "conversations"})
    assert result.conversations == retention.ConversationCounts(2, events["visitor-old"] + events["visitor-31-days"])
