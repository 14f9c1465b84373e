"""The learned condition reader adds conditions in words no list holds; the lexicon's role rules still decide."""

from __future__ import annotations

import numpy as np
import pytest

from bot.safety.condition_topics import NONE, choose_threshold, load_corpus
from bot.safety.detector import get_detector
from bot.safety.lexicon import load_groups
from bot.safety.screen import get_screen


def test_the_corpus_names_every_condition_group_and_only_those():
    _, labels = load_corpus()
    assert set(labels) - {NONE} == set(load_groups())


def test_the_threshold_keeps_readings_of_ordinary_sentences_rare():
    best = np.array([0.99, 0.95, 0.6, 0.3] + [0.2] * 98 + [0.97, 0.4])
    labels = np.array(["pregnancy"] * 4 + [NONE] * 100)
    predicted = np.array(["pregnancy"] * 104, dtype=object)
    threshold, report = choose_threshold(best, labels, predicted)
    assert 0.4 < threshold <= 0.5  # one of 100 ordinary sentences (0.97) may pass, not two (0.4)
    assert report["cv_false_on_none"] == 0.01 and report["cv_found"] == 0.75


# Wordings the lexicon holds no term for (the learned reader must carry them), written for this test.
@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("i'm on the fortnightly injections for my crohn's", "immunocompromised"),
        ("baby number two arrives in april", "pregnancy"),
        ("i have a wire thing in my chest for my heart rhythm", "implanted_device"),
    ],
)
def test_a_condition_in_everyday_words_reaches_a_clinician(text, group):
    assert not get_detector().analyse(text).conditions  # not in the lexicon's words...
    decision = get_screen().screen(text)
    assert decision.kind == "disclose" and group in decision.analysis.conditions  # ...but read, and handed off
    assert any(m.source == "learned" and m.role == "patient" for m in decision.analysis.mentions)


def always(group: str):
    """A reader that says every sentence is about ``group``: the role rules alone decide."""
    return lambda text, spans: [group] * len(spans)


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("i'm on the fortnightly injections for my crohn's", "patient"),
        ("my sister is on the fortnightly injections for her crohn's", "other_person"),
        ("what if someone is on fortnightly injections for crohn's?", "hypothetical"),
        ("i was on the fortnightly injections for my crohn's years ago", "historical"),
        ("i'm not on any fortnightly injections", "negated"),
        ("booking for my dad, he's on the fortnightly injections for his crohn's", "patient"),  # the person booked for
    ],
)
def test_a_learned_reading_gets_the_sentences_role(text, role):
    mentions = get_detector().analyse(text, topics=always("immunocompromised")).mentions
    assert [(m.group, m.role, m.source) for m in mentions] == [("immunocompromised", role, "learned")]


def test_the_lexicon_comes_first_and_harmless_phrases_and_ages_stay_its_own():
    detector = get_detector()
    both = detector.analyse("i'm not pregnant", topics=always("pregnancy")).mentions
    assert [(m.role, m.source) for m in both] == [("negated", "lexicon")]  # the lexicon saw it: no second reading
    assert not detector.analyse("2nd trimester of uni is killing me", topics=always("pregnancy")).mentions
    assert not detector.analyse("my son is 16 and plays rugby", topics=always("child_patient")).conditions
