"""Training data and lexicon checks a clinic editing data/nlu would otherwise miss."""

from collections import Counter
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot import DATA_DIR, PROJECT_ROOT
from tests.conftest import KNOWLEDGE_INTENTS


@pytest.fixture(scope="module")
def training():
    return load_data(str(DATA_DIR / "nlu"))


def test_every_knowledge_intent_has_at_least_25_examples(training):
    counts = training.number_of_examples_per_intent
    for intent in KNOWLEDGE_INTENTS:
        assert counts.get(intent, 0) >= 25, intent


def test_no_example_is_labelled_with_two_intents(training):
    labels: dict[str, set[str]] = {}
    for message in training.intent_examples:
        labels.setdefault(message.get("text").lower().strip(), set()).add(message.get("intent"))
    assert not {t: i for t, i in labels.items() if len(i) > 1}


def test_every_entity_value_has_a_focused_answer(training, kb):
    """A synonym value with no entry in data/topics.yml would silently give the generic answer.

    Practical clinic subjects (clinic_topic) are answered from clinic.yml instead (test_clinic_info.py).
    """
    from bot.content.clinic_info import ENTITY, SUBJECTS

    values = set(training.entity_synonyms.values()) - set(SUBJECTS)
    focused = {value for _, value in kb.focused}
    assert values - focused == set()
    for lookup in training.lookup_tables:
        if lookup["name"] == ENTITY:
            continue
        for element in lookup["elements"]:
            value = training.entity_synonyms.get(element.lower(), element.lower())
            assert (lookup["name"], value) in kb.focused, (lookup["name"], element)


def test_lookup_forms_are_not_shared_between_entities(training):
    forms = Counter(e.lower() for lookup in training.lookup_tables for e in lookup["elements"])
    assert [f for f, n in forms.items() if n > 1] == []


def test_held_out_test_file_is_never_training_data():
    held_out = PROJECT_ROOT / "benchmarks" / "data" / "nlu_test.yml"
    assert held_out.exists()
    assert DATA_DIR not in held_out.parents
    assert not list(Path(DATA_DIR).rglob("nlu_test*"))
