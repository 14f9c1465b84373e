"""Optional Chatwoot connector: each handoff also opens a conversation in the clinic's Chatwoot inbox.

Chatwoot is the clinic's own live-agent inbox (the usual one for Rasa), so the conversation carries
the handoff in full: reason, conditions, name, contact, consent time, and the transcript when the
clinic stores transcripts. None of it is ever logged. The inbox must be an API-channel inbox: the
summary is posted as the visitor's message, and Chatwoot sends nothing to the visitor. Urgent
records have no name or contact, so they open no conversation (the e-mail and the console have them).

Retries never open a second conversation. What each attempt achieved (contact id, conversation id)
is kept in the outbox row, and before creating anything the connector looks for what an interrupted
attempt may have created: the contact by its e-mail address or phone number (Chatwoot keeps one
contact per address, so a returning visitor is one contact) or, without either, by an identifier
made from the handoff id; the conversation by its custom attribute ``handoff_id``. Chatwoot creates
a conversation and its first message in one transaction, so there is no half-made conversation to
complete. Lookups send the address in a request body, never in a URL.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import requests

from bot.config import ChatwootSettings
from bot.handoff.notifier import Delivery, Outcome
from bot.handoff.store import URGENT, HandoffRecord

log = logging.getLogger(__name__)

API_TIMEOUT = 5.0
TOKEN_HEADER = "api_access_token"  # Chatwoot's header for a user's (or bot's) access token
REASON_TEXT = {
    "contraindication": "a condition the visitor mentioned needs a clinician's review before dry needling",
    "clinician_request": "the visitor asked to talk to a clinician",
}


class ChatwootError(Exception):
    """A failed call, described without payload data, e.g. ``HTTP 422 (create contact)``."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def contact_key(record: dict[str, Any]) -> tuple[str, str]:
    """The contact field a handoff is found by: its e-mail, its phone number (E.164 only, as Chatwoot requires),
    else an identifier made from the handoff id."""
    contact, kind = record.get("contact"), record.get("contact_kind")
    if contact and kind == "email":
        return "email", contact.lower()
    if contact and kind == "phone" and contact.startswith("+"):
        return "phone_number", contact
    return identifier_key(record)


def identifier_key(record: dict[str, Any]) -> tuple[str, str]:
    return "identifier", f"handoff:{record['id']}"


def contact_filter(field: str, value: str) -> dict[str, Any]:
    """A contacts/filter body that finds ``value`` (in the body, not the URL, so no access log holds it). Current
    Chatwoot puts a "+" before the phone number it filters by: the digits with ``contains`` match with or without it."""
    operator, value = ("contains", value.lstrip("+")) if field == "phone_number" else ("equal_to", value)
    return {"payload": [{"attribute_key": field, "filter_operator": operator, "values": [value], "query_operator": None}]}


def conversation_message(record: dict[str, Any]) -> str:
    """The conversation's first message: the handoff in full, for the clinic's own inbox."""
    contact = f"{record['contact']} ({record.get('contact_kind') or 'contact'})" if record.get("contact") else "-"
    lines = [
        f"Handoff from the clinic's assistant (record {record['id']})",
        "",
        f"Reason: {REASON_TEXT.get(record['reason'], record['reason'])}",
        f"Conditions: {', '.join(record.get('conditions') or []) or '-'}",
        f"Name: {record.get('name') or '-'}",
        f"Contact: {contact}",
        f"Consent to be contacted: {_time(record.get('consent_at'))}",
        f"Received: {_time(record.get('created_at'))}",
    ]
    if record.get("channel"):
        lines.append(f"Channel: {record['channel']}")
    transcript = record.get("transcript")
    if transcript:
        lines += ["", "Transcript:"]
        lines += [f"{turn.get('from', '?')}: {turn.get('text', '')}" for turn in transcript if isinstance(turn, dict)]
    return "\n".join(lines)


