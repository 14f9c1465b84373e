"""Staff accounts: name, roles, argon2 password hash, optional TOTP secret, lockout state.

Accounts are created from the command line (``python -m bot.console.cli staff add``) or by an
admin in the console. A run of failed sign-ins locks an account for a while (``lockout``); an
admin can unlock it. Disabling an account (never deleting it) keeps the audit log's references
meaningful.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.console import auth
from bot.console.roles import Permission, Role, parse_roles, permissions, serialise
from bot.console.storage import Tables, utcnow
from bot.handoff.store import UTCDateTime

metadata = MetaData()
staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("roles", String(100), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("totp_secret", String(64)),
    Column("totp_last_step", BigInteger),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
)


class AccountExists(ValueError):
    """A staff account with that name exists already."""


class AccountNotFound(LookupError):
    """No staff account with that name."""


@dataclass(frozen=True)
class Lockout:
    """After ``attempts`` failed sign-ins in a row, an account is locked for ``minutes``."""

    attempts: int = 5
    minutes: int = 15


@dataclass(frozen=True)
class Account:
    """A staff account without its secrets (the hash and TOTP secret never leave this module but to be checked)."""

    id: int
    username: str
    roles: frozenset[Role]
    disabled: bool
    totp_enabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of a sign-in with a name and password. ``account`` is None when the name is unknown."""

    account: Account | None
    ok: bool  # the password matched and the account may sign in (it may still need its TOTP code)
    reason: str  # "ok", "unknown", "wrong_password", "locked", "disabled"
    locked_now: bool = False  # this failure locked the account


