"""Bring an existing handoffs table up to the current definition, in place and without losing a record.

Databases created before the staff console have no ``channel``, ``note``, ``updated_at`` or
``updated_by`` columns and a status check that allows only 'open' and 'resolved'. The upgrade adds
the columns and turns every 'open' record into 'new' (nobody has acted on it yet). It runs once,
when a process first opens the store, and is safe when several processes start together: it
re-checks under a write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``LOCK TABLE``) and commits
all of it or nothing. SQLite cannot change a check constraint, so there the table is rebuilt (the
procedure of https://www.sqlite.org/lang_altertable.html, section 7), inside one transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import MetaData, Table, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateTable

log = logging.getLogger(__name__)

LEGACY_STATUS = "open"


def upgrade(engine: Engine, table: Table, new_status: str) -> bool:
    """Upgrade ``table`` (already created if it was missing) to its definition; True when something changed."""
    with engine.connect() as conn:
        if not _outdated(conn, table):
            return False
    changed = _rebuild_sqlite(engine, table, new_status) if engine.dialect.name == "sqlite" else _alter(engine, table, new_status)
    if changed:
        log.warning("table %s upgraded: new columns added, '%s' records are now '%s'", table.name, LEGACY_STATUS, new_status)
    return changed


def _outdated(conn: Connection, table: Table) -> bool:
    inspector = inspect(conn)
    existing = {column["name"] for column in inspector.get_columns(table.name)}
    if {column.name for column in table.columns} - existing:
        return True
    checks = " ".join(str(check.get("sqltext", "")) for check in inspector.get_check_constraints(table.name))
    return f"'{LEGACY_STATUS}'" in checks


def _rebuild_sqlite(engine: Engine, table: Table, new_status: str) -> bool:
    """Create the current table under a temporary name, copy every row, drop the old one, rename: one transaction."""
    raw = engine.raw_connection()
    dbapi: Any = raw.connection  # the sqlite3 connection
    saved = dbapi.isolation_level
    dbapi.isolation_level = None  # explicit transaction control: DDL must be inside BEGIN ... COMMIT
    try:
        cursor = dbapi.cursor()
        cursor.execute("PRAGMA foreign_keys = OFF")  # the outbox refers to the table being replaced
        cursor.execute("BEGIN IMMEDIATE")
        try:
            old_columns = [row[1] for row in cursor.execute(f'PRAGMA table_info("{table.name}")')]
            sql = cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)).fetchone()[0]
            if not ({c.name for c in table.columns} - set(old_columns)) and f"'{LEGACY_STATUS}'" not in sql:
                cursor.execute("ROLLBACK")  # another process upgraded it meanwhile
                return False
            temporary = f"{table.name}_upgrade"
            cursor.execute(f'DROP TABLE IF EXISTS "{temporary}"')
            cursor.execute(str(CreateTable(table.to_metadata(MetaData(), name=temporary)).compile(engine)))
            common = [name for name in old_columns if name in table.columns]
            renamed = f"CASE status WHEN '{LEGACY_STATUS}' THEN '{new_status}' ELSE status END"
            selected = [renamed if c == "status" else f'"{c}"' for c in common]
            names = ", ".join(f'"{c}"' for c in common)
            cursor.execute(f'INSERT INTO "{temporary}" ({names}) SELECT {", ".join(selected)} FROM "{table.name}"')
            cursor.execute(f'DROP TABLE "{table.name}"')
            cursor.execute(f'ALTER TABLE "{temporary}" RENAME TO "{table.name}"')
            cursor.execute("COMMIT")
        except BaseException:
            if dbapi.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        return True
    finally:
        dbapi.isolation_level = saved
        raw.close()


def _alter(engine: Engine, table: Table, new_status: str) -> bool:
    """PostgreSQL: add the missing columns, replace the status check, rename the status; one transaction."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f'LOCK TABLE "{table.name}" IN ACCESS EXCLUSIVE MODE')
        if not _outdated(conn, table):
            return False
        existing = {column["name"] for column in inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name not in existing:
                conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {column.type.compile(dialect=conn.dialect)}')
        for check in table.constraints:
            name = getattr(check, "name", None)
            sqltext = getattr(check, "sqltext", None)
            if name == f"ck_{table.name}_status" and sqltext is not None:
                conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DROP CONSTRAINT IF EXISTS "{name}"')
                conn.exec_driver_sql(f"UPDATE \"{table.name}\" SET status = '{new_status}' WHERE status = '{LEGACY_STATUS}'")
                conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{name}" CHECK ({sqltext})')
        return True
