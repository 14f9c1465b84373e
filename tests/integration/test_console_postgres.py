"""The staff console's tables on a real PostgreSQL (production): accounts and lockout, sessions, the append-only audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, delete, update
from sqlalchemy.exc import DatabaseError

from bot.console import audit
from bot.console.accounts import AccountExists, AccountStore, Lockout
from bot.console.audit import Actor, AuditLog, audit_log
from bot.console.sessions import SessionStore
from bot.handoff.store import HandoffStore
from tests.support import postgres

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def url() -> str:
    return postgres.fresh_database()


def test_accounts_lockout_and_sessions(url: str) -> None:
    engine = HandoffStore(url).engine  # the console's engine: the handoff database's
    accounts = AccountStore(engine, Lockout(attempts=2, minutes=10))
    account = accounts.create("alice", ["clinician", "admin"], "a long passphrase")
    with pytest.raises(AccountExists):
        accounts.create("Alice", ["admin"], "a long passphrase")
    assert [accounts.check_password("alice", "wrong password!", NOW).locked_now for _ in range(2)] == [False, True]
    assert accounts.check_password("alice", "a long passphrase", NOW + timedelta(minutes=5)).reason == "locked"
    assert accounts.check_password("alice", "a long passphrase", NOW + timedelta(minutes=11)).ok
    sessions = SessionStore(engine)
    token, session = sessions.create(account.id, now=NOW)
    assert sessions.get(token, NOW + timedelta(minutes=1)) == session
    assert sessions.end_all(account.id) == 1 and sessions.get(token, NOW) is None


def test_the_audit_log_refuses_updates_but_retention_may_delete(url: str) -> None:
    engine = create_engine(url, future=True)
    first, second = AuditLog(engine), AuditLog(create_engine(url, future=True))  # two processes starting together
    first.append(audit.LOGIN, Actor("alice", 1, "10.0.0.5"))
    second.append(audit.RECORD_VIEW, Actor("alice", 1, "10.0.0.5"), record_id="r-1")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(update(audit_log).values(staff="mallory"))
    assert {e.staff for e in first.find()} == {"alice"}
    with engine.begin() as conn:
        assert conn.execute(delete(audit_log).where(audit_log.c.action == audit.LOGIN)).rowcount == 1
    assert [e.action for e in first.find()] == [audit.RECORD_VIEW]
