"""The safety layer end to end: running servers, REST conversations, stored handoff records."""

from __future__ import annotations

import uuid

import pytest

from bot.handoff.store import HandoffStore
from tests.support.servers import running_servers

API_TOKEN = "test-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    db = tmp_path_factory.mktemp("handoffs") / "handoffs.db"
    url = f"sqlite:///{db}"
    with running_servers(extra_env={"HANDOFF_DATABASE_URL": url}, api_token=API_TOKEN) as s:
        s.store = HandoffStore(url)
        yield s


def chat(servers, sender, text):
    replies = servers.send(sender, text)
    assert replies, f"no reply to {text!r}"
    return replies


def texts(replies):
    return "\n".join(r.get("text", "") for r in replies)


def payloads(replies):
    return [r["custom"] for r in replies if "custom" in r]


def records_for(servers, sender):
    return [r for r in servers.store.list() if r.conversation_id == sender]


def test_disclosure_consent_invalid_then_valid_phone_is_stored(servers):
    visitor = f"v-{uuid.uuid4()}"
    first = chat(servers, visitor, "I'm 12 weeks pregnant, can I get dry needling for my back?")
    assert payloads(first)[0]["handoff"] == {"reason": "contraindication", "conditions": ["pregnancy"]}
    assert "first trimester" in texts(first)  # what the documents say about pregnancy
    assert "a clinician needs to review" in texts(first)
    assert "Would you like a clinician" in texts(first)
    assert "doesn't look like a phone number" not in texts(first), "nothing typed yet, nothing to complain about"
    assert "safe for you" not in texts(first).lower().replace("right for you", "")
    assert "What name" in texts(chat(servers, visitor, "yes"))
    asked = texts(chat(servers, visitor, "Sam Lee"))
    assert "phone number or email" in asked and "doesn't look like" not in asked
    assert "doesn't look like a phone number" in texts(chat(servers, visitor, "call me maybe"))
    done = chat(servers, visitor, "(403) 555-0123")
    assert "will contact you at +1 ••• ••• 0123" in texts(done)
    (record,) = records_for(servers, visitor)
    assert record.conditions == ["pregnancy"] and record.reason == "contraindication"
    assert record.contact == "+14035550123" and record.name == "Sam Lee"
    assert record.consent_at is not None and record.status == "new" and record.transcript is None
    assert record.channel == "rest"  # shown in the staff console


def test_declining_consent_stores_nothing_and_gives_the_clinic(servers):
    visitor = f"v-{uuid.uuid4()}"
    chat(servers, visitor, "im on eliquis, will i bruise more?")
    reply = chat(servers, visitor, "no thanks")
    assert "nothing has been stored" in texts(reply)
    assert "Roar Physio | Wellness" in texts(reply)
    assert records_for(servers, visitor) == []


def test_question_mid_form_is_answered_and_the_form_resumes(servers):
    visitor = f"v-{uuid.uuid4()}"
    chat(servers, visitor, "I have hemophilia")
    chat(servers, visitor, "yes")
    reply = chat(servers, visitor, "does dry needling hurt?")
    assert "discomfort" in texts(reply)  # the documents' answer
    assert "What name" in texts(reply)  # and the form asks again


@pytest.mark.parametrize(
    "turns",
    [
        ["my mom takes warfarin, is it safe for her?"],  # asking on her behalf: she is the patient
        ["can I book my dad in for his shoulder?", "he's on eliquis, is that ok?"],  # booked for in an earlier message
    ],
)
def test_a_person_the_visitor_asks_or_books_for_is_the_patient(servers, turns):
    visitor = f"v-{uuid.uuid4()}"
    for text in turns:
        reply = chat(servers, visitor, text)
    assert any("handoff" in p for p in payloads(reply))
    assert "Would you like a clinician" in texts(reply)


def test_stopping_mid_form_stores_nothing(servers):
    visitor = f"v-{uuid.uuid4()}"
    chat(servers, visitor, "I'm on warfarin")
    chat(servers, visitor, "yes")
    reply = chat(servers, visitor, "stop")
    assert "Nothing has been stored" in texts(reply)
    assert records_for(servers, visitor) == []
    assert "Yes, when performed" in texts(chat(servers, visitor, "is dry needling safe?"))


