"""Rasa's FallbackClassifier, except that it never overrides the safety screen's decision.

The screen (bot/safety/annotator.py) sets a safety intent at confidence 1.0; Rasa's
classifier then compared it with the model's runner-up and, when the two were close
("ambiguous"), replaced it with ``nlu_fallback``: a visitor reporting chest pain got "I'm not
sure I understood". A safety decision is final, so messages carrying one are left alone;
every other message falls back exactly as with Rasa's own component.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.safety.annotator import SAFETY_INTENTS


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyFirstFallbackClassifier(FallbackClassifier):
    def _should_fallback(self, message: Message) -> bool:
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) in SAFETY_INTENTS:
            return False
        return super()._should_fallback(message)
