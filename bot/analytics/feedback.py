"""Visitors' thumbs up or down on an answer in the web chat, stored without who gave them.

A rating names one bot reply by its reference (the reply event's timestamp, sent with the answer) and
must match a reply in the rater's own conversation (the socket's room): nothing else is accepted, no
text is asked for. The row keeps the reference, the vote, the answer's topic and kind: no conversation
id, no address. The console follows the reference into the tracker store to show the question while
the conversation is kept; after retention deletes it, only the vote and topic remain.

One vote per reply (a second one replaces it); each connection may rate at most ``RATE_LIMIT`` times a minute.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, create_engine, delete, insert, select
from sqlalchemy.engine import Engine

from bot.console.storage import Tables
from bot.persistence import database

RATE_LIMIT = 20  # ratings per connection per minute: a person clicks a few
WINDOW_SECONDS = 60.0
_REFERENCE = re.compile(r"^\d{9,11}(\.\d{1,9})?$")

metadata = MetaData()
answer_feedback = Table(
    "answer_feedback",
    metadata,
    Column("reply_at", Float, primary_key=True, autoincrement=False),  # the bot reply's event timestamp
    Column("helpful", Boolean, nullable=False),
    Column("topic", String(64)),
    Column("kind", String(32)),
)


@dataclass(frozen=True)
class Rating:
    reply_at: float
    helpful: bool
    topic: str | None
    kind: str | None


def rateable(custom: dict[str, Any]) -> bool:
    """Answers to a question may be rated: knowledge answers (one or several topics), clinic details, 'not covered'."""
    return bool(custom.get("topic") or custom.get("topics") or custom.get("reply") in ("clinic_info", "not_covered"))


def reply_kind(custom: dict[str, Any]) -> str:
    if custom.get("topics") and len(custom["topics"]) > 1:
        return "several"
    if custom.get("topic"):
        return "answer"
    return str(custom.get("reply") or "answer")[:32]


def parse_reference(value: Any) -> float | None:
    """A reply reference as sent to the page (a timestamp as text), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = repr(float(value))
    if not isinstance(value, str) or not _REFERENCE.match(value):
        return None
    return float(value)


def reference(timestamp: float) -> str:
    return repr(float(timestamp))


def rating_for(events: Iterable[Any], reply_at: float, helpful: Any) -> Rating | None:
    """The rating of the bot reply at ``reply_at`` among a conversation's events (Rasa events or their dicts), if it is rateable."""
    if not isinstance(helpful, bool):
        return None
    for event in events:
        data = event if isinstance(event, dict) else event.as_dict()
        if data.get("event") != "bot" or abs(float(data.get("timestamp") or 0) - reply_at) > 1e-6:
            continue
        custom = (data.get("data") or {}).get("custom")
        if isinstance(custom, dict) and rateable(custom):
            topics = custom.get("topics") if isinstance(custom.get("topics"), list) else []
            topic = custom.get("topic") or (topics[0] if topics else None)
            return Rating(float(data["timestamp"]), helpful, str(topic)[:64] if topic else None, reply_kind(custom))
        return None
    return None


class RateLimiter:
    """At most ``limit`` events per key within ``window`` seconds (in memory; keys are socket ids, forgotten on disconnect)."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[key]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)


class FeedbackStore:
    """The ratings table, in the handoff database (with the console's tables)."""

    def __init__(self, engine_or_url: Engine | str) -> None:
        if isinstance(engine_or_url, str):
            engine_or_url = create_engine(database.resolve(engine_or_url, create_dir=True), future=True, hide_parameters=True)
        self.engine = engine_or_url
        self.tables = Tables(self.engine, metadata)

    def record(self, rating: Rating) -> None:
        """Store a vote; a later vote on the same reply replaces it."""
        self.tables.ensure()
        with self.engine.begin() as conn:
            conn.execute(delete(answer_feedback).where(answer_feedback.c.reply_at == rating.reply_at))
            conn.execute(
                insert(answer_feedback).values(reply_at=rating.reply_at, helpful=rating.helpful, topic=rating.topic, kind=rating.kind)
            )

    def since(self, since: float, until: float | None = None) -> list[Rating]:
        self.tables.ensure()
        query = select(answer_feedback).where(answer_feedback.c.reply_at >= since).order_by(answer_feedback.c.reply_at)
        if until is not None:
            query = query.where(answer_feedback.c.reply_at < until)
        with self.engine.connect() as conn:
            return [Rating(r.reply_at, bool(r.helpful), r.topic, r.kind) for r in conn.execute(query)]
