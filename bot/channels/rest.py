"""Input channels: Rasa's REST channel with request validation and no silent drops.

Rasa's own REST channel answers a body like ``[]`` with a 500, gives every request
without a ``sender`` the same shared conversation, logs the message text when
processing fails, and returns an empty list when nothing was said. This subclass
keeps its URL (/webhooks/rest/webhook) and payloads, fixes those four things, and
applies the message length limit (CHAT_MAX_MESSAGE_CHARS). An optional ``message_id``
makes a retried request safe: a message already processed is answered, not processed twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import webhook_blueprint
from bot.content.messages import message

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128


def validate_rest_body(body: Any) -> str | None:
    """Why a REST request body is unusable, or None when it is fine."""
    if not isinstance(body, dict):
        return 'The body must be a JSON object like {"sender": "visitor-1", "message": "is dry needling safe?"}.'
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_LENGTH:
        return f'"sender" must be a non-empty string of at most {MAX_SENDER_LENGTH} characters identifying the conversation.'
    if not isinstance(body.get("message"), str):
        return '"message" must be a string.'
    if "metadata" in body and not isinstance(body["metadata"], dict | None):
        return '"metadata" must be a JSON object.'
    message_id = body.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_SENDER_LENGTH):
        return f'"message_id" must be a string of at most {MAX_SENDER_LENGTH} characters identifying this message.'
    return None


async def replies_already_sent(app: Any, sender: str, message_id: str) -> list[dict[str, Any]] | None:
    """The replies to a message this conversation already processed (a retry), or None if it is new.

    A client whose request failed (a server died, a timeout) sends it again with the same
    ``message_id``; if the first attempt was processed after all, it gets the same replies
    and the message is not processed twice.
    """
    agent = getattr(app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return None
    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return None
    replies: list[dict[str, Any]] | None = None
    collector = CollectingOutputChannel()
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            await collector.send_response(sender, {"text": event.text, **{k: v for k, v in event.data.items() if v}})
    return collector.messages if replies is not None else None


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook, handle = webhook_blueprint("clinic_rest", on_new_message)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "The request body is not valid JSON."}, status=400)
            problem = validate_rest_body(body)
            if problem:
                return response.json({"error": problem}, status=400)
            sender = body["sender"].strip()
            message_id = body.get("message_id")
            if message_id:
                earlier = await replies_already_sent(request.app, sender, message_id)
                if earlier is not None:
                    return response.json(earlier)
            collector = CollectingOutputChannel()
            try:
                await handle(
                    UserMessage(
                        body["message"],
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=body.get("metadata"),
                        message_id=message_id,
                    )
                )
            except Exception as exc:  # never log the message text: it is health data
                logger.error("REST message could not be processed (%s)", type(exc).__name__)
            if not collector.messages:
                return response.json([{"recipient_id": sender, "text": message("unavailable")}])
            return response.json(collector.messages)

        return webhook