class ChatwootNotifier:
    kind = "chatwoot"

    def __init__(self, settings: ChatwootSettings, store_transcript: bool = False) -> None:
        self.settings = settings
        self.store_transcript = store_transcript
        self.base = f"{settings.url}/api/v1/accounts/{settings.account_id}"
        if not settings.url.startswith("https://"):
            log.warning("Chatwoot URL is not https: health data would travel unencrypted")

    def payload(self, record: HandoffRecord) -> str | None:
        if record.reason == URGENT:
            return None  # nobody to talk to: an urgent record has no name or contact
        return json.dumps(record.as_dict(include_transcript=self.store_transcript), sort_keys=True)

    def send(self, delivery: Delivery) -> Outcome:
        """Find or create the contact, then find or create the conversation; each result is kept for a retry."""
        record = json.loads(delivery.payload)
        state = dict(delivery.state)
        try:
            with requests.Session() as session:
                if "contact_id" not in state or "source_id" not in state:
                    state |= self._contact(session, record)
                if "conversation_id" not in state:
                    state["conversation_id"] = self._conversation(session, record, state)
        except ChatwootError as exc:
            return Outcome(str(exc), state)
        except requests.RequestException as exc:
            return Outcome(type(exc).__name__, state)
        except (KeyError, TypeError, ValueError):
            return Outcome("unexpected reply", state)
        log.info("handoff %s is Chatwoot conversation %s", delivery.handoff_id, state["conversation_id"])
        return Outcome(None, state)

    def _contact(self, session: requests.Session, record: dict[str, Any]) -> dict[str, Any]:
        """The visitor's contact (found, else created) and its source id in the inbox."""
        try:
            contact, source_id = self._find_or_create_contact(session, record, *contact_key(record))
        except ChatwootError as exc:
            if exc.status != 422 or contact_key(record) == identifier_key(record):
                raise
            # Chatwoot refused the address (it holds it in a form the filter did not match, e.g. another phone format):
            # file the handoff under its own identifier; the message still carries the contact.
            contact, source_id = self._find_or_create_contact(session, record, *identifier_key(record))
        if not source_id:  # an existing contact that has never written to this inbox
            body = {"inbox_id": self.settings.inbox_id}
            source_id = self._call(session, "POST", f"/contacts/{contact['id']}/contact_inboxes", "add contact to inbox", body)["source_id"]
        return {"contact_id": contact["id"], "source_id": source_id}

    def _find_or_create_contact(
        self, session: requests.Session, record: dict[str, Any], field: str, value: str
    ) -> tuple[dict[str, Any], str | None]:
        found = self._call(session, "POST", "/contacts/filter", "find contact", contact_filter(field, value)).get("payload") or []
        for contact in found:
            candidate = str(contact.get(field) or "")
            if candidate.lower() == value.lower():
                return contact, self._source_id(contact)
        name = record.get("name") or f"Website visitor #{record['id'][:8]}"
        body = {"inbox_id": self.settings.inbox_id, "name": name, field: value}
        created = self._call(session, "POST", "/contacts", "create contact", body)["payload"]
        return created["contact"], (created.get("contact_inbox") or {}).get("source_id")

    def _source_id(self, contact: dict[str, Any]) -> str | None:
        for contact_inbox in contact.get("contact_inboxes") or []:
            if (contact_inbox.get("inbox") or {}).get("id") == self.settings.inbox_id and contact_inbox.get("source_id"):
                return str(contact_inbox["source_id"])
        return None

    def _conversation(self, session: requests.Session, record: dict[str, Any], state: dict[str, Any]) -> int:
        contact_id = state["contact_id"]
        existing = self._call(session, "GET", f"/contacts/{contact_id}/conversations", "list conversations").get("payload") or []
        for conversation in existing:
            if (conversation.get("custom_attributes") or {}).get("handoff_id") == record["id"]:
                return int(conversation["id"])  # an earlier attempt created it; its reply was lost
        body = {
            "source_id": state["source_id"],
            "inbox_id": self.settings.inbox_id,
            "contact_id": contact_id,
            "status": "open",
            "custom_attributes": {"handoff_id": record["id"]},
            "message": {"content": conversation_message(record), "message_type": "incoming"},
        }
        return int(self._call(session, "POST", "/conversations", "create conversation", body)["id"])

    def _call(self, session: requests.Session, method: str, path: str, step: str, body: Any = None) -> dict[str, Any]:
        """One API call; ids only in the path, data only in the body."""
        headers = {TOKEN_HEADER: self.settings.api_token}
        response = session.request(method, self.base + path, json=body, headers=headers, timeout=API_TIMEOUT)
        if not 200 <= response.status_code < 300:
            raise ChatwootError(f"HTTP {response.status_code} ({step})", response.status_code)
        data = response.json()
        if not isinstance(data, dict):
            raise ChatwootError(f"unexpected reply ({step})")
        return data


def _time(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC") if value else "-"
