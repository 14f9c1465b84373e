"""Clinician handoff: disclosure or request -> documents' answer -> consent-first form -> stored record."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dispatch import send
from bot.content.knowledge import get_knowledge_base
from bot.content.messages import button_title, message
from bot.handoff.contact import looks_like_name, mask, parse_contact
from bot.handoff.form import confirmation, handoff_intro, looks_like_question, urgent_check_reply, urgent_reply
from bot.handoff.outbox import OutboxWorker
from bot.handoff.store import CLINICIAN_REQUEST, CONTRAINDICATION, URGENT, HandoffStore, HandoffStoreError
from bot.safety.lexicon import all_groups

logger = logging.getLogger(__name__)
FORM_SLOTS = ("consent", "contact_name", "contact_value")


@lru_cache(maxsize=1)
def get_store() -> HandoffStore:
    """One store per action server; the outbox worker runs when a notification (webhook, e-mail, Chatwoot) is configured."""
    store = HandoffStore.from_env()
    if store.outbox.notifiers:
        OutboxWorker(store).start()
    return store


def entity_values(tracker: Tracker, entity: str, roles: tuple[str, ...]) -> list[str]:
    values = [e["value"] for e in tracker.latest_message.get("entities") or [] if e.get("entity") == entity and e.get("role") in roles]
    return list(dict.fromkeys(values))


def clear_form() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ActionHandoffStart(Action):
    """First reply of every handoff; the form (consent, name, contact) follows.

    A further disclosure while the form runs adds its condition and answers it; what the
    visitor already gave (consent, name) is kept and the form goes on.
    """

    def name(self) -> str:
        return "action_handoff_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        new = entity_values(tracker, "condition", ("patient",))
        in_form = tracker.active_loop_name == "handoff_form"
        earlier = list(tracker.get_slot("handoff_conditions") or []) if in_form else []
        conditions = list(dict.fromkeys([*earlier, *new]))
        reason = CONTRAINDICATION if conditions else CLINICIAN_REQUEST
        send(dispatcher, handoff_intro(get_knowledge_base(), all_groups(), new or conditions, reason))
        events = [SlotSet("handoff_reason", reason), SlotSet("handoff_conditions", conditions)]
        return events if in_form else [*events, *clear_form()]


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Declining consent ends the form at once: nothing else is asked or kept.
        return [] if tracker.get_slot("consent") is False else domain_slots

    def _free_text(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        message = tracker.latest_message
        text = (message.get("text") or "").strip()
        intent = message.get("intent") or {}
        if not text or text.startswith("/") or looks_like_question(text, intent.get("name") or "", intent.get("confidence") or 0.0):
            return {}  # nothing extracted: the form steps aside, the question is answered, the form asks again
        return {slot: text}

    async def extract_contact_name(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return self._free_text(tracker, "contact_name")

    async def extract_contact_value(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return self._free_text(tracker, "contact_value")

    def validate_contact_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # cleared when the form starts
            return {"contact_name": None}
        name = " ".join(str(value).split())
        safety = any(e.get("entity") in ("condition", "red_flag") for e in tracker.latest_message.get("entities") or [])
        if safety or not looks_like_name(name):
            dispatcher.utter_message(text=message("invalid_name"))
            return {"contact_name": None}
        return {"contact_name": name}

    def validate_contact_value(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # cleared when the form starts: nothing was typed yet, so nothing to complain about
            return {"contact_value": None}
        contact = parse_contact(str(value))
        if contact is None:
            dispatcher.utter_message(text=message("invalid_contact"))
            return {"contact_value": None}
        return {"contact_value": contact.value}


def transcript(tracker: Tracker) -> list[dict[str, str]]:
    """The conversation's messages (visitor and assistant), for the clinician who calls back."""
    said = {"user": "visitor", "bot": "assistant"}
    return [{"from": said[e["event"]], "text": e.get("text") or ""} for e in tracker.events if e.get("event") in said and e.get("text")]


class ActionSubmitHandoff(Action):
    """Store the request (committed first), then tell the visitor; on failure, ask them to call."""

    def name(self) -> str:
        return "action_submit_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if tracker.get_slot("consent") is not True:
            dispatcher.utter_message(text=message("consent_declined"))
            return clear_form()
        name, contact = tracker.get_slot("contact_name"), parse_contact(tracker.get_slot("contact_value") or "")
        try:
            record = get_store().create(
                conversation_id=tracker.sender_id,
                reason=tracker.get_slot("handoff_reason") or CLINICIAN_REQUEST,
                conditions=tracker.get_slot("handoff_conditions") or [],
                name=name,
                contact=contact,
                consent_at=datetime.now(UTC),
                transcript=transcript(tracker),  # kept only with HANDOFF_STORE_TRANSCRIPT=true
                channel=tracker.get_latest_input_channel(),
            )
        except (HandoffStoreError, ValueError) as exc:
            logger.error("handoff could not be stored (%s)", type(exc).__name__)
            dispatcher.utter_message(text=message("handoff_failed"))
            return clear_form()
        logger.info("handoff %s stored", record.id)
        dispatcher.utter_message(text=confirmation(name or "", mask(contact) if contact else ""))
        return clear_form()


class ActionHandoffStopped(Action):
    def name(self) -> str:
        return "action_handoff_stopped"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=message("handoff_stopped"))
        return clear_form()


class ActionUrgent(Action):
    """Red flag: emergency guidance first, then the clinic's number; an urgent record without personal data."""

    def name(self) -> str:
        return "action_urgent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        flags = entity_values(tracker, "red_flag", ("patient", "other_person"))
        if not flags and tracker.get_slot("urgent_check"):  # "yes" to the quick question
            flags = [tracker.get_slot("urgent_check")]
        send(dispatcher, urgent_reply(all_groups(), flags))
        dispatcher.utter_message(text=message("urgent_followup"))
        try:
            record = get_store().create(
                conversation_id=tracker.sender_id, reason=URGENT, conditions=flags, channel=tracker.get_latest_input_channel()
            )
            logger.info("urgent handoff %s stored", record.id)
        except (HandoffStoreError, ValueError) as exc:
            logger.error("urgent handoff could not be stored (%s)", type(exc).__name__)
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("urgent_check", None), *clear_form()]


class ActionUrgentCheck(Action):
    """A likely red flag the screen is not sure about: one quick Yes/No question, first, above all else."""

    def name(self) -> str:
        return "action_urgent_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        groups = entity_values(tracker, "red_flag", ("possible",)) or ["breathing_or_chest"]
        send(dispatcher, urgent_check_reply(groups[0]))
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("urgent_check", groups[0]), *clear_form()]


class ActionUrgentCheckNo(Action):
    """ "No" to the quick question: when to get emergency care, never a reassurance."""

    def name(self) -> str:
        return "action_urgent_check_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=message("urgent_check_no"))
        return [SlotSet("urgent_check", None)]


class _Ask(Action):
    """The form's questions come from data/messages.yml like every other message."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        buttons = []
        if self.slot == "consent":
            buttons = [
                {"title": button_title("consent_yes"), "payload": "/affirm"},
                {"title": button_title("consent_no"), "payload": "/deny"},
            ]
        dispatcher.utter_message(text=message(f"ask_{self.slot}"), buttons=buttons)
        return []


class ActionAskConsent(_Ask):
    slot = "consent"


class ActionAskContactName(_Ask):
    slot = "contact_name"


class ActionAskContactValue(_Ask):
    slot = "contact_value"
