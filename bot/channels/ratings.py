"""The web chat's thumbs up/down: the socket.io ``feedback`` event, checked against the rater's own conversation.

The visitor's page sends ``{reply_id, helpful}``; the conversation is the socket's room (its session),
never a value from the page, so a rating can only name a reply the visitor received. The rating is
stored by ``bot/analytics/feedback.py`` without the conversation id or the address; the page gets
``feedback_saved`` with ``{reply_id, ok}``. Nothing about the rating is logged but its failure type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from socketio import AsyncServer

from bot.analytics.feedback import FeedbackStore, RateLimiter, parse_reference, rating_for
from bot.config import get_settings

logger = logging.getLogger(__name__)

RESULT_EVENT = "feedback_saved"


def default_store() -> FeedbackStore:
    return FeedbackStore(get_settings().stores.handoff_database_url())


def register(sio: AsyncServer, store_factory: Callable[[], FeedbackStore] = default_store) -> None:
    """Handle ``feedback`` on ``sio`` (the Rasa server's agent, from the socket's request, reads the conversation)."""
    limiter = RateLimiter()
    stores: list[FeedbackStore] = []

    @sio.on("feedback")
    async def feedback(sid: str, data: Any) -> None:
        reply_id = data.get("reply_id") if isinstance(data, dict) else None
        ok = False
        try:
            ok = await _rate(sio, sid, data, limiter, stores, store_factory)
        except Exception as exc:  # the chat goes on; never log what was rated
            logger.error("a rating could not be stored (%s)", type(exc).__name__)
        await sio.emit(RESULT_EVENT, {"reply_id": reply_id if isinstance(reply_id, str) else None, "ok": ok}, room=sid)

    @sio.on("disconnect")
    async def disconnect(sid: str) -> None:
        limiter.forget(sid)


async def _rate(
    sio: AsyncServer, sid: str, data: Any, limiter: RateLimiter, stores: list[FeedbackStore], store_factory: Callable[[], FeedbackStore]
) -> bool:
    rooms = [r for r in sio.rooms(sid) if r != sid]
    if not rooms or not isinstance(data, dict) or not limiter.allow(sid):
        return False
    reply_at = parse_reference(data.get("reply_id"))
    if reply_at is None:
        return False
    request = sio.get_environ(sid).get("sanic.request")
    agent = getattr(getattr(getattr(request, "app", None), "ctx", None), "agent", None)
    if agent is None or agent.tracker_store is None:
        return False
    rating = None
    for room in rooms:  # the visitor's session (a page that asked for a new session has joined that room too)
        tracker = await agent.tracker_store.retrieve(str(room))
        rating = rating_for(tracker.events if tracker else [], reply_at, data.get("helpful"))
        if rating is not None:
            break
    if rating is None:
        return False
    if not stores:
        stores.append(store_factory())
    stores[0].record(rating)
    return True
