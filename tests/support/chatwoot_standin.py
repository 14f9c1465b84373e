"""A stand-in for Chatwoot's application API on loopback (aiohttp), as far as the connector uses it.

It keeps contacts, contact inboxes, conversations and messages, and applies the Chatwoot rules that
matter to the connector: the ``api_access_token`` header, one contact per e-mail address, phone
number and identifier (422 otherwise), E.164 phone numbers, a conversation needs a known
``source_id``, incoming messages only in an API inbox, the contacts filter's phone quirk (it puts a
"+" before the value). It records every call, and can fail a step (``fail``: answer an error without
acting) or lose a reply (``lose_reply``: act, then answer 502), to test retries, and can be blind to a
field in the contacts filter (``blind_filter``), as a Chatwoot that stores numbers in another form.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
E164 = re.compile(r"\+[1-9]\d{1,14}")


@dataclass
class Call:
    method: str
    path: str
    step: str
    headers: dict[str, str]
    json: Any


@dataclass
class Conversation:
    id: int
    contact_id: int
    inbox_id: int
    source_id: str
    status: str
    custom_attributes: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)


class ChatwootStandIn:
    def __init__(self, token: str = "test-token", account_id: int = 3, inbox_id: int = 7, port: int = 0) -> None:
        self.token, self.account_id, self.inbox_id, self.port = token, account_id, inbox_id, port
        self.calls: list[Call] = []
        self.contacts: dict[int, dict[str, Any]] = {}
        self.contact_inboxes: list[dict[str, Any]] = []  # {"contact_id", "inbox_id", "source_id"}
        self.conversations: dict[int, Conversation] = {}
        self.fail: dict[str, list[int]] = {}  # step -> statuses to answer, one per call, before acting normally
        self.lose_reply: dict[str, int] = {}  # step -> how many times to act but answer 502
        self.blind_filter: set[str] = set()  # contact fields the filter never matches (another version's format)
        self._contact_ids = itertools.count(1)
        self._conversation_ids = itertools.count(101)
        self._lock = threading.Lock()
        self._steps: dict[Handler, str] = {}
        app = web.Application(middlewares=[self._middleware])
        prefix = "/api/v1/accounts/{account_id}"
        for method, path, handler, step in [
            ("POST", "/contacts/filter", self._filter, "find contact"),
            ("POST", "/contacts", self._create_contact, "create contact"),
            ("POST", "/contacts/{id}/contact_inboxes", self._add_to_inbox, "add contact to inbox"),
            ("GET", "/contacts/{id}/conversations", self._contact_conversations, "list conversations"),
            ("POST", "/conversations", self._create_conversation, "create conversation"),
        ]:
            app.router.add_route(method, prefix + path, handler)
            self._steps[handler] = step
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = web.AppRunner(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChatwootStandIn:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._runner.setup(), self._loop).result(10)
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        asyncio.run_coroutine_threadsafe(site.start(), self._loop).result(10)
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def take(self) -> list[Call]:
        """The calls since the last take, in order."""
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    def messages(self) -> list[dict[str, Any]]:
        return [message for conversation in self.conversations.values() for message in conversation.messages]

    # -- plumbing ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        step = self._steps.get(handler, "?")
        with self._lock:
            self.calls.append(Call(request.method, request.path, step, dict(request.headers), body))
            failure = self.fail.get(step, []).pop(0) if self.fail.get(step) else None
        if request.headers.get("api_access_token") != self.token:
            return web.json_response({"error": "Invalid Access Token"}, status=401)
        if request.match_info.get("account_id") != str(self.account_id):
            return web.json_response({"error": "Resource could not be found"}, status=404)
        if failure is not None:
            return web.json_response({"error": "failed on purpose"}, status=failure)
        response = await handler(request)  # handlers run on this one loop thread, never suspended mid-change
        if self.lose_reply.get(step):
            self.lose_reply[step] -= 1
            return web.json_response({"error": "bad gateway"}, status=502)
        return response

    def _contact_json(self, contact: dict[str, Any]) -> dict[str, Any]:
        inboxes = [
            {"source_id": ci["source_id"], "inbox": {"id": ci["inbox_id"], "channel_type": "Channel::Api"}}
            for ci in self.contact_inboxes
            if ci["contact_id"] == contact["id"]
        ]
        return {**contact, "contact_inboxes": inboxes}

    def _conversation_json(self, conversation: Conversation) -> dict[str, Any]:
        contact = self.contacts[conversation.contact_id]
        return {
            "id": conversation.id,
            "inbox_id": conversation.inbox_id,
            "status": conversation.status,
            "custom_attributes": conversation.custom_attributes,
            "meta": {"sender": {k: contact[k] for k in ("id", "name", "email", "phone_number", "identifier")}},
            "messages": conversation.messages[-1:],
        }

    def _new_contact_inbox(self, contact_id: int) -> dict[str, Any]:
        contact_inbox = {"contact_id": contact_id, "inbox_id": self.inbox_id, "source_id": str(uuid.uuid4())}
        self.contact_inboxes.append(contact_inbox)
        return contact_inbox

    # -- the API -----------------------------------------------------------------------

    async def _filter(self, request: web.Request) -> web.Response:
        (condition,) = (await request.json())["payload"]
        key, operator, raw = condition["attribute_key"], condition["filter_operator"], condition["values"][0]
        value = f"+{raw}" if key == "phone_number" else str(raw).lower()  # Chatwoot's Contacts::FilterService

        def matches(contact: dict[str, Any]) -> bool:
            field_value = str(contact.get(key) or "").lower()
            return field_value == value if operator == "equal_to" else value in field_value

        found = [self._contact_json(c) for c in self.contacts.values() if matches(c) and key not in self.blind_filter]
        return web.json_response({"meta": {"count": len(found)}, "payload": found})

    async def _create_contact(self, request: web.Request) -> web.Response:
        body = await request.json()
        contact = {
            "id": 0,
            "name": body.get("name"),
            "email": (body.get("email") or "").lower() or None,
            "phone_number": body.get("phone_number"),
            "identifier": body.get("identifier"),
        }
        if contact["phone_number"] and not E164.fullmatch(contact["phone_number"]):
            return web.json_response({"message": "Phone number should be in e164 format"}, status=422)
        for key in ("email", "phone_number", "identifier"):
            if contact[key] and any(c[key] == contact[key] for c in self.contacts.values()):
                return web.json_response({"message": f"{key} has already been taken"}, status=422)
        contact["id"] = next(self._contact_ids)
        self.contacts[contact["id"]] = contact
        inbox: dict[str, Any] = {"inbox": None, "source_id": None}
        if body.get("inbox_id") == self.inbox_id:
            inbox = {"inbox": {"id": self.inbox_id}, "source_id": self._new_contact_inbox(contact["id"])["source_id"]}
        return web.json_response({"payload": {"contact": self._contact_json(contact), "contact_inbox": inbox}})

    async def _add_to_inbox(self, request: web.Request) -> web.Response:
        contact_id = int(request.match_info["id"])
        if contact_id not in self.contacts or (await request.json()).get("inbox_id") != self.inbox_id:
            return web.json_response({"error": "Resource could not be found"}, status=404)
        contact_inbox = self._new_contact_inbox(contact_id)
        return web.json_response({"source_id": contact_inbox["source_id"], "inbox": {"id": self.inbox_id}})

    async def _contact_conversations(self, request: web.Request) -> web.Response:
        contact_id = int(request.match_info["id"])
        if contact_id not in self.contacts:
            return web.json_response({"error": "Resource could not be found"}, status=404)
        mine = [self._conversation_json(c) for c in self.conversations.values() if c.contact_id == contact_id]
        return web.json_response({"payload": sorted(mine, key=lambda c: -c["id"])})

    async def _create_conversation(self, request: web.Request) -> web.Response:
        body = await request.json()
        contact_inbox = next((ci for ci in self.contact_inboxes if ci["source_id"] == body.get("source_id")), None)
        if contact_inbox is None:
            return web.json_response({"error": "Resource could not be found"}, status=404)
        if body.get("contact_id") not in (None, contact_inbox["contact_id"]) or body.get("inbox_id") not in (None, self.inbox_id):
            return web.json_response({"error": "contact or inbox does not match the source id"}, status=422)
        message = body.get("message") or None
        if message and message.get("message_type", "outgoing") not in ("incoming", "outgoing"):
            return web.json_response({"error": "unknown message type"}, status=422)
        conversation = Conversation(
            id=next(self._conversation_ids),
            contact_id=contact_inbox["contact_id"],
            inbox_id=self.inbox_id,
            source_id=contact_inbox["source_id"],
            status=body.get("status") or "open",
            custom_attributes=dict(body.get("custom_attributes") or {}),
        )
        if message:
            conversation.messages.append({"content": message.get("content"), "message_type": message.get("message_type", "outgoing")})
        self.conversations[conversation.id] = conversation
        return web.json_response(self._conversation_json(conversation))


@contextlib.contextmanager
def chatwoot_standin(**kwargs: Any) -> Iterator[ChatwootStandIn]:
    standin = ChatwootStandIn(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
