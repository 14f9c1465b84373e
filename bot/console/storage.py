"""The console's tables live in the handoff database (same engine, SQLite or PostgreSQL), created on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

CREATE_ATTEMPTS = 3


class Tables:
    """Creates ``metadata``'s tables once per process, then runs ``after`` (triggers and the like) in the same transaction."""

    def __init__(self, engine: Engine, metadata: MetaData, after: Callable[[Connection], None] | None = None) -> None:
        self.engine = engine
        self.metadata = metadata
        self.after = after
        self._ready = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                for attempt in range(CREATE_ATTEMPTS):
                    try:
                        self._create()
                        break
                    except (OperationalError, ProgrammingError, IntegrityError):  # SQLite: another process created it just now
                        if attempt == CREATE_ATTEMPTS - 1:
                            raise
                self._ready = True

    def _create(self) -> None:
        """One transaction; on PostgreSQL under a lock, as several servers (Rasa, action, console) start on one database."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('console_tables'))")
            self.metadata.create_all(conn)
            if self.after is not None:
                self.after(conn)


def utcnow() -> datetime:
    return datetime.now(UTC)
