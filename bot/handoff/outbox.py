"""The handoff outbox: notifications of new handoffs, queued in the record's own transaction and retried until delivered.

The store commits a record and its outbox rows together (transactional outbox), so a notification is never
lost while a receiver is down and never sent for a record that was rolled back. Each kind of notification
(webhook, e-mail, Chatwoot; see ``bot.handoff.notifier``) has its own row, so each is retried and kept
idempotent on its own. A row is claimed with a lease before it is sent, so two workers never send one row
at once; failures are rescheduled with exponential backoff, never dropped. Payloads are health data: logs
carry ids only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text, event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.config import ChatwootSettings, EmailSettings
from bot.handoff.chatwoot import ChatwootNotifier
from bot.handoff.mail import EmailNotifier
from bot.handoff.notifier import Delivery, Notifier, Outcome
from bot.handoff.store import HandoffRecord, UTCDateTime, _now, _utc, metadata
from bot.handoff.webhook import WebhookNotifier

if TYPE_CHECKING:
    from bot.handoff.store import HandoffStore

log = logging.getLogger(__name__)

BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0
# Longer than an attempt can take (Chatwoot: up to 5 calls of at most 5 s each), so two workers never send one row at once.
CLAIM_LEASE = timedelta(seconds=60)

outbox = Table(
    "handoff_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handoff_id", String(36), ForeignKey("handoffs.id"), nullable=False),
    Column("kind", String(16), nullable=False, server_default="webhook"),  # which notifier sends it
    Column("payload", Text, nullable=False),  # what the notifier sends (the webhook's exact signed bytes)
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("last_error", String(200)),
    Column("state", Text),  # JSON: what earlier attempts achieved, e.g. the Chatwoot conversation id
)
# Columns added since the first outbox (webhook only): name -> DDL type, for databases created before them.
_ADDED_COLUMNS = {"kind": "VARCHAR(16) NOT NULL DEFAULT 'webhook'", "state": "TEXT"}


class Outbox:
    """The outbox of one handoff store (``store.outbox``) and the notifiers it delivers through."""

    def __init__(self, store: HandoffStore, notifiers: Sequence[Notifier] = ()) -> None:
        self.store = store
        self.notifiers: dict[str, Notifier] = {notifier.kind: notifier for notifier in notifiers}

    @classmethod
    def configured(
        cls,
        store: HandoffStore,
        email: EmailSettings | None = None,
        chatwoot: ChatwootSettings | None = None,
    ) -> Outbox:
        """Webhook (the store's ``webhook_url``), e-mail and Chatwoot, each only when configured."""
        notifiers: list[Notifier] = []
        if store.webhook_url:
            notifiers.append(WebhookNotifier(store.webhook_url, store.webhook_secret, store.store_transcript))
        if email:
            notifiers.append(EmailNotifier(email))
        if chatwoot:
            notifiers.append(ChatwootNotifier(chatwoot, store.store_transcript))
        return cls(store, notifiers)

    def enqueue(self, conn: Connection, record: HandoffRecord) -> None:
        """Queue one row per notifier that applies to this new record, inside the transaction that inserts it."""
        for kind, notifier in self.notifiers.items():
            payload = notifier.payload(record)
            if payload is not None:
                conn.execute(
                    insert(outbox).values(
                        handoff_id=record.id,
                        kind=kind,
                        payload=payload,
                        created_at=record.created_at,
                        attempts=0,
                        next_attempt_at=record.created_at,
                    )
                )

    def pending(self, kind: str | None = None) -> int:
        """How many notifications (of one kind, or all) are still waiting for delivery."""
        query = select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
        if kind is not None:
            query = query.where(outbox.c.kind == kind)
        with self.store._transaction("outbox count") as conn:
            return conn.execute(query).scalar_one()

    def deliver(self, now: datetime | None = None, limit: int = 100) -> int:
        """Try every due notification once; return how many were delivered. Failures are rescheduled, never dropped."""
        if not self.notifiers:
            return 0
        now = _utc(now) if now else _now()
        with self.store._transaction("outbox read") as conn:
            due = conn.execute(
                select(outbox)
                .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now, outbox.c.kind.in_(list(self.notifiers)))
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        delivered = 0
        for row in due:
            if not self._claim(row.id, row.next_attempt_at, now):
                continue  # another worker took it
            outcome = self._attempt(row)
            values: dict[str, Any] = {"state": json.dumps(outcome.state, sort_keys=True) if outcome.state else None}
            if outcome.error is None:
                values |= {"delivered_at": now, "last_error": None}
            else:
                attempts = row.attempts + 1
                values |= {"attempts": attempts, "next_attempt_at": now + backoff(attempts), "last_error": outcome.error[:200]}
            with self.store._transaction("outbox update") as conn:
                conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))
            if outcome.error is None:
                delivered += 1
                log.info("handoff %s %s delivered", row.handoff_id, row.kind)
            else:
                log.warning("handoff %s %s failed (%s), attempt %d", row.handoff_id, row.kind, outcome.error, row.attempts + 1)
        return delivered

    def _attempt(self, row: Any) -> Outcome:
        delivery = Delivery(row.id, row.handoff_id, row.payload, json.loads(row.state) if row.state else {})
        try:
            return self.notifiers[row.kind].send(delivery)
        except Exception as exc:  # a notifier's bug must not stop the other rows; its type only (messages may hold data)
            return Outcome(type(exc).__name__, delivery.state)

    def _claim(self, outbox_id: int, seen_next: datetime, now: datetime) -> bool:
        """Lease a row by moving its next attempt forward, only if nobody else changed it since we read it."""
        with self.store._transaction("outbox claim") as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, outbox.c.next_attempt_at == seen_next, outbox.c.delivered_at.is_(None))
                .values(next_attempt_at=now + CLAIM_LEASE)
            )
            return result.rowcount == 1


class OutboxWorker:
    """Background delivery: every ``interval`` seconds and right after each create."""

    def __init__(self, store: HandoffStore, interval: float = 5.0) -> None:
        self.store = store
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        store.add_create_listener(self.wake)

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="handoff-outbox", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.store.outbox.deliver()
            except Exception:  # keep the thread alive through database outages; ids only in the log
                log.exception("handoff outbox pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts`` + 1: 5 s, 10 s, 20 s ... capped at one hour."""
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 20), BACKOFF_CAP))


@event.listens_for(metadata, "after_create")
def _add_columns(target: MetaData, connection: Connection, **kw: Any) -> None:
    """An outbox created before e-mail and Chatwoot notifications lacks ``kind`` and ``state``: add them (its rows are
    webhook rows). Runs after every ``create_all``; two processes racing both find the column in the end."""
    existing = {column["name"] for column in inspect(connection).get_columns(outbox.name)}
    for name, ddl in _ADDED_COLUMNS.items():
        if name in existing:
            continue
        if_not_exists = " IF NOT EXISTS" if connection.dialect.name == "postgresql" else ""
        try:
            connection.exec_driver_sql(f"ALTER TABLE {outbox.name} ADD COLUMN{if_not_exists} {name} {ddl}")
        except (OperationalError, ProgrammingError):
            if name not in {column["name"] for column in inspect(connection).get_columns(outbox.name)}:
                raise
        log.warning("table %s upgraded: column %s added", outbox.name, name)
