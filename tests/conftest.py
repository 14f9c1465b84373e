"""Shared fixtures (the real knowledge base and search from data/) and the tier markers.

Each test folder is a tier, marked automatically so that ``-m`` can pick tiers:
unit (no server, model or database), integration (PostgreSQL/Redis started by the test),
system (both servers running a trained model), browser (Chromium), deployment (packaging).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bot.content.knowledge import KnowledgeBase, get_knowledge_base  # noqa: E402
from bot.content.retrieval import PassageSearch, get_search  # noqa: E402

TIERS = ("unit", "integration", "system", "browser", "deployment")
# The knowledge intents are the topic map's (data/topics.yml); tests/unit/test_topic_wiring.py
# checks that domain.yml and the rules agree with it.
KNOWLEDGE_INTENTS = list(get_knowledge_base().topics)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        tier = Path(item.fspath).relative_to(root).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return get_knowledge_base()


@pytest.fixture(scope="session")
def search() -> PassageSearch:
    return get_search()
