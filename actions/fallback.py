"""Turns the assistant cannot answer from an intent: unsure, out of scope, not covered."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import several
from actions.dispatch import send
from bot.content.knowledge import get_knowledge_base
from bot.content.replies import not_covered_reply, out_of_scope_reply, unsure_reply
from bot.content.retrieval import get_search


class ActionFallback(Action):
    """The NLU model was unsure: search the documents, else offer likely topics."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        reply = several(tracker) or unsure_reply(
            get_knowledge_base(),
            get_search(),
            tracker.latest_message.get("text") or "",
            tracker.latest_message.get("intent_ranking") or [],
            tracker.get_slot("failed_turns") or 0.0,
        )
        return send(dispatcher, reply)


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        return send(dispatcher, out_of_scope_reply(get_knowledge_base(), tracker.get_slot("failed_turns") or 0.0))


class ActionNotCovered(Action):
    def name(self) -> str:
        return "action_not_covered"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        return send(dispatcher, several(tracker) or not_covered_reply(tracker.get_slot("failed_turns") or 0.0))
