"""Telegram: webhook updates in (authenticated by the secret token), messages with inline buttons out.

Telegram doesn't sign updates; instead the webhook is registered with a
``secret_token`` that Telegram sends back in ``X-Telegram-Bot-Api-Secret-Token``.
Requests without it are rejected. Options are inline buttons (their payload comes
back as a callback query); typing "2" or the option's words works too.
"""

from __future__ import annotations

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
from bot.channels.plain_text import split_message, text_with_sources
from bot.content.messages import message

logger = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for a button's payload


class TelegramOutput(PlainTextOutput):
    def __init__(self, token: str, api_url: str, max_chars: int) -> None:
        self.base = f"{api_url.rstrip('/')}/bot{token}"
        self.max_chars = max_chars

    @classmethod
    def name(cls) -> str:
        return "telegram"

    async def call(self, method: str, body: dict[str, Any]) -> None:
        async with aiohttp.ClientSession(timeout=PROVIDER_TIMEOUT) as session:
            await post_to_provider(session, "telegram", f"{self.base}/{method}", json=body)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text = text_with_sources(message)
        buttons = message.get("buttons") or message.get("quick_replies") or []
        if not text and not buttons:
            return
        self.sent += 1
        fits = all(len(str(b["payload"]).encode()) <= CALLBACK_DATA_LIMIT for b in buttons)
        if buttons and not fits:
            parts, keyboard = self.render(text, buttons), None
        else:
            parts = split_message(text, self.max_chars) or ["…"]
            keyboard = [[{"text": b["title"], "callback_data": b["payload"]}] for b in buttons] or None
        for n, part in enumerate(parts):
            body: dict[str, Any] = {"chat_id": recipient_id, "text": part}
            if keyboard and n == len(parts) - 1:
                body["reply_markup"] = {"inline_keyboard": keyboard}
            await self.call("sendMessage", body)


class TelegramChannel(InputChannel):
    """POST /webhooks/telegram/webhook, registered with setWebhook and a secret_token."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = required(credentials, "telegram", "access_token", "secret_token")
        return cls(
            str(credentials["access_token"]),
            str(credentials["secret_token"]),
            str(credentials.get("api_url") or TELEGRAM_API),
            int(credentials.get("max_chars") or 4096),
        )

    def __init__(self, access_token: str, secret_token: str, api_url: str, max_chars: int) -> None:
        self.access_token = access_token
        self.secret_token = secret_token
        self.api_url = api_url
        self.max_chars = max_chars

    def get_output_channel(self) -> TelegramOutput:
        return TelegramOutput(self.access_token, self.api_url, self.max_chars)

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        webhook, handle = webhook_blueprint("telegram", on_new_message)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get("x-telegram-bot-api-secret-token", "")
            if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
                logger.warning("telegram: rejected an update without the right secret token")
                return response.text("Forbidden", status=403)
            update = request.json if isinstance(request.json, dict) else {}
            output = self.get_output_channel()
            chat_id, text = await self._text_of(update, output)
            if chat_id is None:
                return response.json({"ok": True})
            if text is None:  # a photo, sticker, voice note...
                await output.send_response(chat_id, {"text": message("text_only")})
                return response.json({"ok": True})
            text = await chosen_payload(request.app, chat_id, text)
            await answer(handle, UserMessage(text, output, chat_id, input_channel=self.name()), self.name())
            return response.json({"ok": True})

        return webhook

    @staticmethod
    async def _text_of(update: dict[str, Any], output: TelegramOutput) -> tuple[str | None, str | None]:
        """(chat id, text) of a message or a button press; (None, None) for updates that aren't for us."""
        callback = update.get("callback_query")
        if isinstance(callback, dict):
            await output.call("answerCallbackQuery", {"callback_query_id": callback.get("id")})
            chat = (callback.get("message") or {}).get("chat") or {}
            chat_id = chat.get("id")
            return (str(chat_id), str(callback.get("data") or "")) if chat_id is not None else (None, None)
        msg = update.get("message")
        if not isinstance(msg, dict) or not isinstance(msg.get("chat"), dict) or msg["chat"].get("id") is None:
            return None, None
        text = msg.get("text")
        return str(msg["chat"]["id"]), text if isinstance(text, str) else None
