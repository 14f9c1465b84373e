"""Facebook Messenger: signed webhooks in (X-Hub-Signature-256), messages with quick replies out.

Rasa's Facebook connector answers a wrongly signed request with HTTP 200 "not
validated", handles only the first event of a batch, and ignores the newer
SHA-256 signature. This one rejects bad signatures with 403, handles every event
and sends options as quick replies (numbered when a title is too long for one).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import (
    PROVIDER_TIMEOUT,
    Handler,
    PlainTextOutput,
    answer,
    chosen_payload,
    post_to_provider,
    required,
    webhook_blueprint,
)
from bot.channels.plain_text import numbered, split_message, text_with_sources
from bot.content.messages import message

logger = logging.getLogger(__name__)

GRAPH_API = "https://graph.facebook.com/v19.0"
QUICK_REPLY_TITLE_LIMIT = 20
QUICK_REPLY_LIMIT = 13


def valid_signature(body: bytes, app_secret: str, sha256_header: str, sha1_header: str) -> bool:
    """Meta signs the raw body with the app secret: SHA-256 (current) or SHA-1 (legacy)."""
    for header, algorithm in ((sha256_header, hashlib.sha256), (sha1_header, hashlib.sha1)):
        prefix = "sha256=" if algorithm is hashlib.sha256 else "sha1="
        if header.startswith(prefix):
            expected = hmac.new(app_secret.encode(), body, algorithm).hexdigest()
            return hmac.compare_digest(expected, header[len(prefix) :])
    return False


def quick_replies(text: str, buttons: list[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    """Text and quick replies; titles too long for a quick reply become a numbered list with number buttons."""
    buttons = buttons[:QUICK_REPLY_LIMIT]
    if all(len(b["title"]) <= QUICK_REPLY_TITLE_LIMIT for b in buttons):
        return text, [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]
    replies = [{"content_type": "text", "title": str(n), "payload": b["payload"]} for n, b in enumerate(buttons, start=1)]
    return numbered(text, buttons), replies


class MessengerOutput(PlainTextOutput):
    def __init__(self, page_access_token: str, api_url: str, max_chars: int) -> None:
        self.page_access_token = page_access_token
        self.api_url = api_url.rstrip("/")
        self.max_chars = max_chars

    @classmethod
    def name(cls) -> str:
        return "messenger"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text = text_with_sources(message)
        buttons = message.get("buttons") or message.get("quick_replies") or []
        if not text and not buttons:
            return
        self.sent += 1
        text, replies = quick_replies(text, buttons)
        parts = split_message(text, self.max_chars) or ["…"]
        async with aiohttp.ClientSession(timeout=PROVIDER_TIMEOUT) as session:
            for n, part in enumerate(parts):
                body: dict[str, Any] = {
                    "recipient": {"id": recipient_id},
                    "messaging_type": "RESPONSE",
                    "message": {"text": part},
                }
                if replies and n == len(parts) - 1:
                    body["message"]["quick_replies"] = replies
                await post_to_provider(
                    session, "messenger", f"{self.api_url}/me/messages", params={"access_token": self.page_access_token}, json=body
                )


class MessengerChannel(InputChannel):
    """GET (verification) and POST /webhooks/messenger/webhook."""

    @classmethod
    def name(cls) -> str:
        return "messenger"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = required(credentials, "messenger", "page_access_token", "app_secret", "verify_token")
        return cls(
            str(credentials["page_access_token"]),
            str(credentials["app_secret"]),
            str(credentials["verify_token"]),
            str(credentials.get("api_url") or GRAPH_API),
            int(credentials.get("max_chars") or 2000),
        )

    def __init__(self, page_access_token: str, app_secret: str, verify_token: str, api_url: str, max_chars: int) -> None:
        self.page_access_token = page_access_token
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.api_url = api_url
        self.max_chars = max_chars

    def get_output_channel(self) -> MessengerOutput:
        return MessengerOutput(self.page_access_token, self.api_url, self.max_chars)

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        webhook, handle = webhook_blueprint("messenger", on_new_message)

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token", "")
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), self.verify_token.encode()):
                return response.text(request.args.get("hub.challenge", ""))
            return response.text("Forbidden", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not valid_signature(
                request.body or b"",
                self.app_secret,
                request.headers.get("x-hub-signature-256", ""),
                request.headers.get("x-hub-signature", ""),
            ):
                logger.warning("messenger: rejected a webhook request with a missing or wrong signature")
                return response.text("Invalid signature", status=403)
            payload = request.json if isinstance(request.json, dict) else {}
            for sender, text in self._messages(payload):
                output = self.get_output_channel()  # one per message: it counts that message's replies
                if text is None:
                    await output.send_response(sender, {"text": message("text_only")})
                    continue
                text = await chosen_payload(request.app, sender, text)
                await answer(handle, UserMessage(text, output, sender, input_channel=self.name()), self.name())
            return response.text("EVENT_RECEIVED")

        return webhook

    @staticmethod
    def _messages(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
        """(sender, text) for every user message, quick reply and postback; text None for attachments."""
        out: list[tuple[str, str | None]] = []
        if payload.get("object") != "page":
            return out
        for entry in payload.get("entry") or []:
            for event in (entry or {}).get("messaging") or []:
                sender = ((event or {}).get("sender") or {}).get("id")
                if not sender:
                    continue
                msg, postback = event.get("message"), event.get("postback")
                if isinstance(msg, dict) and not msg.get("is_echo"):
                    quick = (msg.get("quick_reply") or {}).get("payload")
                    text = quick or msg.get("text")
                    out.append((str(sender), text if isinstance(text, str) else None))
                elif isinstance(postback, dict) and postback.get("payload"):
                    out.append((str(sender), str(postback["payload"])))
        return out
