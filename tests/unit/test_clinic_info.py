"""Practical clinic questions are answered from clinic.yml only, and honestly when it is silent."""

from pathlib import Path

import pytest

from bot.config import ClinicSettings, SettingsError, load_clinic_settings
from bot.content.clinic_info import SUBJECTS, clinic_info_reply

FILLED = ClinicSettings(
    "Roar Physio | Wellness",
    phone="403 555 0100",
    booking_url="https://example.com/book",
    practical={"opening_hours": "Mon-Fri 7am-7pm, Sat 8am-2pm.", "parking": "Free parking behind the building."},
)
EMPTY = ClinicSettings("Roar Physio | Wellness")


def test_a_filled_in_subject_is_answered_in_the_clinics_words():
    reply = clinic_info_reply(FILLED, ["parking"])
    assert "Free parking behind the building." in reply.text
    assert reply.custom == {"reply": "clinic_info", "subjects": ["parking"], "answered": ["parking"]}


def test_a_missing_subject_is_said_to_be_missing_with_phone_and_booking():
    reply = clinic_info_reply(FILLED, ["payment"])
    assert "don't have" in reply.text and "fees and insurance" in reply.text
    assert "403 555 0100" in reply.text and "https://example.com/book" in reply.text
    assert reply.custom["answered"] == []


def test_without_phone_or_booking_link_nothing_is_invented():
    reply = clinic_info_reply(EMPTY, ["opening_hours"])
    assert reply.text.count("contact Roar Physio | Wellness directly") == 1
    assert not any(ch.isdigit() for ch in reply.text)


def test_two_subjects_in_one_question_get_both():
    reply = clinic_info_reply(FILLED, ["opening_hours", "payment"])
    assert "Mon-Fri 7am-7pm" in reply.text and "fees and insurance" in reply.text


def test_no_subject_offers_the_subjects_the_clinic_filled_in():
    reply = clinic_info_reply(FILLED, [])
    payloads = [b["payload"] for b in reply.buttons]
    assert '/ask_clinic_info{"clinic_topic": "opening_hours"}' in payloads
    assert '/ask_clinic_info{"clinic_topic": "parking"}' in payloads
    assert payloads[-1] == "/book_appointment"


def test_unknown_subjects_are_ignored():
    assert clinic_info_reply(FILLED, ["teleportation"]).custom["subjects"] == []


def test_clinic_yml_practical_fields_are_read_and_blank_ones_dropped(tmp_path: Path):
    path = tmp_path / "clinic.yml"
    path.write_text('clinic_name: "X"\npractical:\n  parking: "Street parking."\n  payment: ""\n', encoding="utf-8")
    assert load_clinic_settings(path, environ={}).practical == {"parking": "Street parking."}
    path.write_text('clinic_name: "X"\npractical: "open 9-5"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="practical"):
        load_clinic_settings(path, environ={})


def test_the_shipped_clinic_yml_names_every_subject():
    import yaml

    from bot import PROJECT_ROOT

    raw = yaml.safe_load((PROJECT_ROOT / "clinic.yml").read_text(encoding="utf-8"))
    assert set(raw["practical"]) == set(SUBJECTS)


def test_every_clinic_topic_word_maps_to_a_subject():
    """The lookup table finds the words; the synonyms must turn each into one of the subjects."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bot import PROJECT_ROOT

    data = load_data(str(PROJECT_ROOT / "data" / "nlu" / "clinic_info.yml"))
    words = {w.lower() for table in data.lookup_tables if table["name"] == "clinic_topic" for w in table["elements"]}
    assert words
    assert {data.entity_synonyms.get(w, w) for w in words} <= set(SUBJECTS)
