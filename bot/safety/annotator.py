"""Rasa NLU component: the safety screen that runs on every message.

After the intent classifier, it adds ``condition`` and ``red_flag`` entities whose
role says who the mention is about and when (patient, negated, other_person,
hypothetical, historical), and sets the safety intents from the screen's one decision
(bot/safety/screen.py), whatever the model predicted and however confident it was:
a red flag -> ``report_urgent_symptom``; a likely but uncertain one ->
``possible_urgent_symptom`` (one quick Yes/No question); an affirmed disclosure about the
patient -> ``disclose_condition``. If the model predicted one of those and the screen found
nothing, the next-best intent is used instead. The decision is final: the fallback
classifier that runs next (bot/safety/fallback.py) leaves it alone.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.events import SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.screen import Decision, Earlier, get_screen

URGENT, DISCLOSE, CHECK = "report_urgent_symptom", "disclose_condition", "possible_urgent_symptom"
BOOKING = {"entity": "booking", "value": "someone_else"}  # the visitor books for another person
SAFETY_INTENTS = (URGENT, DISCLOSE, CHECK)
_INTENT = {"urgent": URGENT, "disclose": DISCLOSE, "check": CHECK}


def safety_intent(decision: Decision) -> str | None:
    return _INTENT[decision.kind] if decision.kind else None


def booked_for_someone(tracker: DialogueStateTracker | None) -> bool:
    """Whether an earlier message of this conversation's session booked for another person."""
    if tracker is None:
        return False
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            return False
        if isinstance(event, UserUttered) and any(
            e.get("entity") == BOOKING["entity"] and e.get("value") == BOOKING["value"] for e in event.entities or []
        ):
            return True
    return False


def previous_message(tracker: DialogueStateTracker | None) -> Earlier | None:
    """The visitor's previous message in this session and whether it got urgent guidance (a message that goes on
    about an after-effect is read with it: "still going, 20 min now")."""
    if tracker is None:
        return None
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            return None
        if isinstance(event, UserUttered):
            urgent = (event.intent or {}).get("name") == URGENT
            return Earlier(event.text, urgent) if isinstance(event.text, str) else None
    return None


def _entity(entity: str, value: str, role: str, start: int, end: int) -> dict[str, Any]:
    return {
        "entity": entity,
        "value": value,
        "role": role,
        "start": start,
        "end": end,
        "confidence_entity": 1.0,
        "extractor": "SafetyAnnotator",
    }


def entities_for(decision: Decision, groups: dict, text: str) -> list[dict[str, Any]]:
    """The lexicon's mentions with roles, conditions inferred without a mention, plus the learned detector's group (role ``patient`` when it
    decided urgent, ``possible`` when it asks) spanning the whole message."""
    found = [
        _entity("red_flag" if groups[m.group].kind == "red_flag" else "condition", m.group, m.role, m.start, m.end)
        for m in decision.analysis.mentions
    ]
    lexicon_flags = {m.group for m in decision.analysis.mentions if groups[m.group].kind == "red_flag"}
    # A condition without a mention of its own ("numb for years": neurological, ``chronic_as``) spans the message.
    mentioned = {m.group for m in decision.analysis.mentions if m.role == "patient"}
    found += [_entity("condition", c, "patient", 0, len(text)) for c in decision.analysis.conditions if c not in mentioned]
    if decision.kind == "urgent":
        found += [_entity("red_flag", g, "patient", 0, len(text)) for g in decision.red_flags if g not in lexicon_flags]
    if decision.kind == "check" and decision.check_group:
        found.append(_entity("red_flag", decision.check_group, "possible", 0, len(text)))
    return found


def reranked(intent: dict | None, ranking: list[dict], safety: str | None) -> tuple[dict | None, list[dict]]:
    """Put the safety intent first, or drop a safety intent the detectors do not support."""
    others = [r for r in ranking if r.get("name") not in SAFETY_INTENTS]
    if safety:
        top = {"name": safety, "confidence": 1.0}
        return top, [top, *others]
    if intent and intent.get("name") in SAFETY_INTENTS:
        return (others[0] if others else None), others
    return intent, ranking


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class SafetyAnnotator(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyAnnotator:
        return cls()

    def __init__(self) -> None:
        self.screen = get_screen()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # Optional[...], not "X | None": Rasa checks graph inputs with typing_utils, which only understands the former.
    def process(self, messages: list[Message], tracker: Optional[DialogueStateTracker] = None) -> list[Message]:  # noqa: UP045
        """Rasa passes the conversation (``tracker``) to a component whose ``process`` asks for it: a person the
        visitor booked for in an earlier message is the patient in this one ("can I book my mum in?" / "she's on warfarin"),
        and a message that goes on about the previous one is read with it."""
        booked_earlier = booked_for_someone(tracker)
        earlier = previous_message(tracker)
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            decision = self.screen.screen(text, booked_earlier, earlier)
            found = entities_for(decision, self.screen.detector.groups, text)
            if decision.analysis.books_for_someone:
                found.append({**BOOKING, "start": 0, "end": len(text), "confidence_entity": 1.0, "extractor": "SafetyAnnotator"})
            if found:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found], add_to_output=True)
            intent, ranking = reranked(message.get(INTENT), message.get(INTENT_RANKING_KEY) or [], safety_intent(decision))
            if intent is not None:
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
