"""The Chatwoot connector's pure parts: the conversation's message, how a contact is found, its settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.config import ChatwootSettings, SettingsError, load_settings
from bot.handoff.chatwoot import ChatwootNotifier, contact_filter, contact_key, conversation_message
from bot.handoff.store import HandoffRecord

SETTINGS = ChatwootSettings(url="https://chat.roarphysio.example", account_id=3, inbox_id=7, api_token="tok")


def record(**changes: object) -> HandoffRecord:
    values: dict = {
        "id": "3f2a9c1b-6f0e-4c39-9a0b-1f6f3f3f3f3f",
        "created_at": datetime(2024, 5, 1, 18, 5, tzinfo=UTC),
        "conversation_id": "visitor-8842",
        "reason": "contraindication",
        "conditions": ["pregnancy"],
        "name": "Sam Lee",
        "contact": "+14035550123",
        "contact_kind": "phone",
        "consent_at": datetime(2024, 5, 1, 18, 4, tzinfo=UTC),
        "transcript": [{"from": "visitor", "text": "I'm 20 weeks pregnant"}],
    }
    return HandoffRecord(**(values | changes))


def payload(rec: HandoffRecord, store_transcript: bool = False) -> dict | None:
    text = ChatwootNotifier(SETTINGS, store_transcript).payload(rec)
    return None if text is None else json.loads(text)


def test_the_message_carries_the_handoff_for_the_clinic() -> None:
    text = conversation_message(payload(record(), store_transcript=True))  # type: ignore[arg-type]
    assert text.splitlines()[:8] == [
        "Handoff from the clinic's assistant (record 3f2a9c1b-6f0e-4c39-9a0b-1f6f3f3f3f3f)",
        "",
        "Reason: a condition the visitor mentioned needs a clinician's review before dry needling",
        "Conditions: pregnancy",
        "Name: Sam Lee",
        "Contact: +14035550123 (phone)",
        "Consent to be contacted: 2024-05-01 18:04 UTC",
        "Received: 2024-05-01 18:05 UTC",
    ]
    assert text.endswith("Transcript:\nvisitor: I'm 20 weeks pregnant")


def test_a_request_without_conditions_or_transcript() -> None:
    text = conversation_message(payload(record(reason="clinician_request", conditions=[], name=None)))  # type: ignore[arg-type]
    assert "Reason: the visitor asked to talk to a clinician" in text
    assert "Conditions: -" in text and "Name: -" in text and "Transcript" not in text and "pregnant" not in text


def test_urgent_records_and_transcripts_in_the_payload() -> None:
    assert payload(record(reason="urgent", name=None, contact=None, contact_kind=None, consent_at=None)) is None
    assert "transcript" not in payload(record())  # type: ignore[operator]
    assert payload(record(), store_transcript=True)["transcript"] == [{"from": "visitor", "text": "I'm 20 weeks pregnant"}]  # type: ignore[index]


@pytest.mark.parametrize(
    ("contact", "kind", "key"),
    [
        ("Jane.Doe@Example.com", "email", ("email", "jane.doe@example.com")),
        ("+14035550123", "phone", ("phone_number", "+14035550123")),
        ("5550123", "phone", ("identifier", "handoff:3f2a9c1b-6f0e-4c39-9a0b-1f6f3f3f3f3f")),  # not E.164
        (None, None, ("identifier", "handoff:3f2a9c1b-6f0e-4c39-9a0b-1f6f3f3f3f3f")),
    ],
)
def test_how_a_contact_is_found(contact: str | None, kind: str | None, key: tuple[str, str]) -> None:
    assert contact_key(payload(record(contact=contact, contact_kind=kind))) == key  # type: ignore[arg-type]


def test_the_filter_carries_the_value_in_its_body_and_phone_digits_with_contains() -> None:
    assert contact_filter("email", "a@b.example")["payload"] == [
        {"attribute_key": "email", "filter_operator": "equal_to", "values": ["a@b.example"], "query_operator": None}
    ]
    assert contact_filter("phone_number", "+14035550123")["payload"][0] == {
        "attribute_key": "phone_number",
        "filter_operator": "contains",
        "values": ["14035550123"],
        "query_operator": None,
    }


ENV = {"CHATWOOT_URL": "https://chat.roarphysio.example/", "CHATWOOT_ACCOUNT_ID": "3", "CHATWOOT_INBOX_ID": "7"}
ENV |= {"CHATWOOT_API_TOKEN": "secret-token"}


def test_settings_from_the_environment() -> None:
    assert load_settings(environ={}).handoff.chatwoot is None
    chatwoot = load_settings(environ=ENV).handoff.chatwoot
    assert chatwoot == ChatwootSettings("https://chat.roarphysio.example", 3, 7, "secret-token")
    assert "secret-token" not in repr(chatwoot)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"CHATWOOT_API_TOKEN": ""}, "CHATWOOT_API_TOKEN must be set too"),
        ({"CHATWOOT_ACCOUNT_ID": "", "CHATWOOT_INBOX_ID": ""}, "CHATWOOT_ACCOUNT_ID, CHATWOOT_INBOX_ID must be set too"),
        ({"CHATWOOT_INBOX_ID": "support"}, "CHATWOOT_INBOX_ID must be a positive whole number"),
        ({"CHATWOOT_URL": "chat.roarphysio.example"}, "must be an http"),
    ],
)
def test_half_a_configuration_is_an_error(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=ENV | changes)
