"""Shared fixtures: the real knowledge base, search and settings from data/."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bot.knowledge import KnowledgeBase, get_knowledge_base  # noqa: E402
from bot.retrieval import PassageSearch, get_search  # noqa: E402

KNOWLEDGE_INTENTS = [
    "ask_what_is_dry_needling",
    "ask_conditions_treated",
    "ask_is_it_safe",
    "ask_who_should_avoid",
    "ask_side_effects",
    "ask_serious_risks",
    "ask_does_it_hurt",
    "ask_vs_acupuncture",
    "ask_practitioner_qualifications",
    "ask_safety_measures",
    "ask_older_adults",
    "ask_children",
    "ask_before_treatment",
]


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return get_knowledge_base()


@pytest.fixture(scope="session")
def search() -> PassageSearch:
    return get_search()
