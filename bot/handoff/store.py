"""Clinician handoffs: a durable record of every visitor the assistant hands to a clinician.

The assistant promises a clinician will follow up, so the record is committed before
the visitor is told so, and its notifications are queued in the same transaction
(transactional outbox, ``bot/handoff/outbox.py``) so that they are retried until delivered rather than lost.
These records are health data: logs carry ids only, never names, contacts or transcripts.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import typing
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from bot.config import EMBEDDED_HANDOFF_DB, ChatwootSettings, EmailSettings, load_settings
from bot.handoff import migrate
from bot.handoff.contact import Contact, parse_contact
from bot.persistence import database

log = logging.getLogger(__name__)

Reason = Literal["contraindication", "clinician_request", "urgent"]
# new: nobody has acted yet; contacted: staff reached (or tried to reach) the visitor; resolved: done.
Status = Literal["new", "contacted", "resolved"]
CONTRAINDICATION: Reason = "contraindication"  # a disclosed condition
CLINICIAN_REQUEST: Reason = "clinician_request"  # the visitor asked for a clinician
URGENT: Reason = "urgent"  # a red flag (no name or contact)
REASONS: tuple[str, ...] = typing.get_args(Reason)
STATUSES: tuple[str, ...] = typing.get_args(Status)
OPEN_STATUSES: tuple[str, ...] = ("new", "contacted")  # not resolved yet
OPEN = "open"  # a filter (new or contacted), and the status every unresolved record had before "new" / "contacted"
DEFAULT_DB = EMBEDDED_HANDOFF_DB
MAX_NOTE_CHARS = 2000
StatusFilter = Literal["new", "contacted", "resolved", "open"]


@dataclass(frozen=True)
class StatusChange:
    """A handoff before and after a staff action."""

    before: HandoffRecord
    after: HandoffRecord

    @property
    def status_changed(self) -> bool:
        return self.before.status != self.after.status

    @property
    def note_changed(self) -> bool:
        return self.before.note != self.after.note


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
    Column("channel", String(64)),  # where the visitor wrote from (webchat, rest, twilio, ...)
    Column("note", Text),  # the staff note (who wrote it and when: updated_by / updated_at and the audit log)
    Column("updated_at", UTCDateTime),  # the last status or note change by staff
    Column("updated_by", String(64)),  # the staff account (or "cli:<user>") that made it
    CheckConstraint("reason IN ('contraindication', 'clinician_request', 'urgent')", name="ck_handoffs_reason"),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="ck_handoffs_status"),
    CheckConstraint("contact_kind IS NULL OR contact_kind IN ('phone', 'email')", name="ck_handoffs_contact_kind"),
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
    status: Status = "new"
    resolved_at: datetime | None = None
    transcript: Any = field(default=None, repr=False)
    channel: str | None = None
    note: str | None = field(default=None, repr=False)
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def urgent(self) -> bool:
        return self.reason == URGENT

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
        email: EmailSettings | None = None,
        chatwoot: ChatwootSettings | None = None,
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
        from bot.handoff.outbox import Outbox  # outbox.py builds on this module's tables, so it cannot be imported at the top

        self.outbox = Outbox.configured(self, email=email, chatwoot=chatwoot)

    @classmethod
    def from_env(cls) -> HandoffStore:
        """Configure from HANDOFF_DATABASE_URL (or STORES=production), HANDOFF_WEBHOOK_URL, HANDOFF_WEBHOOK_SECRET,
        HANDOFF_STORE_TRANSCRIPT, and the e-mail (HANDOFF_EMAIL_*, SMTP_*) and Chatwoot (CHATWOOT_*) settings."""
        settings = load_settings()  # read now: a command line may run with its own environment
        return cls(
            url=settings.stores.handoff_database_url(),
            webhook_url=settings.handoff.webhook_url,
            store_transcript=settings.handoff.store_transcript,
            webhook_secret=settings.handoff.webhook_secret,
            email=settings.handoff.email,
            chatwoot=settings.handoff.chatwoot,
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
        channel: str | None = None,
    ) -> HandoffRecord:
        """Commit a new handoff (status "new", and its webhook outbox row) or raise HandoffStoreError.

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
            channel=(channel or None) and str(channel)[:64],
        )
        with self._transaction("create") as conn:
            conn.execute(insert(handoffs).values(**asdict(record)))
            self.outbox.enqueue(conn, record)
        log.info("handoff %s created", record.id)
        for callback in self._listeners:
            callback()
        return record

    def get(self, handoff_id: str) -> HandoffRecord | None:
        """The handoff with this id, or None."""
        with self._transaction("get") as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).mappings().first()
        return _record(row) if row else None

    def find(
        self,
        statuses: Iterable[str] = (),
        reasons: Iterable[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[HandoffRecord]:
        """Handoffs matching every filter given: statuses, reasons, created in [since, until), and ``text`` in the
        name, contact or conversation id (case-insensitive; digits of a phone number match however it is typed)."""
        statuses, reasons = list(statuses), list(reasons)
        if unknown := set(statuses) - set(STATUSES):
            raise ValueError(f"unknown status {sorted(unknown)}; statuses are {STATUSES}")
        if unknown := set(reasons) - set(REASONS):
            raise ValueError(f"unknown reason {sorted(unknown)}; reasons are {REASONS}")
        order = (handoffs.c.created_at.desc(), handoffs.c.id.desc()) if newest_first else (handoffs.c.created_at, handoffs.c.id)
        query = select(handoffs).order_by(*order)
        if statuses:
            query = query.where(handoffs.c.status.in_(statuses))
        if reasons:
            query = query.where(handoffs.c.reason.in_(reasons))
        if since is not None:
            query = query.where(handoffs.c.created_at >= _utc(since))
        if until is not None:
            query = query.where(handoffs.c.created_at < _utc(until))
        if text and text.strip():
            query = query.where(_text_match(text.strip()))
        if limit is not None:
            query = query.limit(limit)
        with self._transaction("find") as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def list(self, status: StatusFilter | None = None) -> list[HandoffRecord]:
        """Handoffs oldest first, optionally of one status, or ``open`` (new or contacted) ones."""
        if status is not None and status not in (*STATUSES, OPEN):
            raise ValueError(f"status must be one of {(*STATUSES, OPEN)}")
        return self.find(statuses=_statuses(status) if status else (), newest_first=False)

    def count_by_status(self) -> dict[str, int]:
        """How many handoffs have each status (every status present, 0 when none)."""
        with self._transaction("count") as conn:
            rows = conn.execute(select(handoffs.c.status, func.count()).group_by(handoffs.c.status)).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: count for status, count in rows})
        return counts

    def set_status(
        self,
        handoff_id: str,
        status: Status,
        by: str,
        note: str | None = None,
        within: Callable[[Connection, StatusChange], None] | None = None,
    ) -> StatusChange:
        """Set a handoff's status and, unless ``note`` is None, its note ("" clears it), recording who (``by``) and when.

        A change to the same status and note changes nothing (the first resolution time is kept). When something
        changed, ``within(conn, change)`` runs in the same transaction, so the change and its audit entry commit
        together or not at all.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        if not by:
            raise ValueError("who changes the status (by) is required")
        if note is not None:
            note = note.strip()
            if len(note) > MAX_NOTE_CHARS:
                raise ValueError(f"a note is at most {MAX_NOTE_CHARS} characters")
        with self._transaction("status") as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id).with_for_update()).mappings().first()
            if row is None:
                raise HandoffNotFound(handoff_id)
            before = _record(row)
            values: dict[str, Any] = {}
            if status != before.status:
                values |= {"status": status, "resolved_at": _now() if status == "resolved" else None}
            if note is not None and note != (before.note or ""):
                values["note"] = note or None
            if values:
                values |= {"updated_at": _now(), "updated_by": by[:64]}
                conn.execute(update(handoffs).where(handoffs.c.id == handoff_id).values(**values))
            change = StatusChange(before, replace(before, **values))
            if values and within is not None:
                within(conn, change)
        if change.status_changed:
            log.info("handoff %s %s -> %s", handoff_id, before.status, status)
        return change

    def resolve(self, handoff_id: str, by: str = "cli") -> HandoffRecord:
        """Mark a handoff resolved (idempotent: the first resolution time is kept)."""
        return self.set_status(handoff_id, "resolved", by).after

    def export(self, fmt: Literal["csv", "json"] = "csv", status: StatusFilter | None = None) -> str:
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

    # -- outbox (bot/handoff/outbox.py) ----------------------------------------------------

    def outbox_pending(self) -> int:
        """How many notifications are still waiting for delivery."""
        return self.outbox.pending()

    def deliver_outbox(self, now: datetime | None = None, limit: int = 100) -> int:
        """One delivery pass over the due notifications; how many were delivered."""
        return self.outbox.deliver(now, limit)

    # -- plumbing ----------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        """Create tables on first use, so the bot starts (and can apologise) while the database is down."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                metadata.create_all(self.engine)
                migrate.upgrade(self.engine, handoffs, new_status="new")  # databases from before "new" / "contacted"
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


def _statuses(status: str) -> tuple[str, ...]:
    return OPEN_STATUSES if status == OPEN else (status,)


def _text_match(text: str) -> Any:
    """Name, contact or conversation id contains ``text``; a phone number also matches by its digits."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    clauses = [column.ilike(pattern, escape="\\") for column in (handoffs.c.name, handoffs.c.contact, handoffs.c.conversation_id)]
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 4 and len(digits) >= len(text.replace(" ", "")) // 2:
        clauses.append(handoffs.c.contact.like(f"%{digits}%"))
    return or_(*clauses)


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
