"""What every channel shares: the message length limit, numbered options and plain-text output."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.plain_text import plain_parts, resolve_choice, text_with_sources
from bot.config import get_settings
from bot.content.messages import message

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


PROVIDER_TIMEOUT = aiohttp.ClientTimeout(total=15)


def required(credentials: dict[str, Any] | None, channel: str, *keys: str) -> dict[str, Any]:
    """The channel's credentials, or a clear error naming the ones that are missing."""
    credentials = credentials or {}
    missing = [key for key in keys if not credentials.get(key)]
    if missing:
        raise ValueError(f"{channel} channel: missing credentials {', '.join(missing)}")
    return credentials


async def post_to_provider(session: aiohttp.ClientSession, channel: str, url: str, **kwargs: Any) -> None:
    """POST to a messaging provider's API; a failure is logged with its status or type, never the text."""
    try:
        async with session.post(url, **kwargs) as reply:
            if reply.status >= 300:
                logger.error("%s: the provider refused a request (HTTP %d)", channel, reply.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.error("%s: could not reach the provider's API (%s)", channel, type(exc).__name__)


async def cap_request_size(app: Sanic, _loop: Any = None) -> None:
    """Refuse request bodies over 256 KB (HTTP 413) unless SANIC_REQUEST_MAX_SIZE says otherwise.

    Sanic's default is 100 MB; the largest legitimate request here (a Messenger batch) is a
    few KB. Set on the app, not in the environment, so the action server (which receives
    whole conversations from Rasa) keeps its own limit.
    """
    limit = get_settings().channels.request_max_bytes
    if limit is not None:
        app.config.REQUEST_MAX_SIZE = limit


def length_limited(on_new_message: Handler) -> Handler:
    """Answer over-long messages with a friendly note instead of passing them to the model.

    The safety screen reads the whole message first: sentences with a red flag or a
    disclosure still reach the assistant (as one shorter message), then the note follows.
    """
    limit = get_settings().channels.max_message_chars

    async def handle(user_message: UserMessage) -> Any:
        length = len(user_message.text or "")
        if length <= limit:
            return await on_new_message(user_message)
        from bot.safety.screen import get_screen  # the Rasa server's screen, loaded once

        excerpt = get_screen().excerpt(user_message.text or "", limit)
        result = None
        if excerpt:
            logger.info("message of %d characters: safety finding passed on (limit %d)", length, limit)
            result = await on_new_message(
                UserMessage(
                    excerpt,
                    user_message.output_channel,
                    user_message.sender_id,
                    user_message.parse_data,
                    user_message.input_channel,
                    user_message.message_id,
                    user_message.metadata,
                )
            )
        else:
            logger.info("message of %d characters refused (limit %d)", length, limit)
        text = message("too_long", length=f"{length:,}", limit=f"{limit:,}")
        await user_message.output_channel.send_response(user_message.sender_id, {"text": text})
        return result

    return handle


def webhook_blueprint(name: str, on_new_message: Handler) -> tuple[Blueprint, Handler]:
    """A channel's blueprint with the health check every Rasa channel has, and its length-limited handler.

    It also caps the size of request bodies for the whole server (see ``cap_request_size``).
    """
    blueprint = Blueprint(f"{name}_webhook", __name__)
    blueprint.listener("before_server_start")(cap_request_size)

    @blueprint.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    return blueprint, length_limited(on_new_message)


async def offered_options(app: Sanic, sender_id: str) -> list[dict[str, str]]:
    """The buttons of the assistant's last turn in this conversation (empty if it offered none)."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return []
    try:
        tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception as exc:  # a choice that can't be resolved is still a message
        logger.warning("could not read the conversation to resolve a numbered option (%s)", type(exc).__name__)
        return []
    if tracker is None:
        return []
    buttons: list[dict[str, str]] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            buttons = list(event.data["buttons"]) + buttons
    return [b for b in buttons if isinstance(b, dict) and "title" in b and "payload" in b]


async def chosen_payload(app: Sanic, sender_id: str, text: str) -> str:
    """A reply of "2" or an option's words becomes that option's payload; other text is unchanged."""
    if not text or len(text) > 80 or text.startswith("/"):  # a button's payload already: no tracker read
        return text
    options = await offered_options(app, sender_id)
    return resolve_choice(text, options) or text


async def answer(handle: Handler, user_message: UserMessage, channel: str) -> None:
    """Process a message; if that fails or produces no reply, apologise with the clinic's number."""
    output = user_message.output_channel
    try:
        await handle(user_message)
    except Exception as exc:  # never log the text: it is health data
        logger.error("%s: message could not be processed (%s)", channel, type(exc).__name__)
    if not getattr(output, "sent", 1):
        await output.send_response(user_message.sender_id, {"text": message("unavailable")})


class PlainTextOutput(OutputChannel):
    """Output for channels without buttons: options become a numbered list, long text is split.

    ``sent`` counts the replies, so a message that produced none gets an apology instead of silence.
    """

    max_chars = 1600
    sent = 0

    async def send_parts(self, recipient_id: str, parts: list[str]) -> None:
        raise NotImplementedError

    def render(self, text: str, buttons: list[dict[str, str]]) -> list[str]:
        return plain_parts(text, buttons, self.max_chars)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text = text_with_sources(message)
        buttons = message.get("buttons") or message.get("quick_replies") or []
        if not text and not buttons:
            return  # a payload alone (e.g. handoff details) is for web pages, not text channels
        self.sent += 1
        await self.send_parts(recipient_id, self.render(text, buttons))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})