@pytest.mark.parametrize(
    "text",
    [
        "I'm not pregnant, is dry needling safe?",
        "my mom takes warfarin, is it safe for me?",
        "can pregnant women get it?",
        "I had chemo years ago, is that a problem?",
    ],
)
def test_no_handoff_for_negated_other_hypothetical_or_past(servers, text):
    reply = chat(servers, f"v-{uuid.uuid4()}", text)
    assert not any("handoff" in p for p in payloads(reply))
    assert "Would you like a clinician" not in texts(reply)


def test_clinician_request_uses_the_same_form(servers):
    visitor = f"v-{uuid.uuid4()}"
    reply = chat(servers, visitor, "can I talk to a physio please")
    assert payloads(reply)[0]["handoff"] == {"reason": "clinician_request", "conditions": []}
    assert "Would you like a clinician" in texts(reply)


def test_red_flag_gets_urgent_guidance_first_and_an_urgent_record(servers):
    visitor = f"v-{uuid.uuid4()}"
    reply = chat(servers, visitor, "I can't breathe properly since my session yesterday")
    assert reply[0]["text"].startswith("Please call 911 or go to the nearest emergency department now")
    assert {"urgent": True, "red_flags": ["breathing_or_chest"]} in payloads(reply)
    assert "Roar Physio | Wellness" in texts(reply)
    (record,) = records_for(servers, visitor)
    assert record.reason == "urgent" and record.name is None and record.contact is None


def test_red_flag_in_the_middle_of_a_form_ends_it(servers):
    visitor = f"v-{uuid.uuid4()}"
    chat(servers, visitor, "I'm diabetic")
    chat(servers, visitor, "yes")
    reply = chat(servers, visitor, "wait my arm just went numb after the session")
    assert reply[0]["text"].startswith("Please call 911")
    assert "What name" not in texts(reply)


def test_mild_after_effect_is_not_urgent(servers):
    reply = chat(servers, f"v-{uuid.uuid4()}", "a bit sore today after my session, is that normal?")
    assert not reply[0]["text"].startswith("Please call")
    assert not any(p.get("urgent") for p in payloads(reply))
    assert "• Muscle Soreness:" in texts(reply)  # the documents' passage
    assert texts(reply).rstrip().endswith("call 911 or go to emergency care now.")  # when to seek help


def test_model_parse_shows_condition_entities_with_roles_and_needs_the_token(servers):
    import requests

    url = f"{servers.rasa_url}/model/parse"
    assert requests.post(url, json={"text": "I'm on Eliquis"}, timeout=10).status_code == 401
    parsed = requests.post(url, params={"token": API_TOKEN}, json={"text": "I'm on Eliquis but my mom takes warfarin"}, timeout=10).json()
    conditions = {(e["value"], e["role"]) for e in parsed["entities"] if e["entity"] == "condition"}
    assert conditions == {("blood_thinners", "patient"), ("blood_thinners", "other_person")}
    assert parsed["intent"]["name"] == "disclose_condition"


def test_no_message_text_names_or_contacts_in_the_logs(servers):
    """Conversations are health data: the servers' logs (default settings) carry none of what visitors typed."""
    visitor = f"v-{uuid.uuid4()}"
    marker = uuid.uuid4().hex[:10]
    surname = "".join(chr(ord("a") + int(c, 16)) for c in marker).title()  # a name must look like a name: letters only
    said = [
        f"I'm on warfarin since {marker}, can I get dry needling?",
        "yes",
        f"Quinn {surname}",
        "(403) 555-0199",
        f"<b>{marker}</b> is it safe?",
        "x" * 1001,
    ]
    for text in said:
        chat(servers, visitor, text)
    (record,) = records_for(servers, visitor)
    assert record.contact == "+14035550199"
    logs = servers.log_text()
    assert logs, "the servers wrote logs"
    for secret in [marker, "warfarin since", "Quinn", surname, "555-0199", "5550199", "x" * 50]:
        assert secret not in logs, f"{secret!r} found in the logs"
