"""One reply for a message that asks several questions: each answered under its own title, with its sources.

The NLU classifier lists the questions it found (bot/nlu/intent_classifier.py); this keeps those
the assistant can answer (document topics, practical clinic questions, not-covered ones), in the
order asked, and fits them into one reply of at most ``REPLY_LIMIT`` characters by keeping whole
segments of each answer while they fit (every answer keeps at least its first segment).
"""

from __future__ import annotations

from typing import Any

from bot.config import ClinicSettings
from bot.content.clinic_info import ENTITY, clinic_info_reply
from bot.content.knowledge import Answer, KnowledgeBase, Segment
from bot.content.messages import message
from bot.content.replies import BOOK_BUTTON, CLINICIAN_BUTTON, Reply, topic_buttons

QUESTIONS = "questions"  # parse-data key the NLU classifier fills for a message that asks several
REPLY_LIMIT = 1500  # characters of answer text, about one screen and within one SMS part of 1600
CLINIC_INFO = "ask_clinic_info"
NOT_COVERED = "ask_not_covered"


def answerable(kb: KnowledgeBase, questions: list[dict[str, Any]]) -> list[str]:
    """The intents of the questions this module can answer, once each, in the order asked."""
    keep = [q.get("intent") for q in questions if q.get("intent") in kb.topics or q.get("intent") in (CLINIC_INFO, NOT_COVERED)]
    return list(dict.fromkeys(str(i) for i in keep))


def _fit(answer: Answer, budget: int) -> tuple[str, list[str], list[dict[str, str]]]:
    """The answer's text cut to whole segments within ``budget``, with the passages and sources it kept."""
    kept: list[Segment] = []
    for segment in answer.segments:
        if kept and len(Answer(answer.topic, (*kept, segment)).body) > budget:
            break
        kept.append(segment)
    part = Answer(answer.topic, tuple(kept))
    return part.body, [s.passage.id for s in kept], part.sources


def several_reply(
    kb: KnowledgeBase, clinic: ClinicSettings, questions: list[dict[str, Any]], entities: list[tuple[str, str]]
) -> Reply | None:
    """One reply answering every answerable question, or None when fewer than two are answerable."""
    intents = answerable(kb, questions)
    if len(intents) < 2:
        return None
    budget = REPLY_LIMIT // len(intents)
    parts: list[str] = []
    topics: list[str] = []
    passages: list[str] = []
    sources: list[dict[str, str]] = []
    kinds: list[str] = []
    for intent in intents:
        if intent in kb.topics:
            answer = kb.answer(intent)
            assert answer is not None
            text, used, cited = _fit(answer, budget)
            parts.append(f"{kb.title(intent)}\n{text}")
            topics.append(intent)
            passages += [p for p in used if p not in passages]
            sources += [s for s in cited if s not in sources]
        elif intent == CLINIC_INFO:
            parts.append(clinic_info_reply(clinic, [v for e, v in entities if e == ENTITY]).text)
            kinds.append("clinic_info")
        else:
            parts.append(message("not_covered", clinic))
            kinds.append("not_covered")
    custom: dict[str, Any] = {"topics": topics, "passages": passages, "sources": sources, "questions": intents}
    if topics:
        custom["topic"] = topics[0]
    if kinds:
        custom["replies"] = kinds
    if any(kb.topics[t].seek_help for t in topics):
        parts.append(message("seek_help", clinic))
    related = [r for t in topics for r in kb.topics[t].related if r not in topics]
    buttons = topic_buttons(kb, list(dict.fromkeys(related))[:2]) + [BOOK_BUTTON, CLINICIAN_BUTTON]
    return Reply("\n\n".join(parts), buttons=buttons, custom=custom, failed_turns=0.0)
