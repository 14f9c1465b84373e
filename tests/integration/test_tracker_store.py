"""The tracker store writes exactly the rows Rasa's own SQL tracker store writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.persistence.tracker_store import ResilientSQLTrackerStore
from tests.support import postgres


def store_kwargs(kind: str, tmp_path, name: str) -> dict:
    if kind == "sqlite":
        return {"dialect": "sqlite", "db": str(tmp_path / f"{name}.db")}
    url = sa.engine.make_url(postgres.fresh_database())
    return {"dialect": "postgresql", "host": url.host, "port": url.port, "db": url.database, "username": url.username}


def turn(n: int) -> list:
    return [
        UserUttered(f"question {n}", {"name": "ask_is_it_safe", "confidence": 0.9}, message_id=f"m{n}", timestamp=100.0 + n),
        ActionExecuted("action_answer", timestamp=100.1 + n),
        BotUttered(f"answer {n}", {"buttons": [{"title": "Book", "payload": "/book"}]}, timestamp=100.2 + n),
        ActionExecuted("action_listen", timestamp=100.4 + n),
    ]


async def conversation(store, sender: str) -> None:
    """Three saves of a growing conversation, the way the processor saves: retrieve, append, save."""
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_session_start", timestamp=99.0),
            SessionStarted(timestamp=99.1),
            ActionExecuted("action_listen", timestamp=99.2),
        ],
    )
    await store.save(tracker)
    for n in range(3):
        tracker = await store.retrieve(sender)
        for event in turn(n):
            tracker.update(event)
        await store.save(tracker)
    tracker = await store.retrieve(sender)  # a new session starts in the same conversation
    for event in [ActionExecuted("action_session_start", timestamp=200.0), SessionStarted(timestamp=200.1), *turn(9)]:
        tracker.update(event)
    await store.save(tracker)


def rows(store) -> list[tuple]:
    with store.engine.connect() as conn:
        result = conn.execute(sa.text("SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"))
        return [tuple(r) for r in result]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_same_rows_as_rasas_store(kind, tmp_path):
    rasa = SQLTrackerStore(**store_kwargs(kind, tmp_path, "rasa"))
    ours = ResilientSQLTrackerStore(**store_kwargs(kind, tmp_path, "ours"))
    asyncio.run(conversation(rasa, "visitor"))
    asyncio.run(conversation(ours, "visitor"))
    expected = rows(rasa)
    assert len(expected) == 3 + 3 * 4 + 2 + 4
    assert rows(ours) == expected
    loaded, reference = asyncio.run(ours.retrieve("visitor")), asyncio.run(rasa.retrieve("visitor"))
    assert list(loaded.events) == list(reference.events)


def test_a_tracker_not_loaded_by_the_store_is_saved_without_duplicates(tmp_path):
    store = ResilientSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "t.db"))
    first = DialogueStateTracker.from_events("v", turn(0))
    asyncio.run(store.save(first))
    rebuilt = DialogueStateTracker.from_events("v", [*turn(0), *turn(1)])  # e.g. a copy: counts from the database
    asyncio.run(store.save(rebuilt))
    assert len(rows(store)) == 8


def test_sqlite_uses_write_ahead_logging(tmp_path):
    store = ResilientSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "wal.db"))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert store.engine.pool._pre_ping
