"""Two detectors, one decision, and nothing after the screen can override it."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety.annotator import CHECK, DISCLOSE, URGENT, SafetyAnnotator
from bot.safety.detector import Analysis, Mention
from bot.safety.fallback import SafetyFirstFallbackClassifier
from bot.safety.learned import Prediction, choose_thresholds
from bot.safety.screen import decide, get_screen

NOTHING = Analysis([], [], [])
FLAG = Analysis([Mention("bleeding", "won't stop bleeding", 0, 5, "patient")], [], ["bleeding"])
PREGNANT = Analysis([Mention("pregnancy", "pregnant", 0, 5, "patient")], ["pregnancy"], [])


@pytest.mark.parametrize(
    ("analysis", "learned", "kind"),
    [
        (FLAG, Prediction(0.01, "bleeding"), "urgent"),  # the lexicon alone is enough
        (NOTHING, Prediction(0.95, "breathing_or_chest"), "urgent"),  # the learned detector alone is enough
        (NOTHING, Prediction(0.60, "breathing_or_chest"), "check"),  # unsure: one quick question
        (NOTHING, Prediction(0.10, "breathing_or_chest"), None),
        (PREGNANT, Prediction(0.60, "fainting_or_dizziness"), "disclose"),  # a disclosure is not lost behind a question
        (PREGNANT, Prediction(0.95, "fainting_or_dizziness"), "urgent"),  # an emergency comes first
    ],
)
def test_one_decision_from_two_detectors(analysis, learned, kind):
    decision = decide(analysis, learned, urgent_at=0.9, check_at=0.4)
    assert decision.kind == kind
    if kind == "check":
        assert decision.check_group == "breathing_or_chest"


def test_thresholds_keep_false_alarms_rare_and_ask_about_nearly_every_urgent_message():
    import numpy as np

    safe = np.linspace(0.0, 0.6, 200)
    urgent = np.linspace(0.3, 1.0, 100)
    urgent_at, check_at, report = choose_thresholds(np.concatenate([safe, urgent]), np.array([False] * 200 + [True] * 100))
    assert report["cv_false_urgent"] <= 0.01 and report["cv_urgent_or_check_recall"] >= 0.99
    assert check_at <= urgent_at


def _message(text: str, intent: str, confidence: float, runner_up: float) -> Message:
    ranking = [{"name": intent, "confidence": confidence}, {"name": "ask_side_effects", "confidence": runner_up}]
    return Message(data={TEXT: text, INTENT: ranking[0], INTENT_RANKING_KEY: ranking})


@pytest.fixture(scope="module")
def pipeline():
    fallback = SafetyFirstFallbackClassifier(
        {**SafetyFirstFallbackClassifier.get_default_config(), "threshold": 0.5, "ambiguity_threshold": 0.1}
    )
    return SafetyAnnotator(), fallback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my chest is so tight I can't breathe since the needling", URGENT),
        ("the needle hole won't stop bleeding even with pressure", URGENT),
        ("I'm 14 weeks pregnant", DISCLOSE),
    ],
)
def test_the_fallback_never_replaces_a_safety_decision(pipeline, text, expected):
    annotator, fallback = pipeline
    # The model was unsure and torn between two intents: Rasa's classifier would say nlu_fallback.
    (message,) = fallback.process(annotator.process([_message(text, "stop", 0.31, 0.29)]))
    assert message.get(INTENT)["name"] == expected


def test_other_messages_still_fall_back(pipeline):
    annotator, fallback = pipeline
    (message,) = fallback.process(annotator.process([_message("zxqv blorp", "ask_side_effects", 0.31, 0.29)]))
    assert message.get(INTENT)["name"] == "nlu_fallback"


def test_a_likely_red_flag_without_lexicon_words_gets_the_quick_question_or_urgent(pipeline):
    annotator, _ = pipeline
    (message,) = annotator.process([_message("every breath feels like a knife between my ribs since this afternoon", "greet", 0.9, 0.05)])
    assert message.get(INTENT)["name"] in (URGENT, CHECK)


def test_a_long_message_keeps_only_its_safety_sentences():
    filler = "We moved house last month and the boxes were heavy. " * 30
    text = filler + "Since my session this morning the needle spot won't stop bleeding. " + filler
    excerpt = get_screen().excerpt(text, 1000)
    assert excerpt is not None and "won't stop bleeding" in excerpt and len(excerpt) <= 1000
    assert get_screen().excerpt(filler * 2, 1000) is None


def test_a_person_booked_for_earlier_in_the_conversation_is_the_patient(pipeline):
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    annotator, _ = pipeline
    (first,) = annotator.process([_message("can I book my mum in for her shoulder?", "book_appointment", 0.9, 0.05)])
    booking = [e for e in first.get("entities") if e["entity"] == "booking"]
    assert booking, "the screen marks a booking for someone else"
    earlier = UserUttered("can I book my mum in for her shoulder?", {"name": "book_appointment"}, first.get("entities"))
    tracker = DialogueStateTracker.from_events("v", [ActionExecuted("action_listen"), earlier, ActionExecuted("utter_book")])
    (later,) = annotator.process([_message("she's on warfarin though", "affirm", 0.9, 0.05)], tracker)
    assert later.get(INTENT)["name"] == DISCLOSE
    (alone,) = annotator.process([_message("she's on warfarin though", "affirm", 0.9, 0.05)])
    assert alone.get(INTENT)["name"] != DISCLOSE, "without the booking, she is someone else"


def test_a_message_that_goes_on_about_the_previous_one_is_read_with_it(pipeline):
    """ "still bleeding, 25 minutes now" says little alone; after "the needle spot on my neck is bleeding a bit" it is
    bleeding that will not stop. An acknowledgement is no new alarm; a symptom already met with urgent guidance that
    goes on gets urgent guidance again."""
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    annotator, _ = pipeline

    def after(previous: str, intent: str, text: str) -> str:
        earlier = UserUttered(previous, {"name": intent})
        tracker = DialogueStateTracker.from_events("v", [ActionExecuted("action_listen"), earlier, ActionExecuted("utter_x")])
        (message,) = annotator.process([_message(text, "affirm", 0.9, 0.05)], tracker)
        return message.get(INTENT)["name"]

    bleeding = "the needle spot on my neck is bleeding a little after today's session"
    assert after(bleeding, "ask_side_effects", "still going, 25 minutes now, been pressing the whole time") == URGENT
    assert after(bleeding, "ask_side_effects", "ok thanks, will keep an eye on it") not in (URGENT, CHECK)
    assert after("my chest is tight and I can't breathe", URGENT, "still the same") == URGENT  # it goes on
    assert after("my chest is tight and I can't breathe", URGENT, "ok, calling an ambulance now") != URGENT


def test_an_emergency_that_goes_on_after_urgent_guidance_gets_it_again(pipeline):
    """After urgent guidance, "been pressing 10 minutes, going through tissues" is the same emergency going on: urgent
    guidance again. An acknowledgement is not."""
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    annotator, _ = pipeline
    earlier = UserUttered("the needle spot on my thigh is bleeding and it won't stop", {"name": URGENT})
    tracker = DialogueStateTracker.from_events("v", [ActionExecuted("action_listen"), earlier, ActionExecuted("utter_x")])
    (going_on,) = annotator.process([_message("been pressing 10+ min now, going through tissues", "affirm", 0.9, 0.05)], tracker)
    (thanks,) = annotator.process([_message("ok, heading to urgent care now, thanks", "affirm", 0.9, 0.05)], tracker)
    assert going_on.get(INTENT)["name"] == URGENT
    assert thanks.get(INTENT)["name"] != URGENT


def test_a_session_named_in_the_previous_message_ties_a_lasting_symptom_to_it(pipeline):
    """ "had needles in my forearm, got a small bruise" then "it's swelling up and growing, really tight": the first
    message ties the second to a session, and the second says it gets worse."""
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    annotator, _ = pipeline
    earlier = UserUttered("had my calf needled this morning, there's a small bruise", {"name": "ask_side_effects"})
    tracker = DialogueStateTracker.from_events("v", [ActionExecuted("action_listen"), earlier, ActionExecuted("utter_x")])
    (worse,) = annotator.process([_message("it's swelling up now and growing, like an egg under the skin", "affirm", 0.9, 0.05)], tracker)
    (fine,) = annotator.process([_message("it's a bit yellow now, still a little tender", "affirm", 0.9, 0.05)], tracker)
    assert worse.get(INTENT)["name"] == URGENT
    assert fine.get(INTENT)["name"] != URGENT
