"""The questions the assistant could not answer, grouped by meaning, so the clinic knows what content to add.

Three sources, all from the reply kinds stored with each bot reply (never from text matching):

- **fallback**: the assistant was unsure what was asked (reply ``unsure``, or the ``nlu_fallback`` intent);
- **not covered**: a recognised question the content does not answer (reply ``not_covered``, also as
  one of several questions answered at once);
- **unhelpful**: an answer a visitor marked with a thumbs down in the web chat (``feedback.py``).

Questions are grouped by similarity of their sentence vectors (``bot/nlu/encoder.py``; the subject itself,
'dry needling', neutralised): each joins the group whose centre is nearest, if at least ``THRESHOLD``
(cosine), else starts a new one. The visitor's
words are health data: contact details are masked before they are shown, and they are never logged.
A group marked handled records its questions' keys (a hash of time and text), so the same questions
stay handled and new ones asked later form a group again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.engine import Engine

from bot.analytics.conversations import Turn
from bot.analytics.feedback import Rating
from bot.console.storage import Tables, utcnow
from bot.handoff.store import UTCDateTime

THRESHOLD = 0.5  # all-MiniLM-L6-v2 cosine, subject neutralised: rewordings of a question score about 0.5-0.95, others mostly below 0.45
# Nearly every question names the assistant's subject, which makes different questions look alike ('Can I swim
# after dry needling?' and 'Is dry needling safe in pregnancy?' score 0.54); it is replaced by 'it' for grouping.
SUBJECT = re.compile(r"\b(?:dry[ -]?)?needl(?:ing|es?)\b", re.IGNORECASE)
EXAMPLES = 5
FALLBACK, NOT_COVERED, UNHELPFUL = "fallback", "not_covered", "unhelpful"
REASON_LABELS = {FALLBACK: "Not understood", NOT_COVERED: "Not covered", UNHELPFUL: "Marked unhelpful"}
Encode = Callable[[list[str]], NDArray[np.float32]]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w(])[+(]?\d[\d ().\-]{5,}\d(?!\w)")


def mask_contacts(text: str) -> str:
    """E-mail addresses, web addresses and phone-like numbers (7 digits or more) replaced by a placeholder."""
    text = _EMAIL.sub("[e-mail]", text)
    text = _URL.sub("[link]", text)
    return _PHONE.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)


@dataclass
class Item:
    """One unanswered question: ``key`` identifies it without the conversation."""

    key: str
    at: float
    text: str
    reasons: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)  # for an unhelpful answer: the topic it answered


@dataclass
class Group:
    items: list[Item]
    example: Item  # the question nearest the group's centre
    id: str = ""

    @property
    def count(self) -> int:
        return len(self.items)

    def reasons(self) -> dict[str, int]:
        counts = {reason: sum(reason in item.reasons for item in self.items) for reason in REASON_LABELS}
        return {reason: n for reason, n in counts.items() if n}

    def topics(self) -> list[str]:
        return sorted({topic for item in self.items for topic in item.topics})

    def examples(self, limit: int = EXAMPLES) -> list[Item]:
        """The central question first, then the most recent others, each wording once."""
        seen = {self.example.text.casefold()}
        out = [self.example]
        for item in sorted(self.items, key=lambda i: -i.at):
            if len(out) >= limit:
                break
            if item.text.casefold() not in seen:
                seen.add(item.text.casefold())
                out.append(item)
        return out

    @property
    def first_at(self) -> float:
        return min(i.at for i in self.items)

    @property
    def last_at(self) -> float:
        return max(i.at for i in self.items)

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.items]


def item_key(at: float, text: str) -> str:
    return hashlib.sha256(f"{at!r}\n{text}".encode()).hexdigest()[:32]


def collect(turns: Iterable[Turn], ratings: Iterable[Rating]) -> list[Item]:
    """Fallback and not-covered turns, and turns whose answer was rated unhelpful, oldest first."""
    items: dict[int, Item] = {}
    turns = list(turns)
    by_reply = {reply.at: turn for turn in turns for reply in turn.replies}

    def item(turn: Turn) -> Item:
        if id(turn) not in items:
            items[id(turn)] = Item(item_key(turn.at, turn.text), turn.at, mask_contacts(turn.text.strip()))
        return items[id(turn)]

    for turn in turns:
        if not _visitor_words(turn):
            continue
        if turn.fallback:
            item(turn).reasons.add(FALLBACK)
        if turn.not_covered:
            item(turn).reasons.add(NOT_COVERED)
    for rating in ratings:
        rated = by_reply.get(rating.reply_at)
        if rating.helpful or rated is None or not _visitor_words(rated):
            continue
        found = item(rated)
        found.reasons.add(UNHELPFUL)
        if rating.topic:
            found.topics.add(rating.topic)
    return sorted(items.values(), key=lambda i: i.at)


def _visitor_words(turn: Turn) -> bool:
    """Typed text: a button's payload (``/intent``) is not a question anyone wrote."""
    text = turn.text.strip()
    return bool(text) and not text.startswith("/")


