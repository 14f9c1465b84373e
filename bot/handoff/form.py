"""Replies of the safety layer: disclosures routed to a clinician, and red flags.

Pure functions: what the documents say about each disclosed condition (with
sources), the plain statement that a clinician must review, and the payloads a
web page or the clinic's system reads. Never a personal clearance.
"""

from __future__ import annotations

import re
from typing import Any

from bot.content.knowledge import KnowledgeBase
from bot.content.messages import button_title, message, message_group
from bot.content.replies import Reply
from bot.safety.lexicon import ConditionGroup, question_words, stop_words


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def handoff_intro(kb: KnowledgeBase, groups: dict[str, ConditionGroup], conditions: list[str], reason: str) -> Reply:
    """First reply of a handoff: the documents on each condition, then why a clinician must review."""
    known = [groups[c] for c in conditions if c in groups]
    parts: list[str] = []
    sources: list[dict[str, str]] = []
    answered: set[tuple[str, str]] = set()
    for group in known:
        if group.covered and group.answer and group.answer not in answered:
            answered.add(group.answer)
            answer = kb.answer("ask_who_should_avoid", [group.answer])
            if answer:
                parts.append(answer.body)
                sources += [s for s in answer.sources if s not in sources]
        elif not group.covered:
            parts.append(message("handoff_not_covered", label=group.label))
    if known:
        parts.append(message("handoff_review", labels=_join([g.label for g in known])))
    else:
        parts.append(message("handoff_request"))
    payload: dict[str, Any] = {"handoff": {"reason": reason, "conditions": [g.key for g in known]}}
    if sources:
        payload["sources"] = sources
    return Reply("\n\n".join(parts), [], custom=payload)


def urgent_reply(groups: dict[str, ConditionGroup], red_flags: list[str]) -> Reply:
    """Emergency guidance first; the clinic's number follows in a second message."""
    labels = [groups[f].label for f in red_flags if f in groups] or ["These symptoms"]
    symptoms = _join(labels)
    text = message("urgent", symptoms=symptoms[0].upper() + symptoms[1:])
    return Reply(text, [], custom={"urgent": True, "red_flags": red_flags})


def urgent_check_reply(group: str) -> Reply:
    """The quick Yes/No question for a likely red flag (data/messages.yml ``urgent_check``)."""
    question = message_group("urgent_check", group)
    buttons = [
        {"title": button_title("urgent_yes"), "payload": "/affirm"},
        {"title": button_title("urgent_no"), "payload": "/deny"},
    ]
    return Reply(question, buttons, custom={"urgent_check": group})


def confirmation(name: str, contact_display: str) -> str:
    return message("handoff_confirmed", name=name, contact=contact_display)


_NOT_ANSWERS = {
    "stop",
    "report_urgent_symptom",
    "possible_urgent_symptom",
    "disclose_condition",
    "bot_challenge",
    "book_appointment",
    "ask_not_covered",
}


def looks_like_question(text: str, intent: str, confidence: float) -> bool:
    """During the form, is this message a question (answer it) rather than the value asked for?

    A name or a phone number can be classified as any intent, so the intent alone is not
    enough: it must also look like a question or be a confident, longer message.
    """
    if intent == "stop":  # the model reads unusual names as "stop" too: only a stop word stops
        padded = " " + " ".join(re.findall(r"[a-z']+", text.lower())) + " "
        return any(f" {word} " in padded for word in stop_words())
    if intent in _NOT_ANSWERS:
        return True
    if not intent.startswith("ask_"):
        return False
    words = text.lower().split()
    return text.rstrip().endswith("?") or (bool(words) and words[0] in question_words()) or (len(words) >= 5 and confidence >= 0.8)
