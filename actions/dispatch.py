"""Send a :class:`bot.content.replies.Reply` through rasa_sdk and return its slot events."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.content.replies import Reply


def send(dispatcher: CollectingDispatcher, reply: Reply) -> list[dict[str, Any]]:
    # One message, so channels can show the sources and options with the text they belong to.
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons, json_message=reply.custom)
    return [SlotSet("failed_turns", reply.failed_turns)]
