"""Time, negation, severity, spelling and roles as explicit rules of the lexicon detector (issue #10).

Each case is one rule; the sentences are written for these tests, not taken from an evaluation set.
"""

from __future__ import annotations

import pytest

from bot.safety.detector import get_detector
from bot.safety.spelling import distance, fold

URGENT = [
    # Recent time keeps a symptom current.
    ("fainted about 3 hours ago after my session", "fainting_or_dizziness"),
    ("an hour after my session my chest got tight", "breathing_or_chest"),
    ("dizzy since lunchtime and it won't pass", "fainting_or_dizziness"),
    # Pseudo-negations are not negations.
    ("no lie, I can't breathe properly right now", "breathing_or_chest"),
    ("not gonna lie my arm went dead since the needling", "numbness_or_weakness"),
    ("ngl the redness is spreading up my leg", "infection_signs"),
    ("I'm not ok, still dizzy 5 hours later", "fainting_or_dizziness"),
    # Severity turns a normal side effect into a red flag.
    ("the needle spot won't stop bleeding", "bleeding"),
    ("it's still bleeding after 15 minutes of pressing on it", "bleeding"),
    ("blood has soaked through the plaster twice", "bleeding"),
    ("the bruise keeps getting bigger and it's hard", "bleeding"),
    ("the site is red and hot and getting redder", "infection_signs"),
    ("the redness is getting worse and I have a temp of 38.5", "infection_signs"),
    ("still feel dizzy, keep nearly fainting", "fainting_or_dizziness"),
    # Everyday words.
    ("feels like an elephant on my chest", "breathing_or_chest"),
    ("I can't get a full breath since this morning", "breathing_or_chest"),
    ("pins and needles ever since, my hand is useless", "numbness_or_weakness"),
    # Someone else: an emergency is an emergency.
    ("my husband had needling today and now he's short of breath", "breathing_or_chest"),
]

MILD = [
    "a bit sore and a small bruise",
    "felt a little dizzy for a minute but it passed",
    "a tiny drop of blood that stopped straight away",
    "tired and a bit achy the next day",
    "my muscle twitched a lot during the session",
    "what are the signs of a collapsed lung?",
    "can dry needling make you bleed?",
    "I don't have any chest pain, just stiffness",
    "how do I stop the bruising from spreading?",
]

HANDOFF = [
    # Brand names and misspellings.
    ("im on warferin for my afib", {"blood_thinners"}),
    ("been taking elliquis since march", {"blood_thinners"}),
    ("i take zarelto daily", {"blood_thinners"}),
    ("on plavicks after my heart thing", {"blood_thinners"}),
    ("im pregant, about 12 weeks", {"pregnancy"}),
    # Immunosuppressants, biologics, current treatment.
    ("I inject humira every two weeks for my crohn's", {"immunocompromised"}),
    ("on methotrexate for rheumatoid arthritis", {"immunocompromised"}),
    ("I'm in the middle of radiotherapy", {"immunocompromised"}),
    # Lay words.
    ("we're expecting our second in june", {"pregnancy"}),
    ("needles freak me out, I pass out when i see a needle", {"needle_phobia"}),
    # Word proximity: a fear word a few words from a needle word, either order.
    ("I'm scared stiff of the needles, can I still do it", {"needle_phobia"}),
    ("injections make me faint every single time", {"needle_phobia"}),
    ("I've got eczema on the back of my knee where it hurts", {"skin_infection"}),
    # Chronic conditions and implants stay current after a past date.
    ("diagnosed with epilepsy in 2009, on keppra", {"epilepsy"}),
    ("I got my pacemaker fitted last year", {"implanted_device"}),
    ("I was diagnosed with MS years ago", {"neurological"}),
    # A child given only by age; booking for another person who has the condition.
    ("he's 5, can he have it for his heel?", {"child_patient"}),
    ("booking for my nan, she's on warfarin", {"blood_thinners"}),
    ("can I make an appointment for my dad? he has parkinson's", {"neurological"}),
    # A list where only the second item applies.
    ("no heart problems but I am on eliquis", {"blood_thinners"}),
]

NO_HANDOFF = [
    # Negation scopes each item of a list.
    ("I'm not on warfarin, not eliquis, nothing like that", set()),
    ("not pregnant and not on any blood thinners", set()),
    ("no pacemaker, no epilepsy, no diabetes", set()),
    ("I'm not afraid of needles at all", set()),
    # Resolved past.
    ("had chemo in 2012 and I'm fully recovered", set()),
    ("I came off warfarin two years ago", set()),
    ("had seizures as a child, none since", set()),
    # A new mother mentioning her baby.
    ("I had my baby 4 months ago, is needling ok for my back?", set()),
    ("my baby is 6 months old and I'm breastfeeding, can I have it?", set()),
    # Someone else who is not being treated; hypothetical.
    ("my sister is pregnant, is it safe for me to have it?", set()),
    ("what if someone is on blood thinners?", set()),
]


@pytest.fixture(scope="module")
def detector():
    return get_detector()


@pytest.mark.parametrize("text,group", URGENT, ids=[c[0][:40] for c in URGENT])
def test_red_flags_in_everyday_words_with_time_and_severity(detector, text, group):
    assert group in detector.red_flags(text)


@pytest.mark.parametrize("text", MILD, ids=[c[:40] for c in MILD])
def test_mild_effects_and_questions_are_not_urgent(detector, text):
    assert detector.red_flags(text) == []


@pytest.mark.parametrize("text,expected", HANDOFF + NO_HANDOFF, ids=[c[0][:40] for c in HANDOFF + NO_HANDOFF])
def test_disclosure_roles(detector, text, expected):
    assert set(detector.patient_conditions(text)) == expected


def test_spelling_folds_sound_alikes_and_counts_transpositions():
    assert fold("plavicks") == fold("plavix")
    assert fold("haemophilia") == fold("hemophilia")
    assert distance("needels", "needles", 2) == 1
    assert distance("warferin", "warfarin", 2) == 1
    assert distance("breath", "bleeding", 2) == 3


def test_common_words_are_never_corrected_into_lexicon_terms(detector):
    assert detector.speller.correct("breath") is None
    assert detector.speller.correct("pregnancy") is None
    assert detector.speller.correct("warferin") == "warfarin"