class AccountStore:
    def __init__(self, engine: Engine, lockout: Lockout = Lockout()) -> None:
        self.engine = engine
        self.lockout = lockout
        self.tables = Tables(engine, metadata)

    def create(self, username: str, roles: Iterable[Role | str], password: str) -> Account:
        name = auth.check_username(username)
        parsed = parse_roles(str(r) for r in roles)
        auth.check_password(password, name)
        now = utcnow()
        self.tables.ensure()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(staff_accounts).values(
                        username=name,
                        roles=serialise(parsed),
                        password_hash=auth.hash_password(password),
                        failed_logins=0,
                        disabled=False,
                        created_at=now,
                        password_changed_at=now,
                    )
                )
        except IntegrityError:
            raise AccountExists(f"a staff account named {name!r} exists already") from None
        return self.get(name)

    def get(self, username: str) -> Account:
        account = self.find(username)
        if account is None:
            raise AccountNotFound(f"no staff account named {auth.normalise_username(username)!r}")
        return account

    def find(self, username: str) -> Account | None:
        row = self._row(staff_accounts.c.username == auth.normalise_username(username))
        return _account(row) if row else None

    def by_id(self, account_id: int) -> Account | None:
        row = self._row(staff_accounts.c.id == account_id)
        return _account(row) if row else None

    def all(self) -> list[Account]:
        self.tables.ensure()
        with self.engine.connect() as conn:
            return [_account(row) for row in conn.execute(select(staff_accounts).order_by(staff_accounts.c.username)).mappings()]

    def count_admins(self) -> int:
        return sum(1 for a in self.all() if Role.ADMIN in a.roles and not a.disabled)

    # -- signing in ------------------------------------------------------------------------

    def check_password(self, username: str, password: str, now: datetime | None = None) -> PasswordCheck:
        """Verify a sign-in; a failure counts towards the lockout, a success resets the count.

        The password is verified (or a dummy, for an unknown name) whatever the outcome, so the time taken
        does not tell a wrong name from a wrong password or a locked account.
        """
        now = now or utcnow()
        name = auth.normalise_username(username)
        row = self._row(staff_accounts.c.username == name) if name else None
        matches = auth.verify_password(row["password_hash"] if row else None, password)
        if row is None:
            return PasswordCheck(None, False, "unknown")
        account = _account(row)
        if account.disabled:
            return PasswordCheck(account, False, "disabled")
        if account.locked(now):
            return PasswordCheck(account, False, "locked")
        if not matches:
            locked_now = self.record_failure(account.id, now)
            return PasswordCheck(self.by_id(account.id), False, "wrong_password", locked_now)
        if auth.needs_rehash(row["password_hash"]):
            self._update(account.id, password_hash=auth.hash_password(password))
        return PasswordCheck(account, True, "ok")

    def record_failure(self, account_id: int, now: datetime | None = None) -> bool:
        """Count a failed sign-in (wrong password or TOTP code); True when it locked the account."""
        now = now or utcnow()
        self.tables.ensure()
        with self.engine.begin() as conn:
            conn.execute(
                update(staff_accounts).where(staff_accounts.c.id == account_id).values(failed_logins=staff_accounts.c.failed_logins + 1)
            )
            failed = conn.execute(select(staff_accounts.c.failed_logins).where(staff_accounts.c.id == account_id)).scalar_one()
            if failed < self.lockout.attempts:
                return False
            conn.execute(
                update(staff_accounts)
                .where(staff_accounts.c.id == account_id)
                .values(failed_logins=0, locked_until=now + timedelta(minutes=self.lockout.minutes))
            )
            return True

    def record_success(self, account_id: int, now: datetime | None = None) -> None:
        self._update(account_id, failed_logins=0, locked_until=None, last_login_at=now or utcnow())

    def check_totp(self, account_id: int, code: str, now: datetime | None = None) -> bool:
        """Whether ``code`` is the account's current TOTP code, not used before; a failure counts towards the lockout."""
        now = now or utcnow()
        row = self._row(staff_accounts.c.id == account_id)
        if row is None or not row["totp_secret"]:
            return False
        step = auth.totp_step(row["totp_secret"], code, row["totp_last_step"], now.timestamp())
        if step is None:
            self.record_failure(account_id, now)
            return False
        with self.engine.begin() as conn:  # only if no other request used this step meanwhile
            used = conn.execute(
                update(staff_accounts)
                .where(staff_accounts.c.id == account_id)
                .where((staff_accounts.c.totp_last_step.is_(None)) | (staff_accounts.c.totp_last_step < step))
                .values(totp_last_step=step)
            ).rowcount
        return used == 1

    # -- administration --------------------------------------------------------------------

    def set_password(self, username: str, password: str) -> Account:
        account = self.get(username)
        auth.check_password(password, account.username)
        new_hash = auth.hash_password(password)
        self._update(account.id, password_hash=new_hash, password_changed_at=utcnow(), failed_logins=0, locked_until=None)
        return self.get(username)

    def verify_current_password(self, account_id: int, password: str) -> bool:
        row = self._row(staff_accounts.c.id == account_id)
        return auth.verify_password(row["password_hash"] if row else None, password)

    def set_disabled(self, username: str, disabled: bool) -> Account:
        account = self.get(username)
        self._update(account.id, disabled=disabled)
        return self.get(username)

    def set_roles(self, username: str, roles: Iterable[Role | str]) -> Account:
        account = self.get(username)
        self._update(account.id, roles=serialise(parse_roles(str(r) for r in roles)))
        return self.get(username)

    def unlock(self, username: str) -> Account:
        account = self.get(username)
        self._update(account.id, failed_logins=0, locked_until=None)
        return self.get(username)

    def set_totp(self, username: str, secret: str | None) -> Account:
        """Turn the second factor on with ``secret`` (base32), or off with None."""
        account = self.get(username)
        self._update(account.id, totp_secret=secret, totp_last_step=None)
        return self.get(username)

    # -- plumbing --------------------------------------------------------------------------

    def _row(self, where: object) -> dict | None:
        self.tables.ensure()
        with self.engine.connect() as conn:
            row = conn.execute(select(staff_accounts).where(where)).mappings().first()
        return dict(row) if row else None

    def _update(self, account_id: int, **values: object) -> None:
        self.tables.ensure()
        with self.engine.begin() as conn:
            conn.execute(update(staff_accounts).where(staff_accounts.c.id == account_id).values(**values))


def _account(row: dict) -> Account:
    return Account(
        id=row["id"],
        username=row["username"],
        roles=parse_roles([row["roles"]]),
        disabled=bool(row["disabled"]),
        totp_enabled=bool(row["totp_secret"]),
        failed_logins=row["failed_logins"] or 0,
        locked_until=row["locked_until"],
        created_at=row["created_at"],
        last_login_at=row["last_login_at"],
    )
