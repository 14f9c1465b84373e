"""Rasa's SQL tracker store with connections checked before use, and SQLite in WAL mode.

Rasa creates its SQLAlchemy engine without ``pool_pre_ping``: after PostgreSQL
restarts, the next query on a pooled connection fails, Rasa's fail-safe wrapper
falls back to an empty in-memory tracker, and that turn is answered out of context
and never saved. Checking each connection as it leaves the pool replaces dead ones
first, so the next message after a restart works and nothing is lost.

Saving a conversation, Rasa first counts the events already stored (a query per
message) to know which are new. The tracker was loaded under the conversation's
lock, so that count is the number of events it was loaded with: remembered on the
tracker, it saves the query. Trackers loaded any other way fall back to the query.
The new events are then written with one multi-row INSERT into Rasa's own table
instead of the ORM's unit of work, which took half of the save's time under py-spy.

On SQLite (the embedded default) the file uses write-ahead logging with
``synchronous=NORMAL``: readers (the retention command, the staff) don't block the
assistant, and a commit costs no fsync. A committed turn survives a crash of the
assistant; only a power loss or OS crash can lose the last moments. Production
uses PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker

_STORED = "_events_in_store"  # attribute set on trackers this store loaded or saved


class ResilientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine: sa.engine.Engine
        url = self.engine.url
        self.engine.dispose()
        if url.get_backend_name() == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection for every session (NullPool): 10% of the
            # CPU per message went into connecting, setting the pragmas and closing. Keep them open.
            self.engine = sa.create_engine(url, pool_pre_ping=True, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, _STORED, len(tracker.events))  # the latest session's events, all stored
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``SQLTrackerStore.save``: the same rows, written with one INSERT."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [_row(tracker.sender_id, event.type_name, event.as_dict()) for event in self._additional_events(session, tracker)]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        setattr(tracker, _STORED, len(tracker.events))

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = getattr(tracker, _STORED, None)
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))


def _row(sender_id: str, type_name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sender_id": sender_id,
        "type_name": type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
