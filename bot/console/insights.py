"""Insights: conversations per day, topics asked, handoff, urgent and not-covered rates, channel mix (charts and tables).

Counts only, read from the tracker store (``bot/analytics/``): no visitor's words and no record, so
clinicians and admins may see them. Each view is audited. The charts are drawn by Chart.js (npm,
pinned in web/package.json, copied to static/ by ``npm run vendor``); each has its numbers in a table.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.analytics import insights as computing
from bot.console import audit
from bot.console.context import Context
from bot.console.inbox import channel_label
from bot.console.pages import Pages
from bot.console.period import CHOICES, Period
from bot.console.roles import Permission

pages = Pages()
TOP_TOPICS = 15


@lru_cache(maxsize=1)
def topic_titles() -> dict[str, str]:
    try:
        from bot.content.knowledge import get_knowledge_base

        return {intent: topic.title for intent, topic in get_knowledge_base().topics.items()}
    except Exception:  # the content cannot be read: the topic names still show
        return {}


def topic_label(topic: str) -> str:
    return topic_titles().get(topic) or topic.removeprefix("ask_").replace("_", " ").capitalize()


@pages.get("/insights", Permission.VIEW_INSIGHTS, nav="Insights", order=85)  # after Staff accounts: an admin still starts there
async def insights(request: web.Request, ctx: Context) -> web.StreamResponse:
    period = Period.parse(request.query, ctx.services.timezone)
    ctx.audit(audit.INSIGHTS_VIEW, detail=f"days={period.days}")
    analytics = ctx.services.analytics
    assert analytics is not None
    try:
        turns, ratings = await asyncio.to_thread(analytics.period, period.since, period.until)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        return ctx.render(
            "insights.html",
            status=503,
            period=period,
            choices=CHOICES,
            result=None,
            error=type(exc).__name__,
            charts={},
            topic_label=topic_label,
        )
    result = computing.compute(turns, ratings, period.first_day, period.last_day, ctx.services.timezone)
    return ctx.render(
        "insights.html", period=period, choices=CHOICES, result=result, error="", charts=charts(result), topic_label=topic_label
    )


def charts(result: computing.Insights) -> dict[str, Any]:
    """What the page's script draws (the same numbers as the tables)."""
    return {
        "per_day": {"labels": [d.strftime("%b %d") for d, _ in result.per_day], "values": [n for _, n in result.per_day]},
        "topics": {
            "labels": [topic_label(t) for t, _ in result.topics[:TOP_TOPICS]],
            "values": [n for _, n in result.topics[:TOP_TOPICS]],
        },
        "channels": {"labels": [channel_label(c) for c, _ in result.channels], "values": [n for _, n in result.channels]},
        "rates": {
            "labels": ["Handoff", "Urgent", "Not covered", "Not understood"],
            "values": [r.percent for r in (result.handoff, result.urgent, result.not_covered, result.fallback)],
        },
    }
