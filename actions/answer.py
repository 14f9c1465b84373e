"""Answer every knowledge intent from the clinic's documents."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import send
from bot.config import get_settings
from bot.content.knowledge import get_knowledge_base
from bot.content.replies import Reply, knowledge_reply, unsure_reply
from bot.content.retrieval import get_search
from bot.content.several import QUESTIONS, several_reply


def latest_entities(tracker: Tracker) -> list[tuple[str, str]]:
    return [(e["entity"], str(e["value"])) for e in tracker.latest_message.get("entities") or [] if e.get("value")]


def several(tracker: Tracker) -> Reply | None:
    """One reply for all the questions of a message that asks several (None if it asks one)."""
    questions = tracker.latest_message.get(QUESTIONS) or []
    if len(questions) < 2:
        return None
    return several_reply(get_knowledge_base(), get_settings().clinic, questions, latest_entities(tracker))


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        kb = get_knowledge_base()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        reply = several(tracker) or knowledge_reply(kb, intent, latest_entities(tracker))
        if reply is None:  # a rule routed a non-knowledge intent here: treat as unsure
            reply = unsure_reply(
                kb,
                get_search(),
                tracker.latest_message.get("text") or "",
                tracker.latest_message.get("intent_ranking") or [],
                tracker.get_slot("failed_turns") or 0.0,
            )
        return send(dispatcher, reply)
