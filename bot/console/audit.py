"""The audit log: who viewed, exported or changed which record, and every sign-in, success or failure.

Privacy law for health information expects it (Ontario PHIPA s.10.1, HIPAA 164.312(b)). Each entry
holds the time, the staff account (id and name; for a failed sign-in with an unknown name, the
name tried), the action, the record id, the client address and a short detail. Entries hold
**no health information** (no names, contacts, conditions, notes or search text), because the log
is kept longer than the records (``AUDIT_RETENTION_DAYS``, default 6 years; deleted only by the
retention command, ``bot/persistence/retention.py``).

Append-only: this module only appends and reads, the console has no way to change an entry, and
the database refuses any UPDATE of the table (a trigger, on SQLite and PostgreSQL). Tamper-evident:
each entry is linked to the one before it by a SHA-256 hash chain (``audit_chain.py``), checked by
``python -m bot.console.cli audit verify``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert, inspect, select
from sqlalchemy.engine import Connection, Engine

from bot.console import audit_chain
from bot.console.storage import Tables, utcnow
from bot.handoff.store import UTCDateTime

# Actions (the words the log uses; a new page adds its own).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
ACCESS_DENIED = "access_denied"
INBOX_VIEW = "inbox_view"
RECORD_VIEW = "record_view"
EXPORT = "export"
STATUS_CHANGE = "status_change"
NOTE_CHANGE = "note_change"
ACCOUNT_CREATE = "account_create"
ACCOUNT_CHANGE = "account_change"
PASSWORD_CHANGE = "password_change"
TOTP_CHANGE = "totp_change"
AUDIT_VIEW = "audit_view"
INSIGHTS_VIEW = "insights_view"
UNANSWERED_VIEW = "unanswered_view"
UNANSWERED_HANDLED = "unanswered_handled"
AUDIT_RETENTION = audit_chain.RETENTION_ACTION  # the retention command deleted the oldest entries
ACTIONS = (
    LOGIN,
    LOGIN_FAILED,
    LOGOUT,
    ACCESS_DENIED,
    INBOX_VIEW,
    RECORD_VIEW,
    EXPORT,
    STATUS_CHANGE,
    NOTE_CHANGE,
    ACCOUNT_CREATE,
    ACCOUNT_CHANGE,
    PASSWORD_CHANGE,
    TOTP_CHANGE,
    AUDIT_VIEW,
    INSIGHTS_VIEW,
    UNANSWERED_VIEW,
    UNANSWERED_HANDLED,
    AUDIT_RETENTION,
)
MAX_DETAIL = 500
APPEND_ONLY_MESSAGE = "the audit log is append-only"

metadata = MetaData()
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("staff_id", Integer),
    Column("staff", String(64)),
    Column("action", String(32), nullable=False),
    Column("record_id", String(36), index=True),
    Column("client", String(64)),
    Column("detail", String(MAX_DETAIL)),
    *audit_chain.columns(),
)
ENTRY_COLUMNS = [c for c in audit_log.c if c.name not in ("prev_hash", "hash")]  # what an AuditEntry shows


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff account, the command line (``cli:<user>``), or a name tried at sign-in."""

    name: str
    id: int | None = None
    client: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    staff_id: int | None
    staff: str | None
    action: str
    record_id: str | None
    client: str | None
    detail: str | None


def _prepare(conn: Connection) -> None:
    """The hash chain's columns on a table from before it, and the append-only trigger."""
    _chain_columns(conn)
    _append_only(conn)


def _chain_columns(conn: Connection) -> None:
    """Add ``prev_hash`` and ``hash`` to a log created before the chain (its entries stay without: not verifiable)."""
    present = {c["name"] for c in inspect(conn).get_columns(audit_log.name)}
    for column in audit_chain.columns():
        if column.name not in present:
            conn.exec_driver_sql(f"ALTER TABLE {audit_log.name} ADD COLUMN {column.name} VARCHAR(64)")


