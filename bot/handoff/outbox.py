"""The handoff outbox: notifications of new handoffs, queued in the record's own transaction and retried until delivered.

The store commits a record and its outbox row together (transactional outbox), so a notification is never
lost while the receiver is down and never sent for a record that was rolled back. A row is claimed with a
lease before it is sent, so two workers never send one row at once; failures are rescheduled with
exponential backoff, never dropped. Payloads are health data: logs carry ids only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.handoff.store import HandoffRecord, UTCDateTime, _now, _utc, metadata

if TYPE_CHECKING:
    from bot.handoff.store import HandoffStore

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5.0
BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0
CLAIM_LEASE = timedelta(seconds=60)  # longer than a POST can take, so two workers never send one row at once
SIGNATURE_HEADER = "X-Handoff-Signature"

outbox = Table(
    "handoff_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handoff_id", String(36), ForeignKey("handoffs.id"), nullable=False),
    Column("payload", Text, nullable=False),  # the exact bytes that are signed and sent
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("last_error", String(200)),
)


class Outbox:
    """The webhook outbox of one handoff store (``store.outbox``)."""

    def __init__(self, store: HandoffStore) -> None:
        self.store = store
        if store.webhook_url and not store.webhook_url.startswith("https://"):
            log.warning("handoff webhook is not https: health data would travel unencrypted")

    def enqueue(self, conn: Connection, record: HandoffRecord) -> None:
        """Queue the notification of a new record, inside the transaction that inserts it."""
        if self.store.webhook_url:
            payload = json.dumps(record.as_dict(include_transcript=self.store.store_transcript), sort_keys=True)
            conn.execute(
                insert(outbox).values(
                    handoff_id=record.id,
                    payload=payload,
                    created_at=record.created_at,
                    attempts=0,
                    next_attempt_at=record.created_at,
                )
            )

    def pending(self) -> int:
        """How many webhook notifications are still waiting for delivery."""
        with self.store._transaction("outbox count") as conn:
            return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))).scalar_one()

    def deliver(self, now: datetime | None = None, limit: int = 100) -> int:
        """POST every due notification once; return how many were delivered. Failures are rescheduled, never dropped."""
        if not self.store.webhook_url:
            return 0
        now = _utc(now) if now else _now()
        with self.store._transaction("outbox read") as conn:
            due = conn.execute(
                select(outbox.c.id, outbox.c.handoff_id, outbox.c.payload, outbox.c.attempts, outbox.c.next_attempt_at)
                .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        delivered = 0
        for row in due:
            if not self._claim(row.id, row.next_attempt_at, now):
                continue  # another worker took it
            error = self._post(row.handoff_id, row.payload)
            with self.store._transaction("outbox update") as conn:
                if error is None:
                    conn.execute(update(outbox).where(outbox.c.id == row.id).values(delivered_at=now, last_error=None))
                else:
                    attempts = row.attempts + 1
                    conn.execute(
                        update(outbox)
                        .where(outbox.c.id == row.id)
                        .values(attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=error)
                    )
            if error is None:
                delivered += 1
                log.info("handoff %s webhook delivered", row.handoff_id)
            else:
                log.warning("handoff %s webhook failed (%s), attempt %d", row.handoff_id, error, row.attempts + 1)
        return delivered

    def _claim(self, outbox_id: int, seen_next: datetime, now: datetime) -> bool:
        """Lease a row by moving its next attempt forward, only if nobody else changed it since we read it."""
        with self.store._transaction("outbox claim") as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, outbox.c.next_attempt_at == seen_next, outbox.c.delivered_at.is_(None))
                .values(next_attempt_at=now + CLAIM_LEASE)
            )
            return result.rowcount == 1

    def _post(self, handoff_id: str, payload: str) -> str | None:
        """Send one notification; return None on 2xx, else a short error without any payload data."""
        body = payload.encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": handoff_id}
        if self.store.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(body, self.store.webhook_secret)
        try:
            response = requests.post(str(self.store.webhook_url), data=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
        except requests.RequestException as exc:
            return type(exc).__name__
        return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


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


def sign(body: bytes, secret: str) -> str:
    """HMAC-SHA256 of the exact request body, as ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
