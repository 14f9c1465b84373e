"""Rasa dense featurizer: all-MiniLM-L6-v2 sentence and token features, from the process's one encoder.

The same encoder (bot/nlu/encoder.py, numpy, no torch) serves the safety detector, so a message goes
through the model once: the encoder remembers the vector of the message it last saw. Sentence
features are the model's mean-pooled sentence vector; sequence features, one row per Rasa token, are
the mean of the word pieces inside that token's characters (``token_features``, for DIET).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

BATCH = 64


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds MiniLM sentence and token features to the TEXT of every message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Token features are for DIET; a sentence-level classifier needs only the sentence vector (half the cost).
        return {**DenseFeaturizer.get_default_config(), "token_features": True}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.token_features = bool(self._config["token_features"])

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> SentenceFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to configure beyond the base class."""

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize([m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _featurize(self, messages: list[Message]) -> None:
        from bot.nlu.encoder import get_encoder

        encoder = get_encoder()
        for start in range(0, len(messages), BATCH):
            batch = messages[start : start + BATCH]
            if not self.token_features:
                for message, vector in zip(batch, encoder.encode([m.get(TEXT) for m in batch], batch_size=BATCH), strict=True):
                    self.add_features_to_message(None, vector[None, :].astype(np.float32), TEXT, message)
                continue
            for message, contextual in zip(batch, encoder.encode_tokens([m.get(TEXT) for m in batch]), strict=True):
                spans = [(t.start, t.end) for t in message.get(TOKENS_NAMES[TEXT])]
                sequence = contextual.token_vectors(spans)
                self.add_features_to_message(sequence, contextual.sentence[None, :].astype(np.float32), TEXT, message)