def group(items: Sequence[Item], encode: Encode, threshold: float = THRESHOLD) -> list[Group]:
    """Items grouped by meaning (nearest centre, at least ``threshold``), largest group first, then most recent."""
    if not items:
        return []
    vectors = encode([SUBJECT.sub("it", i.text) for i in items])
    members: list[list[int]] = []
    sums: list[NDArray[np.float32]] = []
    for n, vector in enumerate(vectors):
        best, score = -1, threshold
        for g, total in enumerate(sums):
            similarity = float(vector @ (total / max(float(np.linalg.norm(total)), 1e-12)))
            if similarity >= score:
                best, score = g, similarity
        if best < 0:
            members.append([n])
            sums.append(vector.astype(np.float32).copy())
        else:
            members[best].append(n)
            sums[best] += vector
    groups = []
    for indices, total in zip(members, sums, strict=True):
        centre = total / max(float(np.linalg.norm(total)), 1e-12)
        nearest = max(indices, key=lambda i: float(vectors[i] @ centre))
        found = Group([items[i] for i in indices], items[nearest])
        found.id = hashlib.sha256(" ".join(sorted(found.keys)).encode()).hexdigest()[:16]
        groups.append(found)
    return sorted(groups, key=lambda g: (-g.count, -g.last_at))


# -- groups marked handled ----------------------------------------------------------------------

metadata = MetaData()
unanswered_handled = Table(
    "unanswered_handled",
    metadata,
    Column("item_key", String(32), primary_key=True),
    Column("group_id", String(16), nullable=False),
    Column("marked_at", UTCDateTime, nullable=False),
    Column("marked_by", String(64), nullable=False),
    Column("staff_id", Integer),
)


@dataclass(frozen=True)
class Handled:
    marked_at: datetime
    marked_by: str


class HandledStore:
    """Which questions staff have dealt with (keys only: no text), in the handoff database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tables = Tables(engine, metadata)

    def mark(self, group_id: str, keys: Iterable[str], by: str, staff_id: int | None = None) -> int:
        """Mark these questions handled; returns how many were not already."""
        self.tables.ensure()
        wanted = sorted(set(keys))
        now = utcnow()
        with self.engine.begin() as conn:
            known = set(conn.execute(select(unanswered_handled.c.item_key).where(unanswered_handled.c.item_key.in_(wanted))).scalars())
            rows = [
                {"item_key": k, "group_id": group_id, "marked_at": now, "marked_by": by[:64], "staff_id": staff_id}
                for k in wanted
                if k not in known
            ]
            if rows:
                conn.execute(insert(unanswered_handled), rows)
        return len(rows)

    def handled(self, keys: Iterable[str]) -> dict[str, Handled]:
        self.tables.ensure()
        wanted = list(set(keys))
        found: dict[str, Handled] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = select(unanswered_handled).where(unanswered_handled.c.item_key.in_(wanted[start : start + 500]))
                for row in conn.execute(query):
                    found[row.item_key] = Handled(row.marked_at, row.marked_by)
        return found
