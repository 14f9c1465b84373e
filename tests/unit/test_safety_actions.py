"""The safety actions and the handoff form's name check, run as the action server runs them."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoffStart, ActionUrgent, ActionUrgentCheck, ActionUrgentCheckNo, ValidateHandoffForm
from bot.handoff.contact import looks_like_name


def tracker(text: str, intent: str, entities=None, slots=None, active_loop=None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    return Tracker("visitor-1", slots or {}, message, [], False, None, {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, trk):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, trk, {}))
    return dispatcher.messages, events


def slot(events, name):
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


@pytest.mark.parametrize("name", ["Sam", "Mary-Jane O'Neil", "Dr. Priya Natarajan", "José", "li wei"])
def test_names_that_look_like_names(name):
    assert looks_like_name(name)


@pytest.mark.parametrize(
    "text",
    [
        "0412 345 678",
        "sam@example.com",
        "yes",
        "ok",
        "my chest hurts and I can't breathe",
        "I think I am having a reaction to the needles.",
        "what happens next?",
        "",
        "a b c d e f",
    ],
)
def test_sentences_numbers_and_answers_are_not_names(text):
    assert not looks_like_name(text)


def test_a_symptom_at_the_name_prompt_is_never_saved_as_the_name():
    form = ValidateHandoffForm()
    entities = [{"entity": "red_flag", "value": "bleeding", "role": "patient"}]
    dispatcher = CollectingDispatcher()
    result = form.validate_contact_name("bleeding", dispatcher, tracker("bleeding", "ask_side_effects", entities), {})
    assert result == {"contact_name": None}
    assert "doesn't look like a name" in dispatcher.messages[0]["text"]
    ok = form.validate_contact_name("Sam  Lee", CollectingDispatcher(), tracker("Sam Lee", "greet"), {})
    assert ok == {"contact_name": "Sam Lee"}


def test_the_quick_question_names_the_symptom_offers_yes_and_no_and_ends_any_form():
    entities = [{"entity": "red_flag", "value": "breathing_or_chest", "role": "possible"}]
    messages, events = run(
        ActionUrgentCheck(), tracker("my ribs feel odd", "possible_urgent_symptom", entities, active_loop="handoff_form")
    )
    (question,) = messages
    assert "breathing" in question["text"] and question["text"].endswith("?")
    assert [b["payload"] for b in question["buttons"]] == ["/affirm", "/deny"]
    assert question["custom"] == {"urgent_check": "breathing_or_chest"}
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert slot(events, "urgent_check") == "breathing_or_chest"


def test_yes_to_the_quick_question_gives_urgent_guidance_for_that_symptom(monkeypatch):
    import actions.handoff as handoff

    class NoStore:
        def create(self, **kwargs):
            raise handoff.HandoffStoreError("not in this test")

    monkeypatch.setattr(handoff, "get_store", lambda: NoStore())
    messages, _ = run(ActionUrgent(), tracker("/affirm", "affirm", slots={"urgent_check": "breathing_or_chest"}))
    assert messages[0]["custom"]["urgent"] is True
    assert messages[0]["custom"]["red_flags"] == ["breathing_or_chest"]
    assert "emergency" in messages[0]["text"]


def test_no_to_the_quick_question_says_when_to_get_help_and_does_not_reassure():
    messages, events = run(ActionUrgentCheckNo(), tracker("/deny", "deny", slots={"urgent_check": "bleeding"}))
    text = messages[0]["text"]
    assert "emergency" in text and "nothing to worry" not in text.lower()
    assert slot(events, "urgent_check") is None


def test_a_disclosure_during_the_form_adds_its_condition_and_keeps_what_was_given():
    entities = [{"entity": "condition", "value": "blood_thinners", "role": "patient"}]
    slots = {"handoff_conditions": ["pregnancy"], "consent": True, "contact_name": "Sam"}
    messages, events = run(ActionHandoffStart(), tracker("also on eliquis", "disclose_condition", entities, slots, "handoff_form"))
    assert messages[0]["custom"]["handoff"]["conditions"] == ["blood_thinners"]
    assert slot(events, "handoff_conditions") == ["pregnancy", "blood_thinners"]
    assert not [e for e in events if e.get("name") in ("consent", "contact_name")], "consent and name are kept"
