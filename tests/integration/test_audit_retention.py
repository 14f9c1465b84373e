"""The retention command keeps the staff console's audit log longer than conversations and handoffs (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from bot import PROJECT_ROOT
from bot.console import audit
from bot.console.audit import Actor, AuditLog, audit_log
from bot.handoff.store import HandoffStore, handoffs
from bot.persistence import retention
from tests.support import postgres

NOW = datetime.now(UTC)
STORE_VARS = ("STORES", "TRACKER_DATABASE_URL", "HANDOFF_DATABASE_URL", "RETENTION_DAYS", "AUDIT_RETENTION_DAYS")


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'handoffs.db'}" if request.param == "sqlite" else postgres.fresh_database()
    environ = {k: v for k, v in os.environ.items() if k not in STORE_VARS and not k.startswith("POSTGRES_")}
    return environ | {"HANDOFF_DATABASE_URL": url, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'no-trackers.db'}"}


def seed(url: str) -> None:
    """Handoffs and audit entries 7 years, 3 years, 40 days and 10 days old (a log is written oldest first)."""
    store = HandoffStore(url)
    log = AuditLog(store.engine)
    for days in (2555, 1095, 40, 10):
        record = store.create(f"conv-{days}", "urgent", ["chest_pain"])
        with store.engine.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == record.id).values(created_at=NOW - timedelta(days=days)))
        log.append(audit.RECORD_VIEW, Actor("alice", 1, "127.0.0.1"), record.id, at=NOW - timedelta(days=days))
    store.engine.dispose()


def ages(url: str) -> tuple[list[int], list[int]]:
    """How old (days) the remaining handoffs and audit entries are (not counting the entries retention adds)."""
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        records = [(NOW - at).days for at in conn.execute(select(handoffs.c.created_at)).scalars()]
        kept = select(audit_log.c.at).where(audit_log.c.action != audit.AUDIT_RETENTION)
        entries = [(NOW - at).days for at in conn.execute(kept).scalars()]
    engine.dispose()
    return sorted(records), sorted(entries)


def test_the_audit_log_outlives_the_records_it_describes(env: dict[str, str]) -> None:
    seed(env["HANDOFF_DATABASE_URL"])
    dry = retention.run(30, env, dry_run=True, now=NOW)
    assert dry.handoffs.handoffs == 3 and dry.audit_entries == 1 and dry.audit_days == 2190
    assert ages(env["HANDOFF_DATABASE_URL"]) == ([10, 40, 1095, 2555], [10, 40, 1095, 2555])  # a dry run deletes nothing

    result = retention.run(30, env, now=NOW)
    assert not result.errors and result.audit_entries == 1
    assert ages(env["HANDOFF_DATABASE_URL"]) == ([10], [10, 40, 1095])  # records after 30 days, audit entries after 6 years
    assert "audit log entries deleted: 1 (kept 2190 days)" in retention.report(result, 30)

    shorter = retention.run(30, env | {"AUDIT_RETENTION_DAYS": "365"}, now=NOW)
    assert shorter.audit_entries == 1 and ages(env["HANDOFF_DATABASE_URL"]) == ([10], [10, 40])
    engine = create_engine(env["HANDOFF_DATABASE_URL"], future=True)
    deletions = AuditLog(engine).find(action=audit.AUDIT_RETENTION)
    assert [e.detail.split(";")[0] for e in deletions if e.detail] == [
        "1 entries made before " + f"{NOW - timedelta(days=d):%Y-%m-%d %H:%M:%S}Z deleted" for d in (365, 2190)
    ]
    assert AuditLog(engine).verify().ok  # the chain still verifies from the oldest entry kept
    engine.dispose()


def test_the_command_honours_the_setting_and_refuses_a_shorter_audit_period(env: dict[str, str]) -> None:
    seed(env["HANDOFF_DATABASE_URL"])

    def command(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.persistence.retention", *args],
            cwd=PROJECT_ROOT,
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = command("--days", "30", "--audit-days", "7")
    assert refused.returncode == 2 and "at least as long as the records" in refused.stderr
    assert command("--days", "30", AUDIT_RETENTION_DAYS="10").returncode == 2
    assert ages(env["HANDOFF_DATABASE_URL"])[1] == [10, 40, 1095, 2555]  # nothing was deleted

    done = command("--days", "30", AUDIT_RETENTION_DAYS="1000")
    assert done.returncode == 0, done.stderr
    assert "audit log entries deleted: 2 (kept 1000 days)" in done.stdout
    assert ages(env["HANDOFF_DATABASE_URL"]) == ([10], [10, 40])
