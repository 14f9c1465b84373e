"""The audit log's hash chain on SQLite and PostgreSQL: an edited, re-hashed or deleted entry is reported, retention
leaves a chain that verifies, several writers at once keep one chain, and a log from before the chain is upgraded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, update
from sqlalchemy.engine import Engine

from bot import PROJECT_ROOT
from bot.console import audit, audit_chain
from bot.console.audit import Actor, AuditLog, audit_log
from bot.persistence import retention
from tests.support import postgres

ALICE = Actor("alice", 1, "10.0.0.5")
STORE_VARS = ("STORES", "TRACKER_DATABASE_URL", "HANDOFF_DATABASE_URL", "RETENTION_DAYS", "AUDIT_RETENTION_DAYS")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'handoffs.db'}" if request.param == "sqlite" else postgres.fresh_database()


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = create_engine(url, future=True)
    yield made
    made.dispose()


def fill(log: AuditLog, engine: Engine) -> list[int]:
    """Six entries written the ways the console and the command line write them; their ids."""
    log.append(audit.LOGIN, ALICE, detail="password")
    log.append_many(audit.INBOX_VIEW, ALICE, ["r-1", "r-2", "r-3"], detail="status=open")
    with engine.begin() as conn:  # inside the transaction of the change it records
        log.append(audit.STATUS_CHANGE, ALICE, "r-2", "new -> contacted", conn=conn)
    log.append(audit.LOGIN_FAILED, Actor("mallory", None, "10.0.0.9"), detail="unknown name, ünïcode")
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.id).order_by(audit_log.c.id)).scalars())


def tamper(engine: Engine, statement) -> None:  # type: ignore[no-untyped-def]
    """Change the table as someone with the database's own access could: the append-only trigger switched off."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only")
        conn.execute(statement)


def cli_verify(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in STORE_VARS and not k.startswith("POSTGRES_")} | {"HANDOFF_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "bot.console.cli", "audit", "verify", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_untouched_log_verifies_and_prints_its_head(url: str, engine: Engine) -> None:
    log = AuditLog(engine)
    ids = fill(log, engine)
    result = log.verify()
    assert result.ok and result.entries == 6 and (result.first_id, result.last_id) == (ids[0], ids[-1])
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.prev_hash, audit_log.c.hash).order_by(audit_log.c.id)).all()
    assert rows[0].prev_hash == audit_chain.GENESIS and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert result.head == rows[-1].hash
    done = cli_verify(url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"head hash {result.head}" in done.stdout
        and "chain intact" in done.stdout
        and f"starts at its first entry #{ids[0]}" in done.stdout
    )
    assert cli_verify(url, "--expect", result.head).returncode == 0
    missing = cli_verify(url, "--expect", "ab" * 32)
    assert missing.returncode == 1 and "no entry has the hash" in missing.stdout
    assert cli_verify(url, "--expect", "not-a-hash").returncode == 2


def test_an_edited_entry_is_reported(url: str, engine: Engine) -> None:
    log = AuditLog(engine)
    ids = fill(log, engine)
    tamper(engine, update(audit_log).where(audit_log.c.id == ids[2]).values(staff="bob"))
    result = log.verify()
    assert not result.ok and result.broken_id == ids[2] and "does not match its hash" in (result.problem or "")
    done = cli_verify(url)
    assert done.returncode == 1 and f"BROKEN: entry #{ids[2]} does not match its hash" in done.stdout


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(engine: Engine) -> None:
    log = AuditLog(engine)
    ids = fill(log, engine)
    with engine.connect() as conn:
        row = dict(conn.execute(select(audit_log).where(audit_log.c.id == ids[1])).mappings().one())
    forged = row | {"record_id": "r-9"}
    tamper(
        engine, update(audit_log).where(audit_log.c.id == ids[1]).values(record_id="r-9", hash=audit_chain.link(row["prev_hash"], forged))
    )
    result = log.verify()
    assert result.broken_id == ids[2] and f"does not follow entry #{ids[1]}" in (result.problem or "")


def test_a_deleted_middle_entry_is_reported(url: str, engine: Engine) -> None:
    log = AuditLog(engine)
    ids = fill(log, engine)
    with engine.begin() as conn:  # DELETE is allowed (retention needs it): the chain is what shows it
        conn.execute(delete(audit_log).where(audit_log.c.id == ids[3]))
    result = log.verify()
    assert not result.ok and result.broken_id == ids[4] and f"does not follow entry #{ids[2]}" in (result.problem or "")
    done = cli_verify(url)
    assert done.returncode == 1 and "an entry between them was deleted" in done.stdout


