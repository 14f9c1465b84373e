"""Start each conversation with the clinic's settings in slots for the domain's responses."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import get_settings


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        events += [SlotSet(name, value) for name, value in get_settings().clinic.as_slots().items()]
        events.append(ActionExecuted("action_listen"))
        return events
