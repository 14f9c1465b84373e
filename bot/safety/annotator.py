"""Rasa NLU component: the safety net that runs on every message.

After the intent classifier, it adds ``condition`` and ``red_flag`` entities whose
role says who the mention is about and when (patient, negated, other_person,
hypothetical, historical), and decides the two safety intents itself, whatever
the model predicted and however confident it was:
a red flag -> ``report_urgent_symptom``; an affirmed disclosure about the patient
-> ``disclose_condition``. If the model predicted one of those two and the
detectors found nothing, the next-best intent is used instead.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.detector import Analysis, get_detector

URGENT, DISCLOSE = "report_urgent_symptom", "disclose_condition"


def safety_intent(analysis: Analysis) -> str | None:
    if analysis.red_flags:
        return URGENT
    if analysis.conditions:
        return DISCLOSE
    return None


def entities_for(analysis: Analysis, groups: dict) -> list[dict[str, Any]]:
    return [
        {
            "entity": "red_flag" if groups[m.group].kind == "red_flag" else "condition",
            "value": m.group,
            "role": m.role,
            "start": m.start,
            "end": m.end,
            "confidence_entity": 1.0,
            "extractor": "SafetyAnnotator",
        }
        for m in analysis.mentions
    ]


def reranked(intent: dict | None, ranking: list[dict], safety: str | None) -> tuple[dict | None, list[dict]]:
    """Put the safety intent first, or drop a safety intent the detectors do not support."""
    others = [r for r in ranking if r.get("name") not in (URGENT, DISCLOSE)]
    if safety:
        top = {"name": safety, "confidence": 1.0}
        return top, [top, *others]
    if intent and intent.get("name") in (URGENT, DISCLOSE):
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
        self.detector = get_detector()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            analysis = self.detector.analyse(text)
            found = entities_for(analysis, self.detector.groups)
            if found:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found], add_to_output=True)
            intent, ranking = reranked(message.get(INTENT), message.get(INTENT_RANKING_KEY) or [], safety_intent(analysis))
            if intent is not None:
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
