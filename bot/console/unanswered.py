"""What the assistant could not answer: fallback turns, 'not covered' answers and answers rated unhelpful, grouped by meaning.

Clinicians see each group's size, why its questions went unanswered, examples in the visitors' words
(contact details masked) and the topic of an unhelpful answer, and mark a group handled once content
was added or a decision made. The visitors' words are health data: only roles that may read
transcripts see this page, and they never reach a log or the audit log (which records counts and a
group id). Grouping runs the sentence encoder (bot/nlu/encoder.py) off the event loop.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.analytics import unanswered as finding
from bot.console import audit
from bot.console.context import Context
from bot.console.insights import topic_label
from bot.console.pages import Pages, error
from bot.console.period import CHOICES, Period
from bot.console.roles import Permission

pages = Pages()
MAX_GROUPS = 50
MAX_KEYS = 2000  # questions one form may mark handled
KEY = re.compile(r"^[0-9a-f]{32}$")
GROUP_ID = re.compile(r"^[0-9a-f]{16}$")
SHOW = {"open": "Not yet handled", "handled": "Handled"}
DONE = {"1": "Group marked handled."}


@pages.get("/unanswered", Permission.VIEW_UNANSWERED, nav="Unanswered questions", order=60)
async def unanswered(request: web.Request, ctx: Context) -> web.StreamResponse:
    period = Period.parse(request.query, ctx.services.timezone)
    show = request.query.get("show", "open")
    show = show if show in SHOW else "open"
    analytics = ctx.services.analytics
    assert analytics is not None
    try:
        groups, handled = await asyncio.to_thread(_groups, analytics, period, show)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        ctx.audit(audit.UNANSWERED_VIEW, detail=f"days={period.days} show={show} failed")
        return _page(ctx, period, show, [], {}, status=503, error=type(exc).__name__)
    ctx.audit(audit.UNANSWERED_VIEW, detail=f"days={period.days} show={show} groups={len(groups)} questions={sum(g.count for g in groups)}")
    notice = DONE.get(request.query.get("done", ""), "")
    return _page(ctx, period, show, groups, handled, notice=notice)


def _groups(analytics: Any, period: Period, show: str) -> tuple[list[finding.Group], dict[str, finding.Handled]]:
    turns, ratings = analytics.period(period.since, period.until)
    items = finding.collect(turns, ratings)
    handled = analytics.handled.handled(i.key for i in items)
    items = [i for i in items if (i.key in handled) == (show == "handled")]
    return finding.group(items, analytics.encode)[:MAX_GROUPS], handled


def _page(
    ctx: Context,
    period: Period,
    show: str,
    groups: list[finding.Group],
    handled: dict[str, finding.Handled],
    status: int = 200,
    error: str = "",
    notice: str = "",
) -> web.Response:
    return ctx.render(
        "unanswered.html",
        status=status,
        period=period,
        choices=CHOICES,
        show=show,
        shows=SHOW,
        groups=groups,
        handled=handled,
        reason_labels=finding.REASON_LABELS,
        topic_label=topic_label,
        when=lambda ts: datetime.fromtimestamp(ts, UTC),
        error=error,
        notice=notice,
    )


@pages.post("/unanswered/handled", Permission.MARK_UNANSWERED)
async def mark_handled(request: web.Request, ctx: Context) -> web.StreamResponse:
    group_id = str(ctx.form.get("group", ""))
    keys = [str(k) for k in ctx.form.getall("key", [])][:MAX_KEYS]  # type: ignore[attr-defined]
    if not GROUP_ID.match(group_id) or not keys or not all(KEY.match(k) for k in keys):
        return error(ctx, 400, "Not a group of questions", "Nothing was marked. Go back, reload the page and try again.")
    analytics = ctx.services.analytics
    assert analytics is not None and ctx.account is not None
    marked = analytics.handled.mark(group_id, keys, ctx.account.username, ctx.account.id)
    ctx.audit(audit.UNANSWERED_HANDLED, group_id, f"{marked} of {len(keys)} questions marked handled")
    days = str(ctx.form.get("days", ""))
    back = f"/unanswered?done=1&days={days}" if days.isdigit() else "/unanswered?done=1"
    return web.Response(status=303, headers={"Location": back})
