"""Conversations as turns, read from the tracker store: what the visitor asked and what kinds of reply it got.

Rasa's SQL tracker store keeps one row per event (table ``events``): a user event's ``data`` holds its
text, ``parse_data`` (the intent) and ``input_channel``; a bot event's ``data.data.custom`` holds the
reply's custom payload, which says what sort of reply it was (``bot/content/replies.py``). Only the
columns and keys used here are read, and only for a time window.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, inspect, select, table
from sqlalchemy.engine import Engine

from bot.persistence import database

events = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"), column("data"))
FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Reply:
    """One bot reply: when (its event's timestamp, the reference the web chat's ratings use) and its custom payload."""

    at: float
    custom: dict[str, Any]


@dataclass
class Turn:
    """A visitor's message and the replies up to the next one. ``conversation`` is kept in memory only, never shown."""

    conversation: str
    at: float
    text: str
    intent: str | None
    channel: str | None
    replies: list[Reply] = field(default_factory=list)

    @property
    def customs(self) -> list[dict[str, Any]]:
        return [r.custom for r in self.replies]

    def kinds(self) -> set[str]:
        """The reply kinds of this turn: 'unsure', 'not_covered', 'out_of_scope', 'clinic_info' (also within several answers)."""
        found: set[str] = set()
        for custom in self.customs:
            if isinstance(custom.get("reply"), str):
                found.add(custom["reply"])
            found.update(k for k in custom.get("replies") or [] if isinstance(k, str))
        return found

    def topics(self) -> list[str]:
        """Topics answered, in order, each once (a reply to several questions names several)."""
        seen: dict[str, None] = {}
        for custom in self.customs:
            many = custom.get("topics")
            for topic in many if isinstance(many, list) else [custom.get("topic")]:
                if isinstance(topic, str) and topic:
                    seen[topic] = None
        return list(seen)

    @property
    def fallback(self) -> bool:
        """The assistant was unsure what was asked (its fallback)."""
        return "unsure" in self.kinds() or self.intent == FALLBACK_INTENT

    @property
    def not_covered(self) -> bool:
        return "not_covered" in self.kinds()

    @property
    def urgent(self) -> bool:
        return any(c.get("urgent") is True for c in self.customs)

    @property
    def handoff(self) -> bool:
        return any(isinstance(c.get("handoff"), dict) for c in self.customs)


def turns_from_events(rows: Iterable[tuple[str, str, float, str | dict[str, Any]]]) -> list[Turn]:
    """Turns from (sender_id, type_name, timestamp, data) rows in stored order; bot events before any user event are skipped."""
    turns: list[Turn] = []
    current: dict[str, Turn] = {}
    for sender, kind, timestamp, raw in rows:
        data = _data(raw)
        if kind == "user":
            parse = _mapping(data.get("parse_data"))
            intent = _mapping(parse.get("intent")).get("name")
            turn = Turn(sender, float(timestamp or 0), str(data.get("text") or ""), intent, data.get("input_channel") or None)
            current[sender] = turn
            turns.append(turn)
        elif kind == "bot" and sender in current:
            custom = _mapping(_mapping(data.get("data")).get("custom"))
            current[sender].replies.append(Reply(float(timestamp or 0), custom))
    return turns


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _data(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class TrackerReader:
    """Reads turns from the tracker store's database (read only)."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        parsed = database.resolve(url)
        connect_args: dict[str, Any] = {}
        if parsed.drivername.startswith("postgresql"):
            connect_args["connect_timeout"] = 5
            if schema:
                connect_args["options"] = f"-csearch_path={schema}"
        self.sqlite_file = Path(parsed.database or "") if database.is_sqlite_file(parsed) else None
        self.engine: Engine = create_engine(parsed, future=True, hide_parameters=True, pool_pre_ping=True, connect_args=connect_args)

    def turns(self, since: datetime, until: datetime | None = None) -> list[Turn]:
        """Every visitor turn from ``since`` (to ``until``), with its replies, oldest first."""
        return turns_from_events(self._rows(since, until))

    def _rows(self, since: datetime, until: datetime | None) -> Iterator[tuple[Any, Any, Any, Any]]:
        if self.sqlite_file is not None and not self.sqlite_file.exists():  # no conversation yet (and don't create the file)
            return
        query = (
            select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
            .where(events.c.type_name.in_(("user", "bot")), events.c.timestamp >= since.timestamp())
            .order_by(events.c.id)
        )
        if until is not None:
            query = query.where(events.c.timestamp < until.timestamp())
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("events"):
                return
            for row in conn.execution_options(stream_results=True).execute(query):
                yield tuple(row)

    def dispose(self) -> None:
        self.engine.dispose()