def _append_only(conn: Connection) -> None:
    """A trigger that refuses UPDATE on the table (retention may still DELETE old entries)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE TRIGGER IF NOT EXISTS audit_log_append_only BEFORE UPDATE ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('audit_log_append_only'))")  # processes starting together
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
        )
        conn.exec_driver_sql(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_append_only') THEN "
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only(); END IF; END $$"
        )


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tables = Tables(engine, metadata, after=_prepare)

    def append(
        self,
        action: str,
        actor: Actor,
        record_id: str | None = None,
        detail: str = "",
        conn: Connection | None = None,
        at: datetime | None = None,
    ) -> None:
        """Add an entry; with ``conn``, inside that transaction (so it commits with the change it records)."""
        self.tables.ensure()
        if conn is not None:
            _insert(conn, action, actor, [record_id], detail, at)
            return
        with self.engine.begin() as own:
            _insert(own, action, actor, [record_id], detail, at)

    def append_many(self, action: str, actor: Actor, record_ids: list[str], detail: str = "") -> None:
        """One entry per record, in one statement (a list or an export shows many records at once)."""
        if not record_ids:
            return
        self.tables.ensure()
        with self.engine.begin() as conn:
            _insert(conn, action, actor, list(record_ids), detail)

    def find(
        self,
        staff: str | None = None,
        action: str | None = None,
        record_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 200,
        actions: tuple[str, ...] = (),
    ) -> list[AuditEntry]:
        """Entries newest first matching every filter given; ``before_id`` pages back."""
        query = select(*ENTRY_COLUMNS).order_by(audit_log.c.id.desc()).limit(limit)
        if staff:
            query = query.where(audit_log.c.staff == staff.strip().lower())
        if action:
            query = query.where(audit_log.c.action == action)
        if actions:
            query = query.where(audit_log.c.action.in_(actions))
        if record_id:
            query = query.where(audit_log.c.record_id == record_id.strip())
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if until is not None:
            query = query.where(audit_log.c.at < until)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        self.tables.ensure()
        with self.engine.connect() as conn:
            return [AuditEntry(**dict(row)) for row in conn.execute(query).mappings()]

    def verify(self, expect: str | None = None) -> audit_chain.Verification:
        """Check the hash chain, oldest entry first (streamed: the log may hold years of entries)."""
        self.tables.ensure()
        with self.engine.connect() as conn:
            return audit_chain.verify(_all_rows(conn), expect)

    def history(self, record_id: str) -> list[AuditEntry]:
        """What staff changed on a record (status and note changes), oldest first."""
        return list(reversed(self.find(record_id=record_id, actions=(STATUS_CHANGE, NOTE_CHANGE), limit=1000)))


def _insert(conn: Connection, action: str, actor: Actor, record_ids: list[str | None], detail: str, at: datetime | None = None) -> None:
    """Entries linked to the newest one, under the chain's lock (their time taken under it too, so time follows id)."""
    audit_chain.lock(conn)
    at = at or utcnow()
    rows = [_row(action, actor, record_id, detail, at) for record_id in record_ids]
    conn.execute(insert(audit_log), audit_chain.chain(rows, audit_chain.last_hash(conn, audit_log)))


def _all_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    for row in conn.execution_options(stream_results=True, yield_per=1000).execute(select(audit_log).order_by(audit_log.c.id)).mappings():
        yield dict(row)


def _row(action: str, actor: Actor, record_id: str | None, detail: str, at: datetime) -> dict[str, Any]:
    """One audit entry's columns, cut to their widths (one home for append and append_many)."""
    return {
        "at": at,
        "staff_id": actor.id,
        "staff": (actor.name or "")[:64] or None,
        "action": action[:32],
        "record_id": record_id,
        "client": (actor.client or "")[:64] or None,
        "detail": detail[:MAX_DETAIL] or None,
    }
