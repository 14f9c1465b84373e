"""The clinic's e-mail about a new handoff: what it says, what it never says, and its settings."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import EmailSettings, SettingsError, load_settings
from bot.handoff.mail import EmailNotifier, compose, message_id, subject
from bot.handoff.store import HandoffRecord

NOW = datetime(2024, 5, 1, 18, 30, tzinfo=UTC)
ID = "3f2a9c1b-6f0e-4c39-9a0b-1f6f3f3f3f3f"
SETTINGS = EmailSettings(
    host="smtp.example.org",
    port=587,
    security="starttls",
    sender="assistant@roarphysio.example",
    recipients=("frontdesk@roarphysio.example",),
    console_url="https://console.roarphysio.example/",
    timezone="America/Toronto",
)
PRIVATE = {
    "name": "Mary-Jane O'Neil",
    "contact": "+14035550123",
    "conditions": ["pregnancy", "blood_thinners"],
    "transcript": [{"from": "visitor", "text": "I take warfarin and I'm pregnant"}],
    "conversation_id": "visitor-8842",
}


def record(reason: str = "contraindication", **changes: object) -> HandoffRecord:
    values: dict = {
        "id": ID,
        "created_at": datetime(2024, 5, 1, 18, 5, tzinfo=UTC),  # 14:05 in Toronto (EDT)
        "reason": reason,
        "contact_kind": "phone",
        "consent_at": datetime(2024, 5, 1, 18, 4, tzinfo=UTC),
        "channel": "webchat",
        **PRIVATE,
    }
    if reason == "urgent":
        values |= {"name": None, "contact": None, "contact_kind": None, "consent_at": None, "conditions": ["chest_pain"]}
    return HandoffRecord(**(values | changes))


def facts(rec: HandoffRecord) -> dict:
    return json.loads(EmailNotifier(SETTINGS).payload(rec))


def test_subject_names_the_kind_the_short_id_and_the_clinic_time() -> None:
    assert subject(facts(record()), "America/Toronto") == "New clinician request #3f2a9c1b at 14:05"
    assert subject(facts(record("clinician_request")), "America/Toronto") == "New clinician request #3f2a9c1b at 14:05"
    assert subject(facts(record("urgent")), "America/Toronto") == "New urgent record #3f2a9c1b at 14:05"
    assert subject(facts(record()), "UTC") == "New clinician request #3f2a9c1b at 18:05"


def test_the_outbox_keeps_only_id_urgency_and_time() -> None:
    assert facts(record()) == {"handoff_id": ID, "urgent": False, "created_at": "2024-05-01T18:05:00+00:00"}
    assert facts(record("urgent"))["urgent"] is True


@pytest.mark.parametrize("reason", ["contraindication", "clinician_request", "urgent"])
def test_no_health_or_personal_data_in_the_message(reason: str) -> None:
    rec = record(reason)
    message = compose(facts(rec), SETTINGS, 7, NOW)
    raw = (message.as_string() + message.get_content()).lower()  # as sent, and decoded
    private = [PRIVATE["name"], PRIVATE["contact"], "4035550123", "0123", *PRIVATE["conditions"], "blood thinners", "chest"]
    private += ["warfarin", "pregnan", PRIVATE["conversation_id"], "contraindication", "webchat", "consent"]
    assert [p for p in private if p.lower() in raw] == []


def test_message_points_to_the_console_and_gives_the_full_id() -> None:
    message = compose(facts(record()), SETTINGS, 7, NOW)
    body = message.get_content()
    assert body.startswith("New clinician request #3f2a9c1b at 14:05 - open the console: https://console.roarphysio.example/\n")
    assert "Received Wed 01 May 2024, 14:05 (America/Toronto)" in body and f"Record id: {ID}" in body
    assert (message["From"], message["To"], message["Auto-Submitted"]) == (SETTINGS.sender, SETTINGS.recipients[0], "auto-generated")
    without = compose(facts(record()), replace(SETTINGS, console_url=None), 7, NOW)
    assert "open the staff console" in without.get_content() and "http" not in without.get_content()


def test_message_id_is_stable_per_outbox_row() -> None:
    first = compose(facts(record()), SETTINGS, 7, NOW)["Message-ID"]
    retry = compose(facts(record()), SETTINGS, 7, datetime(2024, 5, 2, tzinfo=UTC))["Message-ID"]
    other_row = compose(facts(record()), SETTINGS, 8, NOW)["Message-ID"]
    assert first == retry == message_id(ID, 7, SETTINGS.sender) == f"<{ID}.7@roarphysio.example>"
    assert other_row != first


ENV = {"HANDOFF_EMAIL_TO": "frontdesk@roarphysio.example, clinic@roarphysio.example", "SMTP_HOST": "smtp.example.org"}
ENV |= {"HANDOFF_EMAIL_FROM": "assistant@roarphysio.example"}


def test_settings_from_the_environment() -> None:
    assert load_settings(environ={}).handoff.email is None
    email = load_settings(environ=ENV | {"CLINIC_TIMEZONE": "America/Toronto", "CONSOLE_URL": "https://c.example/"}).handoff.email
    assert email is not None
    assert (email.host, email.port, email.security, email.user) == ("smtp.example.org", 587, "starttls", None)
    assert email.recipients == ("frontdesk@roarphysio.example", "clinic@roarphysio.example")
    assert (email.timezone, email.console_url) == ("America/Toronto", "https://c.example/")
    ssl = load_settings(environ=ENV | {"SMTP_SECURITY": "SSL", "SMTP_USER": "a", "SMTP_PASSWORD": "pw"}).handoff.email
    assert ssl is not None and (ssl.port, ssl.security, ssl.user) == (465, "ssl", "a") and "pw" not in repr(ssl)
    plain = load_settings(environ=ENV | {"SMTP_SECURITY": "none", "SMTP_PORT": "2525"}).handoff.email
    assert plain is not None and plain.port == 2525


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SMTP_HOST": ""}, "SMTP_HOST and HANDOFF_EMAIL_FROM must be set"),
        ({"HANDOFF_EMAIL_FROM": ""}, "SMTP_HOST and HANDOFF_EMAIL_FROM must be set"),
        ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY must be one of"),
        ({"SMTP_USER": "a"}, "SMTP_USER and SMTP_PASSWORD go together"),
        ({"SMTP_SECURITY": "none", "SMTP_USER": "a", "SMTP_PASSWORD": "pw"}, "password unencrypted"),
        ({"HANDOFF_EMAIL_TO": "frontdesk"}, "not an e-mail address: frontdesk"),
        ({"CLINIC_TIMEZONE": "Toronto"}, "unknown time zone"),
    ],
)
def test_half_a_configuration_is_an_error(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=ENV | changes)
