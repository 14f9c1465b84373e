"""The learned red-flag detector: logistic regression on sentence embeddings (all-MiniLM-L6-v2).

The lexicon detector (bot/safety/detector.py) is precise and explains itself, but only knows
the words in its lists; people describe an emergency in their own words ("every breath
stabs", "it's soaked through three plasters"). This detector reads the meaning instead. It
is trained on data/safety/corpus.yml (urgent symptoms in five groups, mild after-effects
and look-alikes) and built into ``build/safety-detector.npz`` by ``scripts/train``:

    python -m bot.safety.learned --build     # no-op when the corpus has not changed

Its two thresholds are chosen by cross-validation on the corpus when it is built (never on
an evaluation set): ``urgent`` keeps false alarms on mild and look-alike messages rare,
``check`` catches nearly every urgent message, and between the two the assistant asks one
quick Yes/No question instead of deciding.
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

CORPUS = DATA_DIR / "safety" / "corpus.yml"
BUILT = PROJECT_ROOT / "build" / "safety-detector.npz"
URGENT_PREFIX = "urgent/"
# Targets for the thresholds, measured by 5-fold cross-validation on the corpus.
MAX_FALSE_URGENT = 0.01  # of mild + not-urgent messages decided urgent at once
MIN_CHECK_RECALL = 0.99  # of urgent messages at least asked about


@dataclass(frozen=True)
class Prediction:
    urgent: float  # probability that the message reports an urgent symptom now
    group: str | None  # the most likely urgent group (breathing_chest, bleeding, ...)


def load_corpus(path: Path = CORPUS) -> tuple[list[str], list[str]]:
    """Texts and labels: ``urgent/<group>``, ``mild`` or ``not_urgent``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
    texts: list[str] = []
    labels: list[str] = []
    for group, items in (raw.get("urgent") or {}).items():
        texts += [str(t) for t in items]
        labels += [URGENT_PREFIX + group] * len(items)
    for label in ("mild", "not_urgent"):
        texts += [str(t) for t in raw.get(label) or []]
        labels += [label] * len(raw.get(label) or [])
    return texts, labels


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


class LearnedDetector:
    """Multinomial logistic regression over the label set; ``urgent`` sums the urgent groups."""

    def __init__(self, coef: NDArray, intercept: NDArray, classes: list[str], urgent_at: float, check_at: float) -> None:
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.classes = classes
        self.urgent_at = float(urgent_at)
        self.check_at = float(check_at)
        self._urgent = np.array([c.startswith(URGENT_PREFIX) for c in classes])

    def predict_vectors(self, vectors: NDArray[np.float32]) -> list[Prediction]:
        probs = _softmax(vectors @ self.coef.T + self.intercept)
        urgent = probs[:, self._urgent]
        names = [c.removeprefix(URGENT_PREFIX) for c, u in zip(self.classes, self._urgent, strict=True) if u]
        return [Prediction(float(row.sum()), names[int(row.argmax())]) for row in urgent]

    def predict(self, texts: list[str]) -> list[Prediction]:
        from bot.nlu.encoder import get_encoder

        return self.predict_vectors(get_encoder().encode(texts))

    def save(self, path: Path, source_hash: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            coef=self.coef,
            intercept=self.intercept,
            classes=np.array(self.classes),
            thresholds=np.array([self.urgent_at, self.check_at]),
            corpus_sha256=np.array(source_hash),
        )

    @classmethod
    def load(cls, path: Path = BUILT) -> LearnedDetector:
        data = np.load(path, allow_pickle=False)
        urgent_at, check_at = (float(x) for x in data["thresholds"])
        return cls(data["coef"], data["intercept"], [str(c) for c in data["classes"]], urgent_at, check_at)


def _fit(vectors: NDArray[np.float32], labels: list[str]) -> tuple[NDArray, NDArray, list[str]]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced")
    model.fit(vectors, labels)
    return model.coef_, model.intercept_, [str(c) for c in model.classes_]


def choose_thresholds(urgent_probs: NDArray, is_urgent: NDArray) -> tuple[float, float, dict[str, float]]:
    """``urgent_at``: lowest cut with at most MAX_FALSE_URGENT false alarms; ``check_at``: highest
    cut that still reaches MIN_CHECK_RECALL of the urgent messages (never above ``urgent_at``)."""
    safe = np.sort(urgent_probs[~is_urgent])
    allowed = int(np.floor(MAX_FALSE_URGENT * len(safe)))
    urgent_at = float(max(0.5, safe[len(safe) - allowed - 1] + 1e-6)) if len(safe) else 0.5
    positives = np.sort(urgent_probs[is_urgent])
    missed = int(np.floor((1 - MIN_CHECK_RECALL) * len(positives)))
    check_at = float(min(urgent_at, positives[missed])) if len(positives) else urgent_at
    report = {
        "urgent_at": round(urgent_at, 4),
        "check_at": round(check_at, 4),
        "cv_urgent_recall": round(float((urgent_probs[is_urgent] >= urgent_at).mean()), 3),
        "cv_urgent_or_check_recall": round(float((urgent_probs[is_urgent] >= check_at).mean()), 3),
        "cv_false_urgent": round(float((urgent_probs[~is_urgent] >= urgent_at).mean()), 3),
        "cv_false_check": round(float((urgent_probs[~is_urgent] >= check_at).mean()), 3),
    }
    return urgent_at, check_at, report


def build(corpus: Path = CORPUS, out: Path = BUILT, folds: int = 5) -> dict[str, float]:
    """Embed the corpus, choose the thresholds by cross-validation, fit on everything, save."""
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.encoder import get_encoder

    texts, labels = load_corpus(corpus)
    vectors = get_encoder().encode(texts)
    y = np.array(labels)
    is_urgent = np.array([label.startswith(URGENT_PREFIX) for label in labels])
    out_of_fold = np.zeros(len(texts))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=7).split(vectors, y):
        coef, intercept, classes = _fit(vectors[train], list(y[train]))
        fold = LearnedDetector(coef, intercept, classes, 1.0, 1.0)
        out_of_fold[test] = [p.urgent for p in fold.predict_vectors(vectors[test])]
    urgent_at, check_at, report = choose_thresholds(out_of_fold, is_urgent)
    coef, intercept, classes = _fit(vectors, labels)
    LearnedDetector(coef, intercept, classes, urgent_at, check_at).save(out, corpus_hash(corpus))
    return {"examples": len(texts), **report}


@lru_cache(maxsize=1)
def get_learned_detector() -> LearnedDetector:
    """This process's detector; built first if it is missing or older than the corpus."""
    return current_model(CORPUS, BUILT, build, LearnedDetector.load)


def main(argv: list[str] | None = None) -> int:
    return build_command(argv, "learned safety detector", CORPUS, BUILT, build)


if __name__ == "__main__":
    sys.exit(main())
