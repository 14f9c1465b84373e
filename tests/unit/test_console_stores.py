"""Staff accounts, sessions and the audit log on a SQLite file: lockout, sessions ending, append-only audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError

from bot.console import audit
from bot.console.accounts import AccountExists, AccountStore, Lockout
from bot.console.audit import Actor, AuditLog, audit_log
from bot.console.roles import Role
from bot.console.sessions import TOTP, SessionStore

PASSWORD = "a long enough passphrase"
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'handoffs.db'}", future=True)


@pytest.fixture
def accounts(engine: Engine) -> AccountStore:
    return AccountStore(engine, Lockout(attempts=3, minutes=15))


def test_an_account_is_created_with_a_hashed_password(accounts: AccountStore, engine: Engine) -> None:
    account = accounts.create("Alice", ["clinician"], PASSWORD)
    assert (account.username, account.roles, account.disabled, account.totp_enabled) == ("alice", {Role.CLINICIAN}, False, False)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM staff_accounts").scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(AccountExists):
        accounts.create("ALICE", ["admin"], PASSWORD)
    with pytest.raises(ValueError):
        accounts.create("bob", ["admin"], "short")
    assert accounts.check_password("alice", PASSWORD, NOW).ok
    assert accounts.check_password("Alice ", PASSWORD, NOW).ok  # names are case-insensitive


def test_repeated_failures_lock_the_account_and_unlock_restores_it(accounts: AccountStore) -> None:
    accounts.create("alice", ["front_desk"], PASSWORD)
    results = [accounts.check_password("alice", "wrong password!", NOW) for _ in range(3)]
    assert [r.reason for r in results] == ["wrong_password"] * 3
    assert [r.locked_now for r in results] == [False, False, True]
    locked = accounts.check_password("alice", PASSWORD, NOW + timedelta(minutes=1))  # even the right password
    assert (locked.ok, locked.reason) == (False, "locked")
    assert accounts.check_password("alice", PASSWORD, NOW + timedelta(minutes=16)).ok  # the lock expires
    for _ in range(3):
        accounts.check_password("alice", "wrong password!", NOW)
    assert accounts.check_password("alice", PASSWORD, NOW).reason == "locked"
    accounts.unlock("alice")
    assert accounts.check_password("alice", PASSWORD, NOW).ok


def test_a_success_resets_the_count_and_unknown_or_disabled_accounts_fail(accounts: AccountStore) -> None:
    accounts.create("alice", ["front_desk"], PASSWORD)
    accounts.check_password("alice", "wrong password!", NOW)
    accounts.check_password("alice", "wrong password!", NOW)
    accounts.record_success(accounts.get("alice").id, NOW)
    assert accounts.check_password("alice", "wrong password!", NOW).locked_now is False  # counting starts again
    assert accounts.check_password("nobody", PASSWORD, NOW).reason == "unknown"
    accounts.set_disabled("alice", True)
    assert accounts.check_password("alice", PASSWORD, NOW).reason == "disabled"


def test_totp_second_factor(accounts: AccountStore) -> None:
    account = accounts.create("alice", ["clinician"], PASSWORD)
    secret = pyotp.random_base32()
    assert accounts.set_totp("alice", secret).totp_enabled
    code = pyotp.TOTP(secret).at(NOW)
    assert not accounts.check_totp(account.id, "000000" if code != "000000" else "111111", NOW)
    assert accounts.check_totp(account.id, code, NOW)
    assert not accounts.check_totp(account.id, code, NOW)  # not twice
    assert accounts.get("alice").failed_logins == 2  # wrong and replayed codes count towards the lockout


def test_sessions_end_when_idle_too_old_or_signed_out(engine: Engine) -> None:
    sessions = SessionStore(engine, idle=timedelta(minutes=30), max_age=timedelta(hours=12))
    token, session = sessions.create(7, now=NOW)
    assert sessions.get(token, NOW + timedelta(minutes=29)) == session
    assert sessions.get(token + "x", NOW) is None
    assert sessions.get(token, NOW + timedelta(minutes=58)) is not None  # the earlier request kept it alive
    assert sessions.get(token, NOW + timedelta(hours=2)) is None  # idle for over 30 minutes: gone
    assert sessions.get(token, NOW + timedelta(minutes=30)) is None  # and deleted

    token, _ = sessions.create(7, now=NOW)
    late = NOW
    for _ in range(26):  # active all day, yet ended after 12 hours
        late += timedelta(minutes=29)
        alive = sessions.get(token, late)
    assert alive is None

    pending, _ = sessions.create(7, stage=TOTP, now=NOW)
    assert sessions.get(pending, NOW + timedelta(minutes=6)) is None  # five minutes to type the code
    first, _ = sessions.create(7, stage=TOTP, now=NOW)
    second, _ = sessions.create(7, now=NOW)
    assert sessions.get(first, NOW).stage == TOTP
    assert sessions.end_all(7) == 2 and sessions.get(second, NOW) is None


def test_the_audit_log_is_append_only(engine: Engine) -> None:
    log = AuditLog(engine)
    log.append(audit.LOGIN, Actor("alice", 1, "127.0.0.1"))
    log.append(audit.RECORD_VIEW, Actor("alice", 1, "127.0.0.1"), record_id="r-1")
    entries = log.find()
    assert [e.action for e in entries] == [audit.RECORD_VIEW, audit.LOGIN]  # newest first
    assert (entries[0].staff, entries[0].staff_id, entries[0].client, entries[0].record_id) == ("alice", 1, "127.0.0.1", "r-1")
    assert not hasattr(log, "update") and not hasattr(log, "delete")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(update(audit_log).values(staff="mallory"))
    assert {e.staff for e in log.find()} == {"alice"}


def test_the_audit_log_filters(engine: Engine) -> None:
    log = AuditLog(engine)
    for i in range(5):
        log.append(audit.STATUS_CHANGE if i % 2 else audit.RECORD_VIEW, Actor(f"user{i % 2}", i), record_id=f"r-{i % 2}", at=NOW)
    assert len(log.find(staff="USER1")) == 2
    assert {e.record_id for e in log.find(action=audit.RECORD_VIEW)} == {"r-0"}
    page = log.find(limit=2)
    older = log.find(limit=2, before_id=page[-1].id)
    assert len(page) == 2 and len(older) == 2 and older[0].id < page[-1].id
    assert log.find(since=NOW + timedelta(seconds=1)) == []
    assert [e.action for e in log.history("r-1")] == [audit.STATUS_CHANGE, audit.STATUS_CHANGE]
