"""The inbox: handoffs and urgent records, filtered; one record in full; its status and note; a CSV export.

What a page shows depends on the role: the front desk sees how to reach the visitor and why,
clinicians also the conditions (red flags for urgent records) and the transcript when one was
stored. Every record shown, in the list, in full or in an export, gets an audit entry with its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from aiohttp import web

from bot.console import audit
from bot.console.context import Context
from bot.console.pages import Pages
from bot.console.roles import Permission
from bot.console.spreadsheet import csv_text
from bot.handoff.store import MAX_NOTE_CHARS, OPEN, OPEN_STATUSES, REASONS, STATUSES, URGENT, HandoffNotFound, HandoffRecord
from bot.safety.lexicon import all_groups

pages = Pages()

LIST_LIMIT = 200
RECORD_ID = "{handoff_id:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}}"
STATUS_LABELS = {"new": "New", "contacted": "Contacted", "resolved": "Resolved"}
STATUS_FILTERS = {OPEN: "Open (new or contacted)", **STATUS_LABELS, "all": "All"}
REASON_LABELS = {
    "urgent": "Urgent: red-flag symptom",
    "contraindication": "Clinician review: condition disclosed",
    "clinician_request": "Asked to talk to a clinician",
}
KIND_FILTERS = {"all": "Urgent records and handoffs", "urgent": "Urgent records only", "handoff": "Handoffs only"}
CHANNEL_LABELS = {
    "webchat": "Website chat",
    "rest": "REST",
    "twilio": "SMS",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "messenger": "Messenger",
}
SAVED = {"1": "Saved."}


@lru_cache(maxsize=1)
def condition_labels() -> dict[str, str]:
    return {key: group.label for key, group in all_groups().items()}


def condition_label(key: str) -> str:
    return condition_labels().get(key, key.replace("_", " "))


def channel_label(channel: str | None) -> str:
    if not channel:
        return "Not recorded"
    return CHANNEL_LABELS.get(channel, channel.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Filters:
    """The inbox's filters from the query string; anything invalid falls back to the default, with a message."""

    status: str = OPEN
    kind: str = "all"
    reason: str = ""
    text: str = ""
    since: date | None = None
    until: date | None = None
    problems: tuple[str, ...] = ()

    @classmethod
    def parse(cls, query: Any) -> Filters:
        problems: list[str] = []
        status = query.get("status", OPEN)
        if status not in STATUS_FILTERS:
            status, problems = OPEN, [*problems, "Unknown status: showing open records."]
        kind = query.get("kind", "all")
        kind = kind if kind in KIND_FILTERS else "all"
        reason = query.get("reason", "")
        reason = reason if reason in REASONS else ""
        dates = []
        for key in ("from", "to"):
            raw = query.get(key, "").strip()
            try:
                dates.append(date.fromisoformat(raw) if raw else None)
            except ValueError:
                dates.append(None)
                problems.append(f"'{key}' is not a date (YYYY-MM-DD): ignored.")
        return cls(status, kind, reason, query.get("q", "").strip()[:100], dates[0], dates[1], tuple(problems))

    def query(self) -> dict[str, str]:
        values = {"status": self.status, "kind": self.kind, "reason": self.reason, "q": self.text}
        values |= {"from": self.since.isoformat() if self.since else "", "to": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in values.items() if v}

    def described(self) -> str:
        """For the audit log: which filters were used, never the search text (it may be a name)."""
        parts = [f"status={self.status}", f"kind={self.kind}"]
        parts += [f"reason={self.reason}"] if self.reason else []
        parts += ["search"] if self.text else []
        parts += [f"from={self.since}"] if self.since else []
        parts += [f"to={self.until}"] if self.until else []
        return " ".join(parts)


def find(ctx: Context, filters: Filters, limit: int | None) -> list[HandoffRecord]:
    statuses = STATUSES if filters.status == "all" else OPEN_STATUSES if filters.status == OPEN else (filters.status,)
    reasons: tuple[str, ...] = (filters.reason,) if filters.reason else ()
    if filters.kind == "urgent":
        reasons = (URGENT,) if not reasons or URGENT in reasons else ("-",)
    elif filters.kind == "handoff":
        reasons = tuple(r for r in (reasons or REASONS) if r != URGENT) or ("-",)
    if reasons == ("-",):
        return []
    zone = ctx.services.timezone
    since = datetime.combine(filters.since, time(), zone) if filters.since else None
    until = datetime.combine(filters.until + timedelta(days=1), time(), zone) if filters.until else None
    return ctx.services.handoffs.find(statuses, reasons, since, until, filters.text or None, limit=limit)


