"""Clean visitor text before the NLU pipeline sees it.

Markup pasted or typed into a chat ("<b>is it safe</b>", "<script>...</script>")
must not become features: tag names like "script" or "img" would otherwise pull
the message towards a random topic. Runs first in config.yml, for every channel.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_SCRIPT_OR_STYLE = re.compile(r"(?is)<(script|style)\b[^>]*>.*?(</\1\s*>|$)")
_TAG = re.compile(r"(?s)</?[a-zA-Z!][^<>]{0,500}>")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Drop markup and invisible characters; keep everything a person wrote."""
    text = html.unescape(text or "")
    text = _SCRIPT_OR_STYLE.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf"} or ch in "\n\t")
    return _SPACE.sub(" ", text).strip()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class TextCleaner(GraphComponent):
    """Rasa NLU component applying :func:`clean_text` to incoming messages."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextCleaner:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Training examples are written clean; changing them would shift entity offsets.
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(TEXT, clean_text(text))
        return messages
