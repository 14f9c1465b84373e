"""Rasa intent classifier: logistic regression on sentence embeddings plus word and character counts.

Why not DIET: on real visitors' questions from sites never used for training, a linear head on
all-MiniLM-L6-v2 sentence vectors and the count features did as well or better, trains in seconds
instead of minutes, and gives calibrated probabilities for the fallback threshold
(benchmarks/results/real_questions.json, README "Understanding questions").

It also finds several questions in one message ("what does it do, does it hurt, and what are the
side effects?"): the message is split into questions, each is classified on its sentence vector, and
when two or more name different answerable intents they are listed in the message's ``questions``
for the answering actions. The parameters are stored as plain arrays (no pickle).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, vstack

from bot.content.several import QUESTIONS

RANKING_LENGTH = 10
_CLAUSE = re.compile(r"(?<=[?!.;])\s+|,\s*(?:and\s+|or\s+)?|\s+(?:and|also|plus)\s+(?=\w)", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Head:
    """A multinomial logistic regression as arrays: probabilities are softmax(x @ coef.T + intercept)."""

    coef: NDArray[np.float64]
    intercept: NDArray[np.float64]

    def proba(self, x: Any) -> NDArray[np.float64]:
        return self._softmax(np.asarray(x @ self.coef.T) + self.intercept)

    def proba_split(self, sparse: csr_matrix, dense: NDArray[np.float32]) -> NDArray[np.float64]:
        """``proba`` of [sparse, dense] without building the stacked matrix (the per-message hot path)."""
        width = sparse.shape[1]
        weights = self._coef_t
        scores = np.asarray(sparse @ weights[:width]) + dense @ weights[width:] + self.intercept
        return self._softmax(scores)

    @cached_property
    def _coef_t(self) -> NDArray[np.float64]:
        return np.ascontiguousarray(self.coef.T)

    @staticmethod
    def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)


def split_questions(text: str, openers: frozenset[str]) -> list[str]:
    """The questions of a message: sentences, and clauses that start with a question word.

    A comma or "and" splits only when a question word follows, so "is it safe for kids and
    older people?" stays one question. Each question keeps its own words, punctuation included.
    """
    parts, start = [], 0
    for boundary in _CLAUSE.finditer(text):
        following = _WORD.findall(text[boundary.end() :].lower())[:1]
        sentence_end = boundary.start() > 0 and text[boundary.start() - 1] in "?!.;"
        if sentence_end or (following and following[0] in openers):
            parts.append(text[start : boundary.start()].strip())
            start = boundary.end()
    parts.append(text[start:].strip())
    return [p for p in parts if len(_WORD.findall(p.lower())) >= 2]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over [L2-normalised log counts, weighted sentence embedding]."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 10.0,  # inverse regularisation, chosen by cross-validation by site on the training questions
            "dense_weight": 2.0,  # embedding weight against the unit-length count vector
            "max_iter": 2000,
            "question_confidence": 0.5,  # each of several questions must be at least this sure
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.classes: list[str] = []
        self.full: Head | None = None
        self.dense: Head | None = None
        self._openers: frozenset[str] | None = None

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    # Features ------------------------------------------------------------------------------------

    def _features(self, messages: list[Message]) -> tuple[csr_matrix, NDArray[np.float32]]:
        """Count and embedding rows; a message without them (e.g. an empty text) gets zeros of the trained width."""
        sparse_dim, dense_dim = self._dims(messages)
        sparse_rows, dense_rows = [], []
        for m in messages:
            _, sparse = m.get_sparse_features(TEXT)
            _, dense = m.get_dense_features(TEXT)
            row = csr_matrix(sparse.features, dtype=np.float64) if sparse is not None else csr_matrix((1, sparse_dim))
            row.data = np.log1p(np.abs(row.data))
            norm = np.sqrt(row.multiply(row).sum())
            sparse_rows.append(row / norm if norm else row)
            vector = np.asarray(dense.features, dtype=np.float32).reshape(1, -1) if dense is not None else None
            dense_rows.append(vector if vector is not None else np.zeros((1, dense_dim), np.float32))
        return vstack(sparse_rows).tocsr(), np.vstack(dense_rows)

    def _dims(self, messages: list[Message]) -> tuple[int, int]:
        """Feature widths: from the trained heads, or (training) from the first message that has each kind."""
        if self.full is not None and self.dense is not None:
            dense_dim = self.dense.coef.shape[1]
            return self.full.coef.shape[1] - dense_dim, dense_dim
        sparse = next((f for f in (m.get_sparse_features(TEXT)[1] for m in messages) if f is not None), None)
        dense = next((f for f in (m.get_dense_features(TEXT)[1] for m in messages) if f is not None), None)
        return (sparse.features.shape[-1] if sparse is not None else 0), (dense.features.shape[-1] if dense is not None else 0)

    def _combined(self, sparse: csr_matrix, dense: NDArray[np.float32]) -> csr_matrix:
        return hstack([sparse, csr_matrix(dense * float(self.config["dense_weight"]))]).tocsr()

    # Training ------------------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        sparse, dense = self._features(examples)
        labels = [e.get(INTENT) for e in examples]
        heads = {}
        for name, x in (("full", self._combined(sparse, dense)), ("dense", dense * float(self.config["dense_weight"]))):
            model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]))
            model.fit(x, labels)
            heads[name] = Head(model.coef_.astype(np.float64), model.intercept_.astype(np.float64))
        self.classes = [str(c) for c in model.classes_]
        self.full, self.dense = heads["full"], heads["dense"]
        self.persist()
        return self._resource

    def persist(self) -> None:
        assert self.full is not None and self.dense is not None
        with self._storage.write_to(self._resource) as directory:
            np.savez(
                directory / "heads.npz",
                classes=np.array(self.classes),
                full_coef=self.full.coef,
                full_intercept=self.full.intercept,
                dense_coef=self.dense.coef,
                dense_intercept=self.dense.intercept,
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / "heads.npz", allow_pickle=False)
                component.classes = [str(c) for c in arrays["classes"]]
                component.full = Head(arrays["full_coef"], arrays["full_intercept"])
                component.dense = Head(arrays["dense_coef"], arrays["dense_intercept"])
        except (ValueError, FileNotFoundError):
            pass  # untrained (no intent examples): process() leaves messages alone
        return component

    # Prediction ----------------------------------------------------------------------------------

    def process(self, messages: list[Message]) -> list[Message]:
        if self.full is None or not messages:
            return messages
        sparse, dense = self._features(messages)
        probabilities = self.full.proba_split(sparse, dense * float(self.config["dense_weight"]))
        for message, p in zip(messages, probabilities, strict=True):
            ranking = [{"name": self.classes[i], "confidence": float(p[i])} for i in np.argsort(-p)[:RANKING_LENGTH]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            questions = self._several_questions(message.get(TEXT) or "")
            if questions:
                message.set(QUESTIONS, questions, add_to_output=True)
        return messages

    def _several_questions(self, text: str) -> list[dict[str, Any]]:
        """Each question's intent when a message asks two or more different ones; else [].

        The answering actions keep the ones they can answer (bot/content/several.py).
        """
        if self.dense is None:
            return []
        if self._openers is None:
            from bot.safety.lexicon import question_words

            self._openers = question_words()
        parts = split_questions(text, self._openers)
        if len(parts) < 2:
            return []
        from bot.nlu.encoder import get_encoder

        probabilities = self.dense.proba(get_encoder().encode(parts) * float(self.config["dense_weight"]))
        found: dict[str, dict[str, Any]] = {}
        for part, p in zip(parts, probabilities, strict=True):
            best = int(np.argmax(p))
            intent, confidence = self.classes[best], float(p[best])
            if confidence >= float(self.config["question_confidence"]) and intent not in found:
                found[intent] = {"text": part, "intent": intent, "confidence": round(confidence, 3)}
        return list(found.values()) if len(found) >= 2 else []
