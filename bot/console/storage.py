"""The console's tables live in the handoff database (same engine, SQLite or PostgreSQL), created on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine


class Tables:
    """Creates ``metadata``'s tables once per process, then runs ``after`` (triggers and the like) in the same step."""

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
                self.metadata.create_all(self.engine)
                if self.after is not None:
                    with self.engine.begin() as conn:
                        self.after(conn)
                self._ready = True


def utcnow() -> datetime:
    return datetime.now(UTC)
