"""Signed-in sessions, kept in the database so that signing out, disabling an account or a restart take effect.

The browser holds a random token in an HttpOnly, SameSite=Strict cookie; the table holds only the
token's SHA-256, the account, the session's CSRF token and its times. A session ends after
``idle`` without a request or ``max_age`` in all. A session whose password was right but whose
TOTP code is still due has stage ``totp`` and opens no page but the code's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from bot.console import auth
from bot.console.storage import Tables, utcnow
from bot.handoff.store import UTCDateTime

FULL = "full"
TOTP = "totp"
TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most this often
TOTP_STAGE_MAX = timedelta(minutes=5)  # to type the code after the password

metadata = MetaData()
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, nullable=False, index=True),
    Column("stage", String(8), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class Session:
    token_hash: str
    account_id: int
    stage: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


class SessionStore:
    def __init__(self, engine: Engine, idle: timedelta = timedelta(minutes=30), max_age: timedelta = timedelta(hours=12)) -> None:
        self.engine = engine
        self.idle = idle
        self.max_age = max_age
        self.tables = Tables(engine, metadata)

    def create(self, account_id: int, stage: str = FULL, now: datetime | None = None) -> tuple[str, Session]:
        """A new session (a fresh token on every sign-in, so a token planted before it is worthless)."""
        now = now or utcnow()
        token = auth.new_token()
        session = Session(auth.token_hash(token), account_id, stage, auth.new_token(), now, now)
        self.tables.ensure()
        with self.engine.begin() as conn:
            conn.execute(delete(staff_sessions).where(self._expired(now)))
            conn.execute(insert(staff_sessions).values(**session.__dict__))
        return token, session

    def get(self, token: str | None, now: datetime | None = None) -> Session | None:
        """The live session of this cookie value, or None (unknown, idle too long or too old: then it is deleted)."""
        if not token or len(token) > 128:
            return None
        now = now or utcnow()
        key = auth.token_hash(token)
        self.tables.ensure()
        with self.engine.connect() as conn:
            row = conn.execute(select(staff_sessions).where(staff_sessions.c.token_hash == key)).mappings().first()
        if row is None:
            return None
        session = Session(**dict(row))
        too_old = now - session.created_at > (TOTP_STAGE_MAX if session.stage == TOTP else self.max_age)
        if now - session.last_seen_at > self.idle or too_old:
            self.end(session.token_hash)
            return None
        if now - session.last_seen_at > TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(staff_sessions).where(staff_sessions.c.token_hash == key).values(last_seen_at=now))
        return session

    def end(self, token_hash: str) -> None:
        self.tables.ensure()
        with self.engine.begin() as conn:
            conn.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash))

    def end_all(self, account_id: int) -> int:
        """Sign an account out everywhere (disabled, password changed); how many sessions ended."""
        self.tables.ensure()
        with self.engine.begin() as conn:
            return conn.execute(delete(staff_sessions).where(staff_sessions.c.account_id == account_id)).rowcount

    def _expired(self, now: datetime) -> object:
        return or_(staff_sessions.c.last_seen_at < now - self.idle, staff_sessions.c.created_at < now - self.max_age)