def test_oldest_entries_deleted_outside_retention_are_reported(engine: Engine) -> None:
    log = AuditLog(engine)
    ids = fill(log, engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id <= ids[1]))
    result = log.verify()
    assert result.broken_id == ids[2] and "no retention run recorded deleting them" in (result.problem or "")


def test_retention_leaves_a_chain_that_verifies(url: str, engine: Engine, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    log = AuditLog(engine)
    for days in (3000, 2500, 2200, 400, 3):
        log.append(audit.RECORD_VIEW, ALICE, f"r-{days}", at=now - timedelta(days=days))
    head = log.verify().head
    env = {k: v for k, v in os.environ.items() if k not in STORE_VARS and not k.startswith("POSTGRES_")}
    env |= {"HANDOFF_DATABASE_URL": url, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'no-trackers.db'}"}
    assert retention.run(30, env, now=now).audit_entries == 3
    result = log.verify(expect=head)
    assert result.ok and result.expected_found, result.problem
    assert "older entries were deleted by retention" in result.start
    assert [e.record_id for e in reversed(log.find(action=audit.RECORD_VIEW))] == ["r-400", "r-3"]
    assert retention.run(30, env, now=now).audit_entries == 0  # nothing more to delete: nothing appended
    assert retention.run(30, env | {"AUDIT_RETENTION_DAYS": "100"}, now=now).audit_entries == 1
    again = log.verify(expect=head)
    assert again.ok and again.entries == 3, again.problem  # r-3, and the two retention entries
    assert cli_verify(url, "--expect", head).returncode == 0


def test_writers_at_the_same_time_keep_one_chain(url: str, engine: Engine) -> None:
    engines = [create_engine(url, future=True) for _ in range(4)]
    logs = [AuditLog(e) for e in engines]
    logs[0].append(audit.LOGIN, ALICE)  # the table exists before the race (creation has its own test)
    start = threading.Barrier(len(logs))
    failed: list[str] = []

    def write(log: AuditLog, n: int) -> None:
        start.wait()
        try:
            for i in range(15):
                if i % 3 == 0:
                    log.append_many(audit.INBOX_VIEW, Actor(f"w{n}", n), [f"r-{n}-{i}-a", f"r-{n}-{i}-b"])
                else:
                    log.append(audit.RECORD_VIEW, Actor(f"w{n}", n), f"r-{n}-{i}")
        except Exception as exc:  # reported below
            failed.append(f"{type(exc).__name__}: {str(exc)[:160]}")

    threads = [threading.Thread(target=write, args=(log, n)) for n, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failed == []
    result = logs[0].verify()
    assert result.ok and result.entries == 1 + 4 * (5 * 2 + 10), result.problem
    for made in engines:
        made.dispose()


def test_a_log_from_before_the_chain_is_upgraded_and_its_old_entries_counted(url: str, engine: Engine) -> None:
    with engine.begin() as conn:  # the table as the console created it before the chain
        conn.exec_driver_sql(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, staff_id INTEGER, staff VARCHAR(64), "
            "action VARCHAR(32) NOT NULL, record_id VARCHAR(36), client VARCHAR(64), detail VARCHAR(500))"
            if conn.dialect.name == "sqlite"
            else "CREATE TABLE audit_log (id BIGSERIAL PRIMARY KEY, at TIMESTAMP WITH TIME ZONE NOT NULL, staff_id INTEGER, "
            "staff VARCHAR(64), action VARCHAR(32) NOT NULL, record_id VARCHAR(36), client VARCHAR(64), detail VARCHAR(500))"
        )
        conn.execute(
            audit_log.insert(),
            [{"at": datetime(2024, 1, d, tzinfo=UTC), "staff": "alice", "action": audit.LOGIN} for d in (1, 2)],
        )
    log = AuditLog(engine)
    log.append(audit.LOGIN, ALICE)
    log.append(audit.LOGOUT, ALICE)
    result = log.verify()
    assert result.ok and (result.entries, result.unchained) == (4, 2), result.problem
    assert "2 earlier entries from before the chain are not verified" in result.start
    assert [e.action for e in log.find()] == [audit.LOGOUT, audit.LOGIN, audit.LOGIN, audit.LOGIN]
