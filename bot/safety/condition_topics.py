"""The learned condition-topic detector: which condition a sentence is about, in words no list holds.

The lexicon (data/lexicon/conditions.yml) knows the words a clinic would write; visitors write
"we've got a little one on the way", "I go white as a sheet when I see a syringe", "on the
fortnightly injections for my crohn's". This detector reads the meaning of each sentence
(all-MiniLM-L6-v2 embeddings, logistic regression over the condition groups and ``none``) and
says which condition it is about. It does NOT decide whom or when: the lexicon detector's
ConText cues give the sentence its role (bot/safety/detector.py), so "I'm not pregnant" or "my
sister is expecting" stay look-alikes. It only adds a condition the lexicon did not see at all.

Trained on data/safety/condition_corpus.yml and built into ``build/condition-topics.npz`` by
``scripts/train``:

    python -m bot.safety.condition_topics --build     # no-op when the corpus has not changed

Its threshold is chosen by cross-validation on the corpus when it is built (never on an
evaluation set): the lowest probability at which at most MAX_FALSE_TOPIC of the ``none``
sentences get a condition.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from bot import DATA_DIR, PROJECT_ROOT
from bot.safety.built import build_command, corpus_hash, current_model

CORPUS = DATA_DIR / "safety" / "condition_corpus.yml"
BUILT = PROJECT_ROOT / "build" / "condition-topics.npz"
NONE = "none"
MAX_FALSE_TOPIC = 0.01  # of the corpus's ``none`` sentences given a condition, by 5-fold cross-validation
MIN_THRESHOLD = 0.5
# A message whose whole reading gives every condition less than this is not read sentence by sentence. Low on
# purpose: it only saves the sentences' forward passes on messages about nothing of the kind.
GATE = 0.05


@dataclass(frozen=True)
class Topic:
    group: str | None  # the condition group a sentence is about, None when it is about none (or not surely)
    probability: float


def load_corpus(path: Path = CORPUS) -> tuple[list[str], list[str]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
    texts: list[str] = []
    labels: list[str] = []
    for label, items in raw.items():
        texts += [str(t) for t in items or []]
        labels += [str(label)] * len(items or [])
    return texts, labels


class ConditionTopics:
    """Multinomial logistic regression; a sentence gets its most likely condition when it reaches ``threshold``."""

    def __init__(self, coef: NDArray, intercept: NDArray, classes: list[str], threshold: float) -> None:
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.classes = classes
        self.threshold = float(threshold)
        self._conditions = np.array([c != NONE for c in classes])

    def probabilities(self, vectors: NDArray[np.float32]) -> NDArray[np.float64]:
        scores = vectors @ self.coef.T + self.intercept
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict_vectors(self, vectors: NDArray[np.float32]) -> list[Topic]:
        topics = []
        for row in self.probabilities(vectors):
            best = int(np.argmax(np.where(self._conditions, row, -1.0)))
            p = float(row[best])
            topics.append(Topic(self.classes[best] if p >= self.threshold else None, p))
        return topics

    def may_mention_a_condition(self, text: str, seen: frozenset[str] | set[str] = frozenset()) -> bool:
        """Whether the whole message reads as possibly about a condition (GATE), other than ``seen`` (the lexicon's
        finds): only then are its sentences read, a forward pass each, the screen's largest cost."""
        from bot.nlu.encoder import get_encoder

        row = self.probabilities(get_encoder().encode([text]))[0]
        others = self._conditions & np.array([c not in seen for c in self.classes])
        return bool(others.any() and row[others].max() >= GATE)

    def predict(self, texts: list[str]) -> list[Topic]:
        from bot.nlu.encoder import get_encoder

        return self.predict_vectors(get_encoder().encode(texts)) if texts else []

    def save(self, path: Path, source_hash: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            coef=self.coef,
            intercept=self.intercept,
            classes=np.array(self.classes),
            threshold=np.array(self.threshold),
            corpus_sha256=np.array(source_hash),
        )

    @classmethod
    def load(cls, path: Path = BUILT) -> ConditionTopics:
        data = np.load(path, allow_pickle=False)
        return cls(data["coef"], data["intercept"], [str(c) for c in data["classes"]], float(data["threshold"]))


def _fit(vectors: NDArray[np.float32], labels: list[str]) -> ConditionTopics:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=8.0, max_iter=3000).fit(vectors, labels)
    return ConditionTopics(model.coef_, model.intercept_, [str(c) for c in model.classes_], 1.0)


def choose_threshold(best_condition: NDArray, labels: NDArray, predicted: NDArray) -> tuple[float, dict[str, float]]:
    """The lowest cut at which at most MAX_FALSE_TOPIC of the ``none`` sentences get a condition (at least MIN_THRESHOLD)."""
    none = np.sort(best_condition[labels == NONE])
    allowed = int(np.floor(MAX_FALSE_TOPIC * len(none)))
    threshold = float(max(MIN_THRESHOLD, none[len(none) - allowed - 1] + 1e-6)) if len(none) else MIN_THRESHOLD
    conditions = labels != NONE
    found = best_condition >= threshold
    return threshold, {
        "threshold": round(threshold, 4),
        "cv_found": round(float(found[conditions].mean()), 3),
        "cv_right_group": round(float((found & (predicted == labels))[conditions].mean()), 3),
        "cv_false_on_none": round(float(found[~conditions].mean()), 3),
    }


def build(corpus: Path = CORPUS, out: Path = BUILT, folds: int = 5) -> dict[str, float]:
    """Embed the corpus, choose the threshold by cross-validation, fit on everything, save."""
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.encoder import get_encoder

    texts, labels = load_corpus(corpus)
    vectors = get_encoder().encode(texts)
    y = np.array(labels)
    best = np.zeros(len(texts))
    predicted = np.empty(len(texts), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=7).split(vectors, y):
        fold = _fit(vectors[train], list(y[train]))
        probs = fold.probabilities(vectors[test])
        masked = np.where(fold._conditions, probs, -1.0)
        best[test] = masked.max(axis=1)
        predicted[test] = [fold.classes[i] for i in masked.argmax(axis=1)]
    threshold, report = choose_threshold(best, y, predicted)
    model = _fit(vectors, labels)
    ConditionTopics(model.coef, model.intercept, model.classes, threshold).save(out, corpus_hash(corpus))
    return {"examples": len(texts), **report}


@lru_cache(maxsize=1)
def get_condition_topics() -> ConditionTopics:
    """This process's detector; built first if it is missing or older than the corpus."""
    return current_model(CORPUS, BUILT, build, ConditionTopics.load)


def main(argv: list[str] | None = None) -> int:
    return build_command(argv, "condition-topic detector", CORPUS, BUILT, build)


if __name__ == "__main__":
    sys.exit(main())
