"""Answer every knowledge intent from the clinic's documents."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import send
from bot.content.knowledge import get_knowledge_base
from bot.content.replies import knowledge_reply, unsure_reply
from bot.content.retrieval import get_search


def latest_entities(tracker: Tracker) -> list[tuple[str, str]]:
    return [(e["entity"], str(e["value"])) for e in tracker.latest_message.get("entities") or [] if e.get("value")]


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        kb = get_knowledge_base()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        reply = knowledge_reply(kb, intent, latest_entities(tracker))
        if reply is None:  # a rule routed a non-knowledge intent here: treat as unsure
            reply = unsure_reply(
                kb,
                get_search(),
                tracker.latest_message.get("text") or "",
                tracker.latest_message.get("intent_ranking") or [],
                tracker.get_slot("failed_turns") or 0.0,
            )
        return send(dispatcher, reply)
