"""Rasa's SQL tracker store with connections checked before use, and SQLite in WAL mode.

Rasa creates its SQLAlchemy engine without ``pool_pre_ping``: after PostgreSQL
restarts, the next query on a pooled connection fails, Rasa's fail-safe wrapper
falls back to an empty in-memory tracker, and that turn is answered out of context
and never saved. Checking each connection as it leaves the pool replaces dead ones
first, so the next message after a restart works and nothing is lost.

On SQLite (the embedded default) the file uses write-ahead logging with
``synchronous=NORMAL``: readers (the retention command, the staff) don't block the
assistant, and a commit costs no fsync. A committed turn survives a crash of the
assistant; only a power loss or OS crash can lose the last moments. Production
uses PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs


class ResilientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
