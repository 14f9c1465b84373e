"""What the outbox asks of each kind of notification (webhook, e-mail, Chatwoot).

A notifier turns a new handoff into the payload one outbox row keeps (or none, when that kind
does not apply to the record), and later tries to send such a row. Every kind has its own row,
so each is retried, and kept idempotent, on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.handoff.store import HandoffRecord


@dataclass(frozen=True)
class Delivery:
    """One due outbox row, as its notifier sees it."""

    id: int  # the outbox row: stable across retries (e-mail Message-ID)
    handoff_id: str
    payload: str = field(repr=False)  # may hold health data
    state: dict[str, Any] = field(default_factory=dict)  # what earlier attempts achieved (e.g. a Chatwoot conversation id)


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt: ``error`` is None when delivered, else short and free of payload data."""

    error: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # kept for the next attempt


class Notifier(Protocol):
    kind: str  # the outbox row's ``kind``

    def payload(self, record: HandoffRecord) -> str | None:
        """What the outbox keeps for this record, or None when this kind does not notify about it."""
        ...

    def send(self, delivery: Delivery) -> Outcome:
        """One attempt; must not raise for a failure it can name, must not log payload data."""
        ...
