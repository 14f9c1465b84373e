"""Clinician handoffs: a durable record of every visitor the assistant hands to a clinician.

The assistant promises a clinician will follow up, so the record is committed before
the visitor is told so, and a webhook notification is queued in the same transaction
(transactional outbox) so that it is retried until delivered rather than lost.
These records are health data: logs carry ids only, never names, contacts or transcripts.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import logging
import threading
import typing
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import requests
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from bot.config import EMBEDDED_HANDOFF_DB, load_settings
from bot.handoff.contact import Contact, parse_contact
from bot.persistence import database

log = logging.getLogger(__name__)

Reason = Literal["contraindication", "clinician_request", "urgent"]
Status = Literal["open", "resolved"]
CONTRAINDICATION: Reason = "contraindication"  # a disclosed condition
CLINICIAN_REQUEST: Reason = "clinician_request"  # the visitor asked for a clinician
URGENT: Reason = "urgent"  # a red flag (no name or contact)
REASONS: tuple[str, ...] = typing.get_args(Reason)
STATUSES: tuple[str, ...] = ("open", "resolved")
DEFAULT_DB = EMBEDDED_HANDOFF_DB
WEBHOOK_TIMEOUT = 5.0
BACKOFF_BASE = 5.0
BACKOFF_CAP = 3600.0
CLAIM_LEASE = timedelta(seconds=60)  # longer than a POST can take, so two workers never send one row at once
SIGNATURE_HEADER = "X-Handoff-Signature"


class HandoffStoreError(RuntimeError):
    """The handoff database could not be read or written; nothing was half-written."""


class HandoffNotFound(LookupError):
    """No handoff with that id."""


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset, PostgreSQL converts it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()
handoffs = Table(
    "handoffs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("conversation_id", String(255), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("conditions", JSON, nullable=False),
    Column("name", Text),
    Column("contact", String(254)),
    Column("contact_kind", String(8)),
    Column("consent_at", UTCDateTime),
    Column("status", String(16), nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("transcript", JSON(none_as_null=True)),
    CheckConstraint("reason IN ('contraindication', 'clinician_request', 'urgent')", name="ck_handoffs_reason"),
    CheckConstraint("status IN ('open', 'resolved')", name="ck_handoffs_status"),
    CheckConstraint("contact_kind IS NULL OR contact_kind IN ('phone', 'email')", name="ck_handoffs_contact_kind"),
)
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


@dataclass(frozen=True)
class HandoffRecord:
    """One handoff; personal fields are left out of repr so a stray log line cannot leak them."""

    id: str
    created_at: datetime
    conversation_id: str
    reason: Reason
    conditions: list[str]
    name: str | None = field(default=None, repr=False)
    contact: str | None = field(default=None, repr=False)
    contact_kind: str | None = None
    consent_at: datetime | None = None
    status: Status = "open"
    resolved_at: datetime | None = None
    transcript: Any = field(default=None, repr=False)

    def as_dict(self, include_transcript: bool = True) -> dict[str, Any]:
        """JSON-ready dict with ISO 8601 UTC timestamps."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        if not include_transcript:
            data.pop("transcript")
        return data


