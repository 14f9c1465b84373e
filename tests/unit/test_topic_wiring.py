"""The topic map (data/topics.yml) is the one list of knowledge intents: domain.yml and the rules must agree.

``rasa data validate`` accepts a knowledge intent with no mid-form rule (the visitor would get
no answer while the handoff form runs), so these checks are written out here.
"""

from __future__ import annotations

import yaml

from bot import DATA_DIR, PROJECT_ROOT
from bot.content.knowledge import get_knowledge_base

ANSWER = "action_answer"
FORM = "handoff_form"


def _rules() -> list[dict]:
    return yaml.safe_load((DATA_DIR / "rules.yml").read_text())["rules"]


def _steps(rule: dict) -> list[tuple[str, str]]:
    return [next(iter(step.items())) for step in rule["steps"]]


def _answered(mid_form: bool) -> dict[str, list[tuple[str, str]]]:
    """Intent -> steps of each rule that answers it with action_answer (outside or during the form)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for rule in _rules():
        steps = _steps(rule)
        during_form = {"active_loop": FORM} in rule.get("condition", [])
        if during_form == mid_form and steps[0][0] == "intent" and ("action", ANSWER) in steps:
            found.setdefault(steps[0][1], []).append(steps)
    return found


def test_domain_lists_every_topic_and_no_stray_knowledge_intent():
    topics = set(get_knowledge_base().topics)
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    intents = set(domain["intents"])
    assert topics <= intents, f"topics missing from domain.yml: {sorted(topics - intents)}"
    assert ANSWER in domain["actions"]


def test_every_topic_is_answered_outside_the_form_by_exactly_one_rule():
    topics = set(get_knowledge_base().topics)
    answered = _answered(mid_form=False)
    assert set(answered) == topics, (sorted(topics - set(answered)), sorted(set(answered) - topics))
    for intent, rules in answered.items():
        assert rules == [[("intent", intent), ("action", ANSWER)]], intent


def test_every_topic_is_answered_during_the_handoff_form_and_the_form_resumes():
    topics = set(get_knowledge_base().topics)
    answered = _answered(mid_form=True)
    assert set(answered) == topics, (sorted(topics - set(answered)), sorted(set(answered) - topics))
    for intent, rules in answered.items():
        assert rules == [[("intent", intent), ("action", ANSWER), ("action", FORM), ("active_loop", FORM)]], intent
