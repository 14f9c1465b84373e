"""Retention: delete conversations and handoff records older than a number of days, the audit log later.

    python -m bot.persistence.retention [--days N] [--audit-days N] [--dry-run]

Run it daily (cron, a systemd timer or a Kubernetes CronJob; see SECURITY.md). Keeping
health data no longer than needed is a legal obligation, not housekeeping: the clinic
decides the number of days (``--days``, else env ``RETENTION_DAYS``, else 30).

- **Conversations** (Rasa's SQL tracker store, table ``events``): every conversation
  (all events of one ``sender_id``) whose *latest* event is older than the cutoff is
  deleted whole; a conversation with any newer event is kept whole, so an ongoing
  conversation is never cut in half. Writers are held off while it runs (PostgreSQL:
  ``LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE``; SQLite: ``BEGIN IMMEDIATE``), so a
  conversation that resumes at that moment is either kept or deleted, never split.
- **Handoff records** (``bot/handoff/store.py``) created before the cutoff, with their
  webhook outbox rows, in one transaction. Open (never resolved) ones are deleted too,
  counted separately and logged as a warning: the clinic must follow up within the window.
- **The staff console's audit log** (``bot/console/audit.py``, in the handoff database) is kept longer:
  entries older than ``--audit-days`` (else env ``AUDIT_RETENTION_DAYS``, else 2190 days, 6 years) are
  deleted (the oldest first, so its hash chain stays verifiable; the deletion is itself logged). It must be
  kept at least as long as the records it describes, so a shorter audit period than ``--days`` is refused.
  Its entries hold no health information.
- **SMS/WhatsApp opt-outs** (``bot/persistence/opt_outs.py``) are never deleted: carriers require
  honouring STOP indefinitely, and they hold only hashed numbers.

Where: ``TRACKER_DATABASE_URL`` or the stores of ``bot/persistence/database.py`` (SQLite ``var/trackers.db``;
PostgreSQL from ``POSTGRES_*`` when ``STORES=production``), and ``HANDOFF_DATABASE_URL`` or the
same choice for handoffs. A missing SQLite file or table means there is nothing to delete.
Output is counts only, never names, contacts, conversation ids or message text.

Exit codes: 0 ok, 2 usage error, 3 a database could not be reached or written (the other
database is still processed, and its counts printed).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, delete, event, func, inspect, select, table
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.config import DEFAULT_AUDIT_RETENTION_DAYS, SettingsError, load_settings, retention_days
from bot.config import DEFAULT_RETENTION_DAYS as DEFAULT_DAYS
from bot.console import audit, audit_chain
from bot.console.audit import Actor, AuditLog, audit_log
from bot.handoff.cli import operator
from bot.handoff.outbox import outbox
from bot.handoff.store import HandoffStore, handoffs
from bot.persistence import database

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...) list
# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent): only the columns used here.
events = table("events", column("sender_id"), column("timestamp"))


class RetentionError(RuntimeError):
    """A database could not be reached or written; its transaction was rolled back."""


@dataclass(frozen=True)
class ConversationCounts:
    conversations: int = 0
    events: int = 0


@dataclass(frozen=True)
class HandoffCounts:
    handoffs: int = 0
    open_handoffs: int = 0
    outbox_rows: int = 0


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    dry_run: bool
    conversations: ConversationCounts | None  # None: that database failed (see errors)
    handoffs: HandoffCounts | None
    errors: tuple[str, ...] = ()
    audit_entries: int | None = None  # None: that database failed (see errors)
    audit_days: int = DEFAULT_AUDIT_RETENTION_DAYS


# -- conversations ---------------------------------------------------------------------


def purge_conversations(url: str, cutoff: datetime, dry_run: bool = False, schema: str | None = None) -> ConversationCounts:
    """Delete (or count) conversations whose latest event is before ``cutoff``.

    ``schema``: the PostgreSQL schema of Rasa's tables when not the default (Rasa's POSTGRESQL_SCHEMA).
    """
    parsed = _parse_url(url, "tracker")
    if _missing_sqlite_file(parsed):
        return ConversationCounts()
    engine = _tracker_engine(parsed, immediate=not dry_run, schema=schema)
    cutoff_ts = cutoff.timestamp()
    stale = select(events.c.sender_id).group_by(events.c.sender_id).having(func.max(events.c.timestamp) < cutoff_ts)
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table("events"):
                return ConversationCounts()
            if not dry_run:
                _hold_off_writers(conn)
            conversations = conn.execute(select(func.count()).select_from(stale.subquery())).scalar_one()
            if dry_run:
                count = conn.execute(select(func.count()).select_from(events).where(events.c.sender_id.in_(stale))).scalar_one()
            else:
                count = conn.execute(delete(events).where(events.c.sender_id.in_(stale))).rowcount
        return ConversationCounts(conversations, count)
    except SQLAlchemyError as exc:
        raise RetentionError(_describe_error("tracker", parsed, exc)) from exc
    finally:
        engine.dispose()


def _tracker_engine(url: URL, immediate: bool, schema: str | None = None) -> Engine:
    connect_args: dict[str, Any] = {}
    if url.drivername.startswith("postgresql"):
        connect_args["connect_timeout"] = 5
        if schema:  # as Rasa's tracker store does (create_engine_kwargs)
            connect_args["options"] = f"-csearch_path={schema}"
    elif url.drivername.startswith("sqlite"):
        connect_args["timeout"] = 30  # wait for the assistant's own writes
    engine = create_engine(url, future=True, hide_parameters=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine, immediate)
    return engine


def _sqlite_transactions(engine: Engine, immediate: bool) -> None:
    """Real transactions on SQLite (SQLAlchemy's documented pysqlite recipe), IMMEDIATE to lock out writers,
    and secure_delete so deleted conversations are overwritten in the file rather than left in free pages."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA secure_delete = ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _hold_off_writers(conn: Connection) -> None:
    """PostgreSQL: block inserts into ``events`` (reads go on) until commit, so no conversation gains an event
    between choosing what to delete and deleting it. SQLite: BEGIN IMMEDIATE already did."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
        conn.exec_driver_sql("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")


# -- handoffs --------------------------------------------------------------------------


def delete_older_than(store: HandoffStore, cutoff: datetime, dry_run: bool = False) -> HandoffCounts:
    """Delete (or count) handoffs created before ``cutoff`` and their outbox rows, in one transaction."""
    try:
        with store.engine.begin() as conn:
            if not inspect(conn).has_table(handoffs.name):
                return HandoffCounts()
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            rows = conn.execute(select(handoffs.c.id, handoffs.c.status).where(handoffs.c.created_at < cutoff)).all()
            ids = [row.id for row in rows]
            open_count = sum(row.status != "resolved" for row in rows)  # new or contacted
            has_outbox = inspect(conn).has_table(outbox.name)
            outbox_rows = 0
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                if dry_run:
                    if has_outbox:
                        outbox_rows += conn.execute(
                            select(func.count()).select_from(outbox).where(outbox.c.handoff_id.in_(chunk))
                        ).scalar_one()
                    continue
                if has_outbox:
                    outbox_rows += conn.execute(delete(outbox).where(outbox.c.handoff_id.in_(chunk))).rowcount
                conn.execute(delete(handoffs).where(handoffs.c.id.in_(chunk)))
        return HandoffCounts(len(ids), open_count, outbox_rows)
    except SQLAlchemyError as exc:
        raise RetentionError(_describe_error("handoff", store.engine.url, exc)) from exc


def purge_handoffs(url: str, cutoff: datetime, dry_run: bool = False) -> HandoffCounts:
    parsed = _parse_url(url, "handoff")
    if _missing_sqlite_file(parsed):
        return HandoffCounts()
    store = HandoffStore(parsed.render_as_string(hide_password=False))
    try:
        return delete_older_than(store, cutoff, dry_run)
    finally:
        store.engine.dispose()


# -- the audit log ---------------------------------------------------------------------


def purge_audit_log(url: str, cutoff: datetime, dry_run: bool = False) -> int:
    """Delete (or count) audit entries made before ``cutoff``; the only way entries ever leave the log.

    Only the oldest entries go, up to the first one made after the cutoff, so the hash chain stays whole
    (``bot/console/audit_chain.py``); an entry naming where the log now starts is appended with the deletion."""
    parsed = _parse_url(url, "handoff")
    if _missing_sqlite_file(parsed):
        return 0
    engine = create_engine(parsed, future=True, hide_parameters=True)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(audit_log.name):
                return 0
        log = AuditLog(engine)
        if not dry_run:
            log.tables.ensure()  # the chain's columns on an older log, before the lock below
        with engine.begin() as conn:
            if not dry_run:
                audit_chain.lock(conn)  # no entry is appended between choosing what to delete and the new first entry
            first_kept = conn.execute(select(func.min(audit_log.c.id)).where(audit_log.c.at >= cutoff)).scalar()
            old = audit_log.c.at < cutoff
            if first_kept is not None:
                old = old & (audit_log.c.id < first_kept)
            if dry_run:
                return conn.execute(select(func.count()).select_from(audit_log).where(old)).scalar_one()
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            deleted = conn.execute(delete(audit_log).where(old)).rowcount
            if deleted:
                detail = audit_chain.retention_detail(deleted, cutoff, first_kept)
                log.append(audit.AUDIT_RETENTION, Actor(operator(), None, "cli"), detail=detail, conn=conn)
            return deleted
    except SQLAlchemyError as exc:
        raise RetentionError(_describe_error("audit log (handoff)", parsed, exc)) from exc
    finally:
        engine.dispose()


# -- the command -----------------------------------------------------------------------


def run(
    days: int,
    environ: Mapping[str, str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    audit_days: int | None = None,
) -> RetentionResult:
    """Apply retention to both databases and the audit log; a failure in one is reported and does not stop the others.

    ``audit_days`` (default AUDIT_RETENTION_DAYS, else 2190) must be at least ``days``: SettingsError otherwise.
    """
    settings = load_settings(os.environ if environ is None else environ)
    stores = settings.stores
    days = retention_days(days)
    audit_days = retention_days(audit_days, settings.audit_retention_days)
    if audit_days < days:
        raise SettingsError(f"the audit log must be kept at least as long as the records: {audit_days} audit days < {days} days")
    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(days=days)
    errors: list[str] = []
    conversations: ConversationCounts | None = None
    handoff_counts: HandoffCounts | None = None
    try:
        conversations = purge_conversations(stores.tracker_database_url(), cutoff, dry_run, stores.postgres_schema)
    except RetentionError as exc:
        errors.append(str(exc))
    except ValueError as exc:  # e.g. POSTGRES_PORT is not a number
        errors.append(f"tracker database settings are invalid (check POSTGRES_PORT and the other POSTGRES_* variables): {exc}")
    audit_entries: int | None = None
    try:
        handoff_url = stores.handoff_database_url()
    except ValueError as exc:
        handoff_url = None
        errors.append(f"handoff database settings are invalid (check POSTGRES_PORT and the other POSTGRES_* variables): {exc}")
    if handoff_url is not None:
        try:
            handoff_counts = purge_handoffs(handoff_url, cutoff, dry_run)
        except RetentionError as exc:
            errors.append(str(exc))
        if handoff_counts is not None:  # the same database: a failure is reported once
            try:
                audit_entries = purge_audit_log(handoff_url, moment - timedelta(days=audit_days), dry_run)
            except RetentionError as exc:
                errors.append(str(exc))
    if handoff_counts and handoff_counts.open_handoffs:
        log.warning(
            "%d handoff(s) older than %d days were still open (never resolved) and %s; "
            "clinicians must follow up on handoffs within the retention period",
            handoff_counts.open_handoffs,
            days,
            "would be deleted" if dry_run else "were deleted",
        )
    return RetentionResult(cutoff, dry_run, conversations, handoff_counts, tuple(errors), audit_entries, audit_days)


def report(result: RetentionResult, days: int) -> str:
    """Counts only: no conversation ids, names, contacts or text."""
    verb = "would be deleted" if result.dry_run else "deleted"
    lines = [f"retention: {days} days, cutoff {result.cutoff:%Y-%m-%d %H:%M:%S}Z{' (dry run, nothing deleted)' if result.dry_run else ''}"]
    if result.conversations is not None:
        c = result.conversations
        lines.append(f"conversations {verb}: {c.conversations} ({c.events} events)")
    if result.handoffs is not None:
        h = result.handoffs
        lines.append(f"handoffs {verb}: {h.handoffs} ({h.open_handoffs} still open, {h.outbox_rows} outbox rows)")
    if result.audit_entries is not None:
        lines.append(f"audit log entries {verb}: {result.audit_entries} (kept {result.audit_days} days)")
    lines.append("sms opt-outs: kept (never deleted)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        days = retention_days(args.days if args.days is not None else environ.get("RETENTION_DAYS") or None)
        audit_days = retention_days(args.audit_days) if args.audit_days is not None else None
        result = run(days, environ, dry_run=args.dry_run, audit_days=audit_days)
    except SettingsError as exc:
        parser.error(str(exc))
    print(report(result, days))
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return 3 if result.errors else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.persistence.retention",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Delete conversations and clinician-handoff records older than N days.\n\n"
            "Keeping patients' health data no longer than necessary is a legal obligation of the clinic\n"
            "(privacy law), so run this daily (cron, systemd timer or Kubernetes CronJob; see SECURITY.md).\n"
            "A conversation is deleted whole when its latest message is older than N days; an ongoing one is\n"
            "kept whole. Handoffs created more than N days ago are deleted with their webhook outbox rows,\n"
            "including open (never resolved) ones, which are counted separately and logged as a warning.\n"
            "The staff console's audit log is kept longer (--audit-days, default 6 years).\n"
            "SMS/WhatsApp opt-outs (hashed numbers) are NOT deleted: carriers require honouring STOP\n"
            "indefinitely. Output is counts only."
        ),
        epilog=(
            "databases: TRACKER_DATABASE_URL, else var/trackers.db, or PostgreSQL (POSTGRES_*) with\n"
            "STORES=production; HANDOFF_DATABASE_URL, else var/handoffs.db or the production database.\n"
            "exit codes: 0 ok, 2 usage error, 3 a database could not be reached or written."
        ),
    )
    parser.add_argument(
        "--days",
        type=str,
        default=None,
        help=f"keep this many days (default: env RETENTION_DAYS, else {DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--audit-days",
        type=str,
        default=None,
        help=f"keep the staff console's audit log this many days, at least --days (default: env AUDIT_RETENTION_DAYS, "
        f"else {DEFAULT_AUDIT_RETENTION_DAYS})",
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    return parser


def _parse_url(url: str, which: str) -> URL:
    """Parse a SQLAlchemy URL (relative SQLite paths are relative to the project root)."""
    try:
        return database.resolve(url)
    except ArgumentError:
        raise RetentionError(f"{which} database URL is not a valid SQLAlchemy URL") from None


def _missing_sqlite_file(url: URL) -> bool:
    """A SQLite file that does not exist holds nothing to delete; do not create it."""
    return database.is_sqlite_file(url) and not Path(url.database or "").exists()


def _describe_error(which: str, url: URL, exc: SQLAlchemyError) -> str:
    """The database (password hidden) and the driver's first line; parameters are hidden by the engine."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0][:200] if detail else type(exc).__name__
    return f"{which} database {url.render_as_string(hide_password=True)} could not be read or written: {first}"


if __name__ == "__main__":
    sys.exit(main())
