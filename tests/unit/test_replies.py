"""Replies when the model is unsure, the question is out of scope or not covered."""

from bot.config import ClinicSettings, load_clinic_settings
from bot.content.replies import knowledge_reply, not_covered_reply, out_of_scope_reply, unsure_reply

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.5},
    {"name": "ask_does_it_hurt", "confidence": 0.31},
    {"name": "greet", "confidence": 0.2},
    {"name": "ask_side_effects", "confidence": 0.18},
]


def titles(reply):
    return [b["title"] for b in reply.buttons]


def test_unsure_offers_the_most_likely_topics(kb, search):
    reply = unsure_reply(kb, search, "hmm what about the thingy", RANKING, 0)
    assert "not sure" in reply.text
    assert titles(reply)[0] == "Does it hurt?" and len(titles(reply)) == 3
    assert reply.failed_turns == 1
    assert reply.custom == {"reply": "unsure"}  # no passage, no sources


def test_unsure_offers_the_models_next_topics_in_its_order_skipping_other_intents(kb, search):
    """The classifier's own next guesses, not the passages closest in meaning (cv_by_site.py --buttons)."""
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "out_of_scope", "confidence": 0.3},
        {"name": "ask_children", "confidence": 0.2},
        {"name": "greet", "confidence": 0.15},
        {"name": "ask_vs_acupuncture", "confidence": 0.1},
        {"name": "ask_safety_measures", "confidence": 0.05},
    ]
    reply = unsure_reply(kb, search, "and what about the other thingy", ranking, 0)
    assert titles(reply) == ["Children", "Dry needling vs acupuncture", "Safety measures"]


def test_unsure_without_a_ranking_offers_popular_topics(kb, search):
    reply = unsure_reply(kb, search, "hmm, about that other thing", [], 0)
    assert titles(reply) == ["Is it safe?", "Side effects", "Who should avoid it?"]


def test_second_failure_in_a_row_offers_a_clinician(kb, search):
    reply = unsure_reply(kb, search, "blorp", RANKING, 1)
    assert titles(reply)[0] == "Talk to a clinician"
    assert "clinicians can help" in reply.text
    assert reply.failed_turns == 2


def test_unsure_but_strong_document_match_is_answered_with_source(kb, search):
    reply = unsure_reply(kb, search, "do practitioners wear gloves?", RANKING, 1)
    assert "Hand Hygiene and Gloves" in reply.text
    assert reply.custom["topic"] == "ask_safety_measures"
    section = "Safety Measures Dry Needling Practitioners Follow"
    assert reply.custom["sources"] == [{"document": "The Safety of Dry Needling", "section": section}]
    assert reply.failed_turns == 0


def test_empty_text_gets_a_prompt_not_a_failure(kb, search):
    reply = unsure_reply(kb, search, "   ", RANKING, 0)
    assert "didn't catch a question" in reply.text
    assert reply.failed_turns == 0


def test_out_of_scope_says_what_is_covered(kb):
    first = out_of_scope_reply(kb, 0)
    assert "only help with questions about dry needling" in first.text
    assert titles(first)[:3] == ["Is it safe?", "Side effects", "Who should avoid it?"]
    again = out_of_scope_reply(kb, first.failed_turns)
    assert titles(again)[0] == "Talk to a clinician"


def test_not_covered_is_honest_and_offers_clinician_and_booking():
    reply = not_covered_reply(0)
    assert "doesn't cover that" in reply.text
    assert titles(reply) == ["Talk to a clinician", "Book an appointment"]
    assert reply.custom == {"reply": "not_covered"}  # no passage, no sources


def test_knowledge_reply_for_non_knowledge_intent_is_none(kb):
    assert knowledge_reply(kb, "greet", []) is None


def test_settings_without_phone_never_invent_a_number(tmp_path):
    path = tmp_path / "clinic.yml"
    path.write_text('clinic_name: "Test Physio"\nphone: ""\nbooking_url: ""\n')
    settings = load_clinic_settings(path, environ={})
    assert settings.call_text == "contact Test Physio directly"
    assert settings.booking_text == "contact Test Physio directly"
    assert settings.emergency_number == "911"


def test_environment_overrides_clinic_file(tmp_path):
    path = tmp_path / "clinic.yml"
    path.write_text('clinic_name: "Test Physio"\nphone: "555-0100"\nbooking_url: "https://book.example"\n')
    settings = load_clinic_settings(path, environ={"CLINIC_PHONE": "555-0199", "CLINIC_EMERGENCY_NUMBER": "112"})
    assert settings.call_text == "call Test Physio at 555-0199"
    assert settings.booking_text == "book online at https://book.example"
    assert settings.as_slots()["emergency_number"] == "112"


def test_messages_are_filled_with_clinic_settings(kb, search):
    reply = unsure_reply(kb, search, "zzz", RANKING, 5)
    assert "{" not in reply.text and "Roar Physio | Wellness" in reply.text
    assert isinstance(ClinicSettings("x").as_slots(), dict)


def test_rest_body_validation():
    from bot.channels.rest import validate_rest_body

    assert validate_rest_body({"sender": "v1", "message": "hi"}) is None
    assert validate_rest_body({"sender": "v1", "message": ""}) is None
    assert "JSON object" in validate_rest_body([])
    assert "sender" in validate_rest_body({"message": "hi"})
    assert "sender" in validate_rest_body({"sender": "  ", "message": "hi"})
    assert "sender" in validate_rest_body({"sender": "x" * 500, "message": "hi"})
    assert "message" in validate_rest_body({"sender": "v1", "message": 42})
    assert "metadata" in validate_rest_body({"sender": "v1", "message": "hi", "metadata": [1]})


def test_settings_read_ports_and_the_tracker_database_from_the_endpoints_file():
    from bot import PROJECT_ROOT
    from bot.config import load_settings

    settings = load_settings(environ={})
    assert settings.ports.actions == 5055 and settings.ports.rasa == 5005
    assert settings.stores.tracker_database_url() == f"sqlite:///{PROJECT_ROOT / 'var' / 'trackers.db'}"
    assert settings.channels.max_message_chars == 1000
    production = load_settings(environ={"STORES": "production", "POSTGRES_PASSWORD": "pw", "RASA_PORT": "6000"})
    assert production.stores.endpoints_file.name == "endpoints.production.yml"
    assert production.stores.tracker_database_url() == "postgresql+psycopg2://assistant:pw@127.0.0.1:5432/assistant"
    assert production.ports.rasa == 6000
