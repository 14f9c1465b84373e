"""Insights over a period: conversations per day, topics asked, handoff, urgent and not-covered rates, channel mix.

Pure counting over turns (``conversations.py``) and ratings (``feedback.py``): no text is kept in the
result, only counts, so every role that may see insights sees no visitor's words.
A conversation counts on the day (clinic time) of its first message in the period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analytics.conversations import Turn
from bot.analytics.feedback import Rating

GREETING = "/greet"  # the chat page's welcome request, not a visitor's question


@dataclass(frozen=True)
class Rate:
    count: int
    of: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.count / self.of, 1) if self.of else 0.0


@dataclass(frozen=True)
class Insights:
    first_day: date
    last_day: date
    conversations: int
    questions: int
    per_day: list[tuple[date, int]]
    topics: list[tuple[str, int]]
    channels: list[tuple[str, int]]
    handoff: Rate
    urgent: Rate
    not_covered: Rate
    fallback: Rate
    helpful: Rate  # thumbs up among ratings
    ratings_by_topic: dict[str, tuple[int, int]] = field(default_factory=dict)  # topic -> (up, down)


def is_question(turn: Turn) -> bool:
    """A visitor's message or button (not the page's own welcome request)."""
    return bool(turn.text.strip()) and not turn.text.startswith(GREETING)


def compute(turns: Iterable[Turn], ratings: Iterable[Rating], first_day: date, last_day: date, zone: ZoneInfo) -> Insights:
    by_conversation: dict[str, list[Turn]] = {}
    for turn in turns:
        by_conversation.setdefault(turn.conversation, []).append(turn)
    per_day: Counter[date] = Counter()
    channels: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    questions = handoffs = urgent = not_covered = fallback = 0
    conversations = 0
    for conversation_turns in by_conversation.values():
        if not any(is_question(t) or t.topics() or t.urgent or t.handoff for t in conversation_turns):
            continue  # opened the chat, never asked
        conversations += 1
        first = conversation_turns[0]
        per_day[datetime.fromtimestamp(first.at, zone).date()] += 1
        channels[first.channel or "unknown"] += 1
        handoffs += any(t.handoff for t in conversation_turns)
        urgent += any(t.urgent for t in conversation_turns)
        for turn in conversation_turns:
            topics.update(turn.topics())
            if is_question(turn):
                questions += 1
                not_covered += turn.not_covered
                fallback += turn.fallback
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    up = down = 0
    by_topic: dict[str, tuple[int, int]] = {}
    for rating in ratings:
        up, down = up + rating.helpful, down + (not rating.helpful)
        if rating.topic:
            u, d = by_topic.get(rating.topic, (0, 0))
            by_topic[rating.topic] = (u + rating.helpful, d + (not rating.helpful))
    return Insights(
        first_day=first_day,
        last_day=last_day,
        conversations=conversations,
        questions=questions,
        per_day=[(d, per_day.get(d, 0)) for d in days],
        topics=topics.most_common(),
        channels=channels.most_common(),
        handoff=Rate(handoffs, conversations),
        urgent=Rate(urgent, conversations),
        not_covered=Rate(not_covered, questions),
        fallback=Rate(fallback, questions),
        helpful=Rate(up, up + down),
        ratings_by_topic=by_topic,
    )