class HandoffStore:
    """SQLite (default ``var/handoffs.db`` under the project root) or any SQLAlchemy URL, e.g. PostgreSQL."""

    def __init__(
        self,
        url: str | None = None,
        webhook_url: str | None = None,
        store_transcript: bool = False,
        webhook_secret: str | None = None,
    ) -> None:
        resolved = database.resolve(url or f"sqlite:///{DEFAULT_DB}", create_dir=True)
        connect_args = {"connect_timeout": 5} if resolved.drivername.startswith("postgresql") else {}
        # hide_parameters: database errors must not carry names or contacts into logs.
        self.engine: Engine = create_engine(resolved, future=True, hide_parameters=True, pool_pre_ping=True, connect_args=connect_args)
        self.webhook_url = webhook_url or None
        self.webhook_secret = webhook_secret or None
        self.store_transcript = store_transcript
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        if self.webhook_url and not self.webhook_url.startswith("https://"):
            log.warning("handoff webhook is not https: health data would travel unencrypted")

    @classmethod
    def from_env(cls) -> HandoffStore:
        """Configure from HANDOFF_DATABASE_URL (or STORES=production), HANDOFF_WEBHOOK_URL, HANDOFF_WEBHOOK_SECRET,
        HANDOFF_STORE_TRANSCRIPT."""
        settings = load_settings()  # read now: a command line may run with its own environment
        return cls(
            url=settings.stores.handoff_database_url(),
            webhook_url=settings.handoff.webhook_url,
            store_transcript=settings.handoff.store_transcript,
            webhook_secret=settings.handoff.webhook_secret,
        )

    def add_create_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each committed create (how OutboxWorker wakes up at once)."""
        self._listeners.append(callback)

    # -- records -----------------------------------------------------------------------

    def create(
        self,
        conversation_id: str,
        reason: Reason,
        conditions: Iterable[str] = (),
        name: str | None = None,
        contact: Contact | str | None = None,
        consent_at: datetime | None = None,
        transcript: Any = None,
    ) -> HandoffRecord:
        """Commit a new open handoff (and its webhook outbox row) or raise HandoffStoreError.

        A contact given as text must pass ``parse_contact``; a name or contact needs ``consent_at``.
        """
        if not conversation_id:
            raise ValueError("conversation_id is required")
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}")
        conditions = [conditions] if isinstance(conditions, str) else [str(c) for c in conditions]
        if isinstance(contact, str):
            parsed = parse_contact(contact)
            if parsed is None:
                raise ValueError("contact is not a valid phone number or email address")
            contact = parsed
        if (name or contact) and consent_at is None:
            raise ValueError("a name or contact may only be stored with consent_at")
        record = HandoffRecord(
            id=str(uuid.uuid4()),
            created_at=_now(),
            conversation_id=conversation_id,
            reason=reason,
            conditions=conditions,
            name=name or None,
            contact=contact.value if contact else None,
            contact_kind=contact.kind if contact else None,
            consent_at=_utc(consent_at) if consent_at else None,
            transcript=transcript if self.store_transcript else None,
        )
        with self._transaction("create") as conn:
            conn.execute(insert(handoffs).values(**asdict(record)))
            if self.webhook_url:
                payload = json.dumps(record.as_dict(include_transcript=self.store_transcript), sort_keys=True)
                conn.execute(
                    insert(outbox).values(
                        handoff_id=record.id,
                        payload=payload,
                        created_at=record.created_at,
                        attempts=0,
                        next_attempt_at=record.created_at,
                    )
                )
        log.info("handoff %s created", record.id)
        for callback in self._listeners:
            callback()
        return record

    def get(self, handoff_id: str) -> HandoffRecord | None:
        """The handoff with this id, or None."""
        with self._transaction("get") as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).mappings().first()
        return _record(row) if row else None

    def list(self, status: Status | None = None) -> list[HandoffRecord]:
        """Handoffs oldest first, optionally only ``open`` or ``resolved`` ones."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        query = select(handoffs).order_by(handoffs.c.created_at, handoffs.c.id)
        if status:
            query = query.where(handoffs.c.status == status)
        with self._transaction("list") as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def resolve(self, handoff_id: str) -> HandoffRecord:
        """Mark a handoff resolved (idempotent: the first resolution time is kept)."""
        with self._transaction("resolve") as conn:
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff_id, handoffs.c.status == "open")
                .values(status="resolved", resolved_at=_now())
            )
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).mappings().first()
        if row is None:
            raise HandoffNotFound(handoff_id)
        log.info("handoff %s resolved", handoff_id)
        return _record(row)

    def export(self, fmt: Literal["csv", "json"] = "csv", status: Status | None = None) -> str:
        """All handoffs as CSV (spreadsheet-safe) or a JSON array."""
        records = self.list(status)
        if fmt == "json":
            return json.dumps([r.as_dict(self.store_transcript) for r in records], indent=2, ensure_ascii=False) + "\n"
        if fmt != "csv":
            raise ValueError("fmt must be 'csv' or 'json'")
        columns = [c.name for c in handoffs.columns if c.name != "transcript" or self.store_transcript]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for record in records:
            data = record.as_dict()
            writer.writerow([_csv_cell(key, data[key], record) for key in columns])
        return buffer.getvalue()

    # -- webhook outbox ----------------------------------------------------------------

    def outbox_pending(self) -> int:
        """How many webhook notifications are still waiting for delivery."""
        with self._transaction("outbox count") as conn:
            return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))).scalar_one()

    def deliver_outbox(self, now: datetime | None = None, limit: int = 100) -> int:
        """POST every due notification once; return how many were delivered. Failures are rescheduled, never dropped."""
        if not self.webhook_url:
            return 0
        now = _utc(now) if now else _now()
        with self._transaction("outbox read") as conn:
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
            with self._transaction("outbox update") as conn:
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
        with self._transaction("outbox claim") as conn:
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
        if self.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(body, self.webhook_secret)
        try:
            response = requests.post(str(self.webhook_url), data=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
        except requests.RequestException as exc:
            return type(exc).__name__
        return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"

    # -- plumbing ----------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        """Create tables on first use, so the bot starts (and can apologise) while the database is down."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                metadata.create_all(self.engine)
                self._schema_ready = True

    def _transaction(self, what: str) -> _Transaction:
        return _Transaction(self, what)


class _Transaction:
    """``engine.begin()`` that turns any database failure into HandoffStoreError after rolling back."""

    def __init__(self, store: HandoffStore, what: str) -> None:
        self.store, self.what = store, what
        self._cm: Any = None

    def __enter__(self) -> Connection:
        try:
            self.store._ensure_schema()
            self._cm = self.store.engine.begin()
            return self._cm.__enter__()
        except SQLAlchemyError as exc:
            raise HandoffStoreError(f"handoff database unavailable ({self.what}): {type(exc).__name__}") from exc

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        try:
            self._cm.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as commit_error:
            raise HandoffStoreError(f"handoff database error ({self.what}): {type(commit_error).__name__}") from commit_error
        if isinstance(exc, SQLAlchemyError):
            raise HandoffStoreError(f"handoff database error ({self.what}): {type(exc).__name__}") from exc
        return False


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
                self.store.deliver_outbox()
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


def _record(row: Any) -> HandoffRecord:
    return HandoffRecord(**{column.name: row[column.name] for column in handoffs.columns})


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware (UTC)")
    return value.astimezone(UTC)


def _csv_cell(key: str, value: Any, record: HandoffRecord) -> str:
    """Flatten lists and defuse spreadsheet formulas in visitor-typed text (validated phones are digits)."""
    if value is None:
        return ""
    if (isinstance(value, Sequence) and not isinstance(value, str)) or isinstance(value, dict):
        value = "; ".join(value) if key == "conditions" else json.dumps(value, ensure_ascii=False)
    text = str(value)
    if key == "contact" and record.contact_kind == "phone":
        return text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
