"""SMS and WhatsApp through Twilio: signed webhooks in, plain-text replies out.

Rasa's Twilio connector accepts unsigned requests, sends with a blocking client and
one message per paragraph, and shows buttons nowhere. This one checks
``X-Twilio-Signature``, handles the carrier keywords (STOP, START, HELP), turns
buttons into a numbered list and understands "2" or the option's words as a choice.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

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
from bot.channels.plain_text import sms_safe
from bot.channels.sms_keywords import keyword
from bot.content.messages import message
from bot.persistence.opt_outs import OptOutStore

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class TwilioOutput(PlainTextOutput):
    """Sends each part through Twilio's Messages API (async, with a timeout; no text in logs)."""

    def __init__(self, channel: str, account_sid: str, auth_token: str, sender: str, api_url: str, max_chars: int, gsm: bool):
        self.channel = channel
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.api_url = api_url.rstrip("/")
        self.max_chars = max_chars
        self.gsm = gsm

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def render(self, text: str, buttons: list[dict[str, str]]) -> list[str]:
        return [sms_safe(p) if self.gsm else p for p in super().render(text, buttons)]

    async def send_parts(self, recipient_id: str, parts: list[str]) -> None:
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = aiohttp.BasicAuth(self.account_sid, self.auth_token)
        async with aiohttp.ClientSession(timeout=PROVIDER_TIMEOUT) as session:
            for part in parts:  # in order: each waits for the one before
                await post_to_provider(session, self.channel, url, data={"To": recipient_id, "From": self.sender, "Body": part}, auth=auth)


class TwilioSmsChannel(InputChannel):
    """SMS: POST /webhooks/twilio/webhook (set as the number's "A message comes in" webhook)."""

    gsm = True

    @classmethod
    def name(cls) -> str:
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = required(credentials, cls.name(), "account_sid", "auth_token", "number")
        return cls(
            account_sid=str(credentials["account_sid"]),
            auth_token=str(credentials["auth_token"]),
            number=str(credentials["number"]),
            webhook_url=str(credentials.get("webhook_url") or ""),
            api_url=str(credentials.get("api_url") or TWILIO_API),
            max_chars=int(credentials.get("max_chars") or 1600),
        )

    def __init__(self, account_sid: str, auth_token: str, number: str, webhook_url: str, api_url: str, max_chars: int):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.number = number
        self.webhook_url = webhook_url
        self.api_url = api_url
        self.max_chars = max_chars
        self.validator = RequestValidator(auth_token)
        self._opt_outs: OptOutStore | None = None

    @property
    def opt_outs(self) -> OptOutStore:
        if self._opt_outs is None:
            self._opt_outs = OptOutStore()
        return self._opt_outs

    def get_output_channel(self) -> TwilioOutput:
        return TwilioOutput(self.name(), self.account_sid, self.auth_token, self.number, self.api_url, self.max_chars, self.gsm)

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the configured public webhook URL, else the one the request reached."""
        if self.webhook_url:
            return self.webhook_url
        proto = request.headers.get("x-forwarded-proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", request.host).split(",")[0].strip()
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{proto}://{host}{request.path}{query}"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        webhook, handle = webhook_blueprint(self.name(), on_new_message)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # Twilio signs every parameter, blank ones included (Sanic's request.form drops those).
            form = parse_qs((request.body or b"").decode("utf-8", "replace"), keep_blank_values=True)
            params = {key: values[0] for key, values in form.items()}
            signature = request.headers.get("x-twilio-signature", "")
            if not signature or not self.validator.validate(self.signed_url(request), params, signature):
                logger.warning("%s: rejected a webhook request with a missing or wrong X-Twilio-Signature", self.name())
                return response.text("Invalid signature", status=403)
            sender, text = params.get("From"), params.get("Body")
            if not sender or text is None:
                return response.text(EMPTY_TWIML, content_type="application/xml")
            output = self.get_output_channel()
            try:
                await self._receive(request, handle, output, sender, text)
            except Exception as exc:  # never log the text: it is health data
                logger.error("%s: message could not be processed (%s)", self.name(), type(exc).__name__)
                await output.send_response(sender, {"text": message("unavailable")})
            return response.text(EMPTY_TWIML, content_type="application/xml")

        return webhook

    async def _receive(self, request: Request, handle: Handler, output: TwilioOutput, sender: str, text: str) -> None:
        word = keyword(text)
        if word == "stop":
            self.opt_outs.opt_out(self.name(), sender)
            # End any form in progress without sending its reply to someone who opted out.
            await handle(UserMessage("/stop", CollectingOutputChannel(), sender, input_channel=self.name()))
            await output.send_response(sender, {"text": message("sms_stopped")})
            return
        if word == "start":
            self.opt_outs.opt_in(self.name(), sender)
            await output.send_response(sender, {"text": message("sms_started")})
            return
        if word == "help":  # carriers expect HELP to be answered even after STOP
            await output.send_response(sender, {"text": message("sms_help")})
            return
        if self.opt_outs.is_opted_out(self.name(), sender):
            logger.info("%s: message from an opted-out number not answered", self.name())
            return
        text = await chosen_payload(request.app, sender, text)
        await answer(handle, UserMessage(text, output, sender, input_channel=self.name()), self.name())


class TwilioWhatsAppChannel(TwilioSmsChannel):
    """WhatsApp through Twilio: POST /webhooks/whatsapp/webhook; the number is ``whatsapp:+1...``."""

    gsm = False  # WhatsApp is Unicode throughout

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = dict(credentials or {})
        number = str(credentials.get("number") or "")
        if number and not number.startswith("whatsapp:"):
            credentials["number"] = f"whatsapp:{number}"
        return super().from_credentials(credentials)