@pages.get("/inbox", Permission.VIEW_HANDOFFS, nav="Inbox", order=10)
async def inbox(request: web.Request, ctx: Context) -> web.StreamResponse:
    filters = Filters.parse(request.query)
    records = find(ctx, filters, LIST_LIMIT + 1)
    shown = records[:LIST_LIMIT]
    ctx.services.audit.append_many(audit.INBOX_VIEW, ctx.actor, [r.id for r in shown], detail=filters.described())
    return ctx.render(
        "inbox.html",
        records=shown,
        more=len(records) > LIST_LIMIT,
        limit=LIST_LIMIT,
        filters=filters,
        counts=ctx.services.handoffs.count_by_status(),
        export_query=filters.query(),
        **labels(),
    )


@pages.get("/inbox/export.csv", Permission.EXPORT_HANDOFFS)
async def export(request: web.Request, ctx: Context) -> web.StreamResponse:
    filters = Filters.parse(request.query)
    records = find(ctx, filters, None)
    clinical = ctx.can(Permission.VIEW_CLINICAL)
    ctx.services.audit.append_many(audit.EXPORT, ctx.actor, [r.id for r in records], detail=f"csv; {filters.described()}")
    stamp = datetime.now(ctx.services.timezone).strftime("%Y%m%d-%H%M")
    return web.Response(
        body=export_csv(records, clinical, ctx).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="handoffs-{stamp}.csv"'},
    )


def export_csv(records: list[HandoffRecord], clinical: bool, ctx: Context) -> str:
    """The columns the role may see; spreadsheet formulas in typed text are defused."""
    columns = ["id", "received", "reason", "status", "name", "contact", "channel", "consent_at", "note", "updated_by", "updated_at"]
    if clinical:
        columns.insert(3, "conditions")
    local = ctx.services.templates.filters["local"]
    rows = []
    for r in records:
        values = {
            "id": r.id,
            "received": local(r.created_at),
            "reason": r.reason,
            "conditions": "; ".join(condition_label(c) for c in r.conditions),
            "status": r.status,
            "name": r.name,
            "contact": r.contact,
            "channel": r.channel,
            "consent_at": local(r.consent_at),
            "note": r.note,
            "updated_by": r.updated_by,
            "updated_at": local(r.updated_at),
        }
        rows.append([values[c] for c in columns])
    return csv_text(columns, rows)


@pages.get(f"/inbox/{RECORD_ID}", Permission.VIEW_HANDOFFS)
async def record(request: web.Request, ctx: Context) -> web.StreamResponse:
    handoff_id = request.match_info["handoff_id"]
    found = ctx.services.handoffs.get(handoff_id)
    if found is None:
        raise web.HTTPNotFound()
    ctx.audit(audit.RECORD_VIEW, found.id)
    return record_page(ctx, found, notice=SAVED.get(request.query.get("saved", ""), ""))


def record_page(ctx: Context, found: HandoffRecord, notice: str = "", error: str = "", status: int = 200) -> web.Response:
    transcript = found.transcript if isinstance(found.transcript, list) else None
    return ctx.render(
        "record.html",
        status=status,
        record=found,
        transcript=transcript,
        history=ctx.services.audit.history(found.id),
        notice=notice,
        error=error,
        max_note=MAX_NOTE_CHARS,
        **labels(),
    )


@pages.post(f"/inbox/{RECORD_ID}/status", Permission.UPDATE_HANDOFFS)
async def change_status(request: web.Request, ctx: Context) -> web.StreamResponse:
    handoff_id = request.match_info["handoff_id"]
    status = str(ctx.form.get("status", ""))
    note = str(ctx.form.get("note", "")).replace("\r\n", "\n")
    found = ctx.services.handoffs.get(handoff_id)
    if found is None:
        raise web.HTTPNotFound()
    if status not in STATUSES or len(note.strip()) > MAX_NOTE_CHARS:
        error = "Choose a status." if status not in STATUSES else f"A note is at most {MAX_NOTE_CHARS} characters."
        return record_page(ctx, found, error=error, status=400)

    def record_it(conn: Any, change: Any) -> None:
        if change.status_changed:
            ctx.audit(audit.STATUS_CHANGE, handoff_id, f"{change.before.status} -> {change.after.status}", conn=conn)
        if change.note_changed:
            ctx.audit(audit.NOTE_CHANGE, handoff_id, "note cleared" if not change.after.note else "note changed", conn=conn)

    try:
        assert ctx.account is not None
        ctx.services.handoffs.set_status(handoff_id, status, by=ctx.account.username, note=note, within=record_it)  # type: ignore[arg-type]
    except HandoffNotFound:
        raise web.HTTPNotFound() from None
    return web.Response(status=303, headers={"Location": f"/inbox/{handoff_id}?saved=1"})


def labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "status_filters": STATUS_FILTERS,
        "reason_labels": REASON_LABELS,
        "kind_filters": KIND_FILTERS,
        "condition_label": condition_label,
        "channel_label": channel_label,
    }
