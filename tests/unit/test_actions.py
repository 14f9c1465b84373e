"""The custom actions, run the way the action server runs them: Tracker in, messages and events out."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionAnswer
from actions.fallback import ActionFallback, ActionNotCovered, ActionOutOfScope
from actions.session import ActionSessionStart


def tracker(text: str, intent: str, entities=None, ranking=None, failed_turns=0.0) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
        "entities": entities or [],
    }
    return Tracker("visitor-1", {"failed_turns": failed_turns}, message, [], False, None, {}, "action_listen")


def run(action, trk):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, trk, {}))
    return dispatcher.messages, events


def test_answer_sends_text_buttons_and_citation_payload():
    messages, events = run(ActionAnswer(), tracker("is dry needling safe?", "ask_is_it_safe"))
    (text_msg,) = messages  # one message: text, buttons and sources belong together
    custom_msg = text_msg
    assert text_msg["text"].startswith("Yes, when performed by a qualified and experienced practitioner")
    assert "Source" not in text_msg["text"], "sources travel as data, each channel renders them"
    assert [b["title"] for b in text_msg["buttons"]][-2:] == ["Book an appointment", "Talk to a clinician"]
    assert custom_msg["custom"]["topic"] == "ask_is_it_safe"
    assert {"document": "Dry Needling Safety Sheet", "section": "Considerations"} in custom_msg["custom"]["sources"]
    assert events == [{"event": "slot", "timestamp": None, "name": "failed_turns", "value": 0.0}]


def test_answer_focuses_on_the_side_effect_named():
    entity = {"entity": "side_effect", "value": "bruising", "start": 12, "end": 18}
    messages, _ = run(ActionAnswer(), tracker("will i bruise?", "ask_side_effects", [entity]))
    assert "• Bruising:" in messages[0]["text"]
    assert "Emotional Release" not in messages[0]["text"]


def test_fallback_offers_likely_topics_then_a_clinician():
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "ask_children", "confidence": 0.4}]
    messages, events = run(ActionFallback(), tracker("qwerty", "nlu_fallback", ranking=ranking))
    assert messages[0]["buttons"][0] == {"title": "Children", "payload": "/ask_children"}
    assert events[0]["value"] == 1.0
    messages, events = run(ActionFallback(), tracker("qwerty", "nlu_fallback", ranking=ranking, failed_turns=1.0))
    assert messages[0]["buttons"][0]["title"] == "Talk to a clinician"


def test_fallback_answers_gloves_question_from_the_documents():
    messages, _ = run(ActionFallback(), tracker("do practitioners wear gloves?", "nlu_fallback"))
    assert "Practitioners wash hands thoroughly and often wear gloves" in messages[0]["text"]
    assert messages[0]["custom"]["sources"][0]["section"] == "Safety Measures Dry Needling Practitioners Follow"


def test_out_of_scope_and_not_covered():
    messages, _ = run(ActionOutOfScope(), tracker("what's the weather", "out_of_scope"))
    assert "only help with questions about dry needling" in messages[0]["text"]
    messages, _ = run(ActionNotCovered(), tracker("how much does it cost", "ask_not_covered"))
    assert "doesn't cover that" in messages[0]["text"]
    assert len(messages) == 1  # no passage, no citation payload


def test_session_start_puts_clinic_settings_into_slots():
    _, events = run(ActionSessionStart(), tracker("", "session_start"))
    assert events[0]["event"] == "session_started"
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["clinic_name"] == "Roar Physio | Wellness"
    assert slots["emergency_number"] == "911"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


def form_tracker(slots: dict) -> Tracker:
    message = {"text": "(403) 555-0123", "intent": {"name": "nlu_fallback", "confidence": 0.4}, "entities": []}
    return Tracker("visitor-2", slots, message, [], False, None, {}, "handoff_form")


def test_submit_when_the_database_is_down_asks_to_call_and_claims_nothing(monkeypatch):
    from actions import handoff
    from bot.handoff.store import HandoffStore

    monkeypatch.setattr(handoff, "get_store", lambda: HandoffStore("postgresql+psycopg2://nobody@127.0.0.1:1/none"))
    slots = {
        "consent": True,
        "contact_name": "Sam",
        "contact_value": "+14035550123",
        "handoff_reason": "contraindication",
        "handoff_conditions": ["pregnancy"],
    }
    messages, events = run(handoff.ActionSubmitHandoff(), form_tracker(slots))
    assert "couldn't save your request" in messages[0]["text"]
    assert "will contact you" not in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "contact_value", "value": None} in events


def test_submit_stores_the_record_before_confirming(monkeypatch, tmp_path):
    from actions import handoff
    from bot.handoff.store import HandoffStore

    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}")
    monkeypatch.setattr(handoff, "get_store", lambda: store)
    slots = {
        "consent": True,
        "contact_name": "Sam",
        "contact_value": "+14035550123",
        "handoff_reason": "contraindication",
        "handoff_conditions": ["pregnancy"],
    }
    messages, _ = run(handoff.ActionSubmitHandoff(), form_tracker(slots))
    assert "will contact you at +1 ••• ••• 0123" in messages[0]["text"]
    (record,) = store.list()
    assert (record.conversation_id, record.conditions, record.contact) == ("visitor-2", ["pregnancy"], "+14035550123")


def test_declined_consent_never_touches_the_store(monkeypatch):
    from actions import handoff

    def no_store():
        raise AssertionError("the store must not be used without consent")

    monkeypatch.setattr(handoff, "get_store", no_store)
    messages, _ = run(handoff.ActionSubmitHandoff(), form_tracker({"consent": False}))
    assert "nothing has been stored" in messages[0]["text"]


def test_names_and_numbers_are_answers_even_when_classified_as_questions():
    from bot.handoff.form import looks_like_question

    assert not looks_like_question("Sam Lee", "ask_is_it_safe", 0.93)
    assert not looks_like_question("(403) 555-0123", "out_of_scope", 0.96)
    assert not looks_like_question("jo@example.com", "nlu_fallback", 0.5)
    assert looks_like_question("does dry needling hurt?", "ask_does_it_hurt", 0.99)
    assert looks_like_question("what about bruising", "ask_side_effects", 0.7)
    assert looks_like_question("stop", "stop", 0.97)
    assert looks_like_question("please cancel that", "stop", 0.9)
    # The model reads some unusual names as "stop": without a stop word they are answers.
    assert not looks_like_question("Quinn Mpmpealknh", "stop", 0.6)


@pytest.mark.parametrize("keep", [True, False])
def test_transcript_is_kept_only_when_configured(monkeypatch, tmp_path, keep):
    from actions import handoff
    from bot.handoff.store import HandoffStore

    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", store_transcript=keep)
    monkeypatch.setattr(handoff, "get_store", lambda: store)
    slots = {
        "consent": True,
        "contact_name": "Sam",
        "contact_value": "+14035550123",
        "handoff_reason": "contraindication",
        "handoff_conditions": ["pregnancy"],
    }
    events = [
        {"event": "user", "text": "I'm pregnant, is it ok?"},
        {"event": "action", "name": "action_handoff_start"},
        {"event": "bot", "text": "A clinician needs to review your situation."},
        {"event": "user", "text": "yes"},
    ]
    tracker = Tracker("visitor-3", slots, form_tracker(slots).latest_message, events, False, None, {}, "handoff_form")
    run(handoff.ActionSubmitHandoff(), tracker)
    (record,) = store.list()
    expected = [
        {"from": "visitor", "text": "I'm pregnant, is it ok?"},
        {"from": "assistant", "text": "A clinician needs to review your situation."},
        {"from": "visitor", "text": "yes"},
    ]
    assert record.transcript == (expected if keep else None)
