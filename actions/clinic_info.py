"""Practical clinic questions, answered from the clinic's settings (clinic.yml)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import latest_entities, several
from actions.dispatch import send
from bot.config import get_settings
from bot.content.clinic_info import ENTITY, clinic_info_reply


class ActionClinicInfo(Action):
    def name(self) -> str:
        return "action_clinic_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        subjects = [value for entity, value in latest_entities(tracker) if entity == ENTITY]
        return send(dispatcher, several(tracker) or clinic_info_reply(get_settings().clinic, subjects))
