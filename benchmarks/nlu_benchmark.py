"""NLU quality benchmark: held-out test file, two baselines, fallback threshold sweep, 5-fold CV.

    python benchmarks/nlu_benchmark.py            # held-out evaluation + baselines + sweep
    python benchmarks/nlu_benchmark.py --cv       # also 5-fold cross-validation (trains 5 models)

The held-out file (benchmarks/data/nlu_test.yml) was written independently of the
training data and is never trained on. Results go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score  # noqa: E402
from sklearn.pipeline import make_pipeline, make_union  # noqa: E402

from bot.content.knowledge import get_knowledge_base  # noqa: E402
from bot.content.retrieval import get_search  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TEST_FILE = ROOT / "benchmarks" / "data" / "nlu_test.yml"
MODEL = ROOT / "models" / "dry-needling.tar.gz"
THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def load_examples(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def metrics(gold: list[str], pred: list[str]) -> dict:
    labels = sorted(set(gold))
    return {
        "accuracy": round(accuracy_score(gold, pred), 4),
        "macro_f1": round(f1_score(gold, pred, labels=labels, average="macro", zero_division=0), 4),
    }


def rasa_predictions(texts: list[str]) -> list[dict]:
    """Parse with the trained model; returns the raw top intent and its confidence."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # otherwise every parse (with its text) is printed
    logging.getLogger("rasa").setLevel(logging.WARNING)
    agent = Agent.load(str(MODEL))
    out = []
    for text in texts:
        parsed = asyncio.run(agent.parse_message(text))
        raw = next(r for r in parsed["intent_ranking"] if r["name"] != "nlu_fallback")
        out.append({"intent": raw["name"], "confidence": raw["confidence"], "fallback": parsed["intent"]["name"] == "nlu_fallback"})
    return out


def tfidf_baseline(train: list[tuple[str, str]], texts: list[str]) -> list[str]:
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
    )
    model = make_pipeline(features, LogisticRegression(max_iter=2000, C=10))
    model.fit([t for t, _ in train], [i for _, i in train])
    return list(model.predict(texts))


def bm25_baseline(texts: list[str]) -> list[str]:
    """Top BM25 passage -> the first topic (intent) that uses it; no passage -> no intent."""
    kb, search = get_knowledge_base(), get_search()
    preds = []
    for text in texts:
        hits = search.search(text, k=1)
        topics = kb.topics_of_passage(hits[0].passage.id) if hits and hits[0].score > 0 else []
        preds.append(topics[0] if topics else "none")
    return preds


def confusion_png(gold: list[str], pred: list[str], path: Path, title: str) -> None:
    labels = sorted(set(gold) | set(pred))
    matrix = confusion_matrix(gold, pred, labels=labels)
    fig, ax = plt.subplots(figsize=(12, 10))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7, color="white" if matrix[i, j] > 5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def threshold_sweep(gold: list[str], preds: list[dict]) -> list[dict]:
    """For each FallbackClassifier threshold: how many questions get an intent answer, and how many of those are right."""
    rows = []
    for t in THRESHOLDS:
        accepted = [(g, p) for g, p in zip(gold, preds, strict=True) if p["confidence"] >= t]
        right = sum(g == p["intent"] for g, p in accepted)
        wrong = len(accepted) - right
        rows.append(
            {
                "threshold": t,
                "answered": round(len(accepted) / len(gold), 4),
                "answered_correct": round(right / len(accepted), 4) if accepted else 0.0,
                "wrong_answers": wrong,
                "sent_to_fallback": len(gold) - len(accepted),
            }
        )
    return rows


def tfidf_cross_validation(train: list[tuple[str, str]], folds: int = 5) -> dict:
    """The TF-IDF baseline under stratified k-fold CV, to put the DIET CV score in context."""
    from sklearn.model_selection import StratifiedKFold

    texts, labels = [t for t, _ in train], [i for _, i in train]
    pred = [""] * len(texts)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, labels):
        fold_pred = tfidf_baseline([train[i] for i in train_idx], [texts[i] for i in test_idx])
        for i, p in zip(test_idx, fold_pred, strict=True):
            pred[i] = p
    return {"folds": folds, **metrics(labels, pred)}


