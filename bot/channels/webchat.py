"""The website chat: the page at /chat/ and Rasa's socket.io channel it talks to.

Served by the Rasa server itself, so the start command needs no separate web server.
The socket.io part is Rasa's channel (same events, session persistence) with three
changes: only the page's own origin and CHAT_ALLOWED_ORIGINS may connect (Rasa
allows any), each bot message is one event carrying its text, quick replies and
sources (Rasa splits paragraphs into separate events and crashes on custom JSON),
and the length limit applies. Answers carry a ``reply_id`` the visitor can rate (bot/channels/ratings.py).
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot import PROJECT_ROOT
from bot.analytics.feedback import rateable, reference
from bot.channels import ratings
from bot.channels.base import Handler, length_limited
from bot.config import get_settings
from bot.content.messages import message

logger = logging.getLogger(__name__)

WEB_ROOT = PROJECT_ROOT / "web" / "chat"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_SOCKET_PAYLOAD = 64 * 1024  # bytes per socket.io packet; the text limit is far below


def allowed_origins() -> list[str]:
    """CHAT_ALLOWED_ORIGINS: other sites that may embed the chat or connect to it (space or comma separated)."""
    return list(get_settings().channels.allowed_origins)


def content_security_policy(origins: list[str]) -> str:
    ancestors = " ".join(["'self'", *origins])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )


def _same_origin(environ: dict[str, Any]) -> set[str]:
    host = environ.get("HTTP_HOST", "")
    schemes = {environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip()}
    return {f"{s}://{host}" for s in schemes if s}


class WebChatOutput(OutputChannel):
    """One ``bot_uttered`` event per bot message: text, quick replies, sources, handoff."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def __init__(self, sio: AsyncServer, event: str) -> None:
        self.sio = sio
        self.event = event
        self.sent = 0

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        custom: dict[str, Any] = message["custom"] if isinstance(message.get("custom"), dict) else {}
        text = message.get("text") or ""
        sources = [s for s in custom.get("sources", []) if isinstance(s, dict)]
        buttons = message.get("buttons") or message.get("quick_replies") or []
        event: dict[str, Any] = {
            "text": text,
            "quick_replies": [{"title": b["title"], "payload": b["payload"]} for b in buttons if "title" in b and "payload" in b],
        }
        if sources:
            event["sources"] = [{"document": s.get("document", ""), "section": s.get("section", "")} for s in sources]
        if isinstance(custom.get("handoff"), dict):
            event["handoff"] = True
        if rateable(custom) and isinstance(message.get("timestamp"), int | float):
            event["reply_id"] = reference(message["timestamp"])  # what a thumbs up/down refers to (bot/channels/ratings.py)
        if event["text"] or event["quick_replies"] or sources:
            await self.sio.emit(self.event, event, room=recipient_id)
            self.sent += 1

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class WebChatChannel(InputChannel):
    """socket.io at /socket.io and the chat page at /chat/."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(self, user_message_evt: str, bot_message_evt: str, socketio_path: str) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        self.sio: AsyncServer | None = None

    def url_prefix(self) -> str:
        return "/chat"  # absolute: Rasa joins it to /webhooks/, which keeps an absolute path

    def get_output_channel(self) -> OutputChannel | None:
        return WebChatOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        origins = allowed_origins()

        def origin_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
            return origin is None or origin.rstrip("/") in origins or origin in _same_origin(environ)

        # Long-polling only: Sanic 21.12's WebSocket implementation (pinned by Rasa 3.6) fails on
        # Python 3.11 ("Passing coroutines is forbidden"); polling is plenty for a chat.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=origin_allowed,
            max_http_buffer_size=MAX_SOCKET_PAYLOAD,
            transports=["polling"],
        )
        self.sio = sio
        handle = length_limited(on_new_message)
        blueprint = SocketBlueprint(sio, self.socketio_path, "webchat", __name__)
        csp = content_security_policy(origins)
        headers = {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }

        @blueprint.route("", methods=["GET"], strict_slashes=True)
        async def bare(_: Request) -> HTTPResponse:
            return response.redirect("/chat/")  # the page's relative links need the trailing slash

        @blueprint.route("/", methods=["GET"], strict_slashes=True)
        async def page(_: Request) -> HTTPResponse:
            return await _serve(WEB_ROOT / "index.html", headers)

        @blueprint.route("/config.json", methods=["GET"])
        async def config(_: Request) -> HTTPResponse:
            settings = get_settings()
            clinic = settings.clinic
            body = {
                "clinic_name": clinic.clinic_name,
                "phone": clinic.phone,
                "booking_url": clinic.booking_url,
                "emergency_number": clinic.emergency_number,
                "max_message_chars": settings.channels.max_message_chars,
            }
            return response.json(body, headers=headers)

        @blueprint.route("/<path:path>", methods=["GET"])
        async def asset(_: Request, path: str) -> HTTPResponse:
            target = (WEB_ROOT / path).resolve()
            if WEB_ROOT.resolve() not in target.parents or not target.is_file() or target.suffix not in CONTENT_TYPES:
                return response.text("Not found", status=404)
            return await _serve(target, headers)

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            return True

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
                session_id = uuid.uuid4().hex
            await sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        ratings.register(sio)

        @sio.on(self.user_message_evt)
        async def user_message(sid: str, data: Any) -> None:
            rooms = [r for r in sio.rooms(sid) if r != sid]
            if not isinstance(data, dict) or not isinstance(data.get("message"), str) or not rooms:
                await sio.emit("error_message", {"error": "Send {message, session_id} after session_request."}, room=sid)
                return
            session_id = data.get("session_id")
            sender = str(session_id) if session_id in rooms else str(rooms[0])
            output = WebChatOutput(sio, self.bot_message_evt)
            try:
                await handle(UserMessage(data["message"], output, sender, input_channel=self.name()))
            except Exception as exc:  # never log the text: it is health data
                logger.error("web chat message could not be processed (%s)", type(exc).__name__)
            if not output.sent:  # never leave the visitor without an answer
                await output.send_text_message(sender, message("unavailable"))

        return blueprint


async def _serve(path: Path, headers: dict[str, str]) -> HTTPResponse:
    return response.raw(path.read_bytes(), content_type=CONTENT_TYPES[path.suffix], headers=headers)
