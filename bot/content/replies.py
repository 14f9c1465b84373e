"""Build the assistant's replies as plain data, independent of Rasa.

Actions call these pure functions and only dispatch the result, so every reply
can be unit-tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.content.knowledge import Answer, KnowledgeBase
from bot.content.messages import button_title, message
from bot.content.retrieval import PassageSearch

BOOK_BUTTON = {"title": button_title("book"), "payload": "/book_appointment"}
CLINICIAN_BUTTON = {"title": button_title("clinician"), "payload": "/request_clinician"}
POPULAR_TOPICS = ("ask_is_it_safe", "ask_side_effects", "ask_who_should_avoid")
OFFER_CLINICIAN_AFTER = 2  # consecutive turns without an answer


@dataclass
class Reply:
    """What an action sends: text, buttons, an optional custom payload, and the failure count."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict | None = None
    failed_turns: float = 0.0


def kind(name: str) -> dict[str, str]:
    """The custom payload that says what sort of reply a text is, for clients and benchmarks (no text matching)."""
    return {"reply": name}


def topic_buttons(kb: KnowledgeBase, intents: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
    return [{"title": kb.title(i), "payload": f"/{i}"} for i in intents if i in kb.topics]


def answer_reply(answer: Answer, kb: KnowledgeBase) -> Reply:
    """A knowledge answer: passages with sources, related topics, booking and clinician."""
    buttons = topic_buttons(kb, answer.related) + [BOOK_BUTTON, CLINICIAN_BUTTON]
    text = answer.body
    topic = kb.topics.get(answer.topic)
    if topic is not None and topic.seek_help:
        text += "\n\n" + message("seek_help")
    return Reply(text=text, buttons=buttons, custom=answer.payload, failed_turns=0.0)


def knowledge_reply(kb: KnowledgeBase, intent: str, entities: list[tuple[str, str]]) -> Reply | None:
    answer = kb.answer(intent, entities)
    return answer_reply(answer, kb) if answer else None


def likely_topics(kb: KnowledgeBase, intent_ranking: list[dict], k: int = 3) -> list[str]:
    """The model's most likely knowledge topics, padded with popular ones.

    Not the topics of the passages closest in meaning: below the threshold, the classifier's own next
    guesses include the right topic more often (`python benchmarks/cv_by_site.py --buttons`).
    """
    ranked = [str(r["name"]) for r in intent_ranking if r.get("name") in kb.topics]
    return list(dict.fromkeys(ranked + list(POPULAR_TOPICS)))[:k]


def _failed(previous_failures: float) -> tuple[float, bool]:
    count = (previous_failures or 0.0) + 1
    return count, count >= OFFER_CLINICIAN_AFTER


def unsure_reply(
    kb: KnowledgeBase,
    search: PassageSearch,
    text: str,
    intent_ranking: list[dict],
    previous_failures: float,
) -> Reply:
    """The model is unsure: answer from a strong document match, else offer likely topics."""
    if not (text or "").strip():
        return Reply(message("empty"), topic_buttons(kb, POPULAR_TOPICS), custom=kind("unsure"), failed_turns=previous_failures or 0.0)
    hit = search.best(text)
    if hit is not None:
        return answer_reply(kb.passage_answer(hit.passage.id), kb)
    count, offer_clinician = _failed(previous_failures)
    if offer_clinician:
        return Reply(message("still_unsure"), buttons=[CLINICIAN_BUTTON, BOOK_BUTTON], custom=kind("unsure"), failed_turns=count)
    return Reply(message("unsure"), buttons=topic_buttons(kb, likely_topics(kb, intent_ranking)), custom=kind("unsure"), failed_turns=count)


def out_of_scope_reply(kb: KnowledgeBase, previous_failures: float) -> Reply:
    """Say what the assistant covers; after repeated misses, offer a clinician first."""
    count, offer_clinician = _failed(previous_failures)
    buttons = topic_buttons(kb, POPULAR_TOPICS)
    buttons = [CLINICIAN_BUTTON, *buttons] if offer_clinician else [*buttons, CLINICIAN_BUTTON]
    return Reply(message("out_of_scope"), buttons=buttons, custom=kind("out_of_scope"), failed_turns=count)


def not_covered_reply(previous_failures: float) -> Reply:
    """Honest 'our information doesn't cover that', with clinician and booking."""
    count, _ = _failed(previous_failures)
    return Reply(message("not_covered"), buttons=[CLINICIAN_BUTTON, BOOK_BUTTON], custom=kind("not_covered"), failed_turns=count)