def cross_validation(folds: int = 5) -> dict:
    out = RESULTS / "cv"
    started = time.monotonic()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("rasa")),
            "test",
            "nlu",
            "--nlu",
            "data/nlu",
            "--config",
            "config.yml",
            "--cross-validation",
            "--folds",
            str(folds),
            "--out",
            str(out),
            "--no-plot",
        ],
        cwd=ROOT,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    report = json.loads((out / "intent_report.json").read_text())
    return {
        "folds": folds,
        "accuracy": round(report["accuracy"], 4),
        "macro_f1": round(report["macro avg"]["f1-score"], 4),
        "seconds": round(time.monotonic() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cv", action="store_true", help="also run 5-fold cross-validation")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)

    train = load_examples(ROOT / "data" / "nlu")
    test = load_examples(TEST_FILE)
    # The two files were written independently; short phrases ("hi", "yes") can coincide
    # word for word. Those are not a test of generalisation, so they are not scored.
    train_texts = {normalise(t) for t, _ in train}
    written = len(test)
    test = [(t, i) for t, i in test if normalise(t) not in train_texts]
    texts, gold = [t for t, _ in test], [i for _, i in test]

    preds = rasa_predictions(texts)
    raw = [p["intent"] for p in preds]
    with_fallback = [("nlu_fallback" if p["fallback"] else p["intent"]) for p in preds]
    tfidf = tfidf_baseline(train, texts)
    bm25 = bm25_baseline(texts)

    results = {
        "test_file": str(TEST_FILE.relative_to(ROOT)),
        "test_examples_written": written,
        "test_examples_scored": len(test),
        "excluded_identical_to_training": written - len(test),
        "train_examples": len(train),
        "rasa_diet": metrics(gold, raw),
        "rasa_diet_with_fallback": {
            **metrics(gold, with_fallback),
            "fallback_rate": round(with_fallback.count("nlu_fallback") / len(gold), 4),
        },
        "baseline_tfidf_logreg": metrics(gold, tfidf),
        "baseline_bm25_passages": metrics(gold, bm25),
        "fallback_threshold_sweep": threshold_sweep(gold, preds),
        "errors": [
            {"text": t, "true": g, "predicted": p["intent"], "confidence": round(p["confidence"], 3)}
            for t, g, p in zip(texts, gold, preds, strict=True)
            if g != p["intent"]
        ],
    }
    results["baseline_tfidf_cross_validation"] = tfidf_cross_validation(train)
    confusion_png(gold, raw, RESULTS / "nlu_confusion_matrix.png", "the assistant's NLU (config.yml) on the held-out test file")
    if args.cv:
        results["cross_validation"] = cross_validation()
    else:
        previous = RESULTS / "nlu.json"
        if previous.exists() and "cross_validation" in json.loads(previous.read_text()):
            results["cross_validation"] = json.loads(previous.read_text())["cross_validation"]
    (RESULTS / "nlu.json").write_text(json.dumps(results, indent=2) + "\n")

    print(
        f"Held-out test file: {len(test)} questions scored ({written - len(test)} of {written} left out as word-for-word "
        f"identical to a training example); training data: {len(train)} examples"
    )
    print(f"{'model':32} {'accuracy':>9} {'macro-F1':>9}")
    for name in ["rasa_diet", "rasa_diet_with_fallback", "baseline_tfidf_logreg", "baseline_bm25_passages"]:
        print(f"{name:32} {results[name]['accuracy']:9.3f} {results[name]['macro_f1']:9.3f}")
    print("Fallback threshold sweep (answered = share of questions above the threshold):")
    for row in results["fallback_threshold_sweep"]:
        print(
            f"  threshold {row['threshold']:.1f}: answered {row['answered']:.1%}, of which correct {row['answered_correct']:.1%}, "
            f"wrong answers {row['wrong_answers']}, to fallback {row['sent_to_fallback']}"
        )
    if "cross_validation" in results:
        cv = results["cross_validation"]
        print(f"{cv['folds']}-fold cross-validation on training data: accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}")
    tcv = results["baseline_tfidf_cross_validation"]
    print(f"TF-IDF baseline, {tcv['folds']}-fold cross-validation: accuracy {tcv['accuracy']:.3f}, macro-F1 {tcv['macro_f1']:.3f}")
    print(f"Errors: {len(results['errors'])} (see benchmarks/results/nlu.json)")


if __name__ == "__main__":
    main()
