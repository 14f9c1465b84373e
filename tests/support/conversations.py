"""Fictional conversations written to a tracker store through Rasa's own SQLTrackerStore (tests only).

Each bot reply carries the custom payload the actions send (bot/content/replies.py), so what the
console reads is what the assistant stores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url


@dataclass
class Exchange:
    """A visitor's message and the assistant's replies (their custom payloads)."""

    text: str
    intent: str
    replies: Sequence[dict[str, Any]] = field(default_factory=list)


def answer(topic: str) -> dict[str, Any]:
    return {"topic": topic, "passages": [f"{topic}-1"], "sources": [{"document": "Guide", "section": "1"}]}


UNSURE = {"reply": "unsure"}
NOT_COVERED = {"reply": "not_covered"}
URGENT = {"urgent": True, "red_flags": ["breathing_or_chest"]}
HANDOFF = {"handoff": {"reason": "clinician_request", "conditions": []}}


def events_of(exchanges: Sequence[Exchange], start: float, channel: str) -> list[Event]:
    events: list[Event] = []
    at = start
    for exchange in exchanges:
        parse = {"text": exchange.text, "intent": {"name": exchange.intent, "confidence": 0.9}, "entities": []}
        events.append(UserUttered(exchange.text, parse_data=parse, input_channel=channel, timestamp=at))
        for n, custom in enumerate(exchange.replies):
            events.append(BotUttered("(reply)", data={"custom": dict(custom)}, timestamp=at + 0.25 + n * 0.01))
        at += 30
    return events


def tracker_store(db: Path | str) -> SQLTrackerStore:
    """Rasa's SQL tracker store on a SQLite file (a path) or a PostgreSQL database (a ``postgresql`` URL)."""
    if isinstance(db, str) and db.startswith("postgresql"):
        url = make_url(db)
        return SQLTrackerStore(
            Domain.empty(),
            dialect="postgresql",
            host=url.host,
            port=url.port,
            db=url.database,
            username=url.username,
            password=url.password,
        )
    return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))


def write(db: Path | str, conversations: dict[str, tuple[float, str, Sequence[Exchange]]]) -> dict[str, list[Event]]:
    """``{sender_id: (start timestamp, channel, exchanges)}`` saved to the tracker store at ``db`` (see ``tracker_store``)."""
    store = tracker_store(db)
    saved: dict[str, list[Event]] = {}
    try:
        for sender, (start, channel, exchanges) in conversations.items():
            events = events_of(exchanges, start, channel)
            tracker = DialogueStateTracker.from_events(sender, events)
            with ThreadPoolExecutor(1) as pool:  # its own event loop (Playwright's sync API may run one in this thread)
                pool.submit(asyncio.run, store.save(tracker)).result()
            saved[sender] = events
    finally:
        store.engine.dispose()
    return saved


def hours_ago(hours: float) -> float:
    return time.time() - hours * 3600


def sample(db: Path | str) -> dict[str, list[Event]]:
    """A week of fictional conversations: answers, paraphrases of two uncovered questions, a fallback with a
    phone number in it, an urgent disclosure and a handoff, on three channels."""
    what, safe, hurt = "ask_what_is_dry_needling", "ask_is_it_safe", "ask_does_it_hurt"
    return write(
        db,
        {
            "web-1": (
                hours_ago(2),
                "webchat",
                [
                    Exchange("/greet", "greet", [{}]),
                    Exchange("What is dry needling?", what, [answer(what)]),
                    Exchange("Can I go swimming after dry needling?", "not_covered", [NOT_COVERED]),
                ],
            ),
            "web-2": (
                hours_ago(20),
                "webchat",
                [
                    Exchange("/greet", "greet", [{}]),
                    Exchange("is it ok to swim in a pool after my session", "not_covered", [NOT_COVERED]),
                    Exchange("Does it hurt?", hurt, [answer(hurt)]),
                ],
            ),
            "web-3": (
                hours_ago(30),
                "webchat",
                [
                    Exchange("Can I swim after the needles?", "not_covered", [NOT_COVERED]),
                    Exchange("Is dry needling safe?", safe, [answer(safe)]),
                    Exchange("I want to talk to someone", "request_clinician", [HANDOFF]),
                ],
            ),
            "sms-1": (
                hours_ago(50),
                "twilio",
                [
                    Exchange("how much does a session cost", "nlu_fallback", [UNSURE]),
                    Exchange("what is the price of dry needling, call me at 403-555-0188", "nlu_fallback", [UNSURE]),
                ],
            ),
            "sms-2": (hours_ago(70), "twilio", [Exchange("I have chest pain and can't breathe", "urgent", [URGENT])]),
            "tg-1": (hours_ago(90), "telegram", [Exchange("What is dry needling?", what, [answer(what)])]),
        },
    )


def reply_times(saved: dict[str, list[Event]], sender: str, topic: str) -> float:
    """The timestamp of ``sender``'s reply answering ``topic`` (what the web chat sends as its reply_id)."""
    for event in saved[sender]:
        if isinstance(event, BotUttered) and (event.data.get("custom") or {}).get("topic") == topic:
            return event.timestamp
    raise KeyError(topic)
