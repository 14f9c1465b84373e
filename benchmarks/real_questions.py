"""Real-question benchmark (issue #11): intent accuracy, macro-F1 and answer-level accuracy, with baselines.

The benchmark is benchmarks/data/real_questions_benchmark.jsonl: real questions from sites never used
for training (benchmarks/split_real_questions.py). In one run:

- the assistant, through its running servers (trained model, action server, REST): the intent from
  ``/model/parse``, and what the visitor actually got from the REST channel;
- baselines trained here on exactly the assistant's NLU training data (data/nlu/): TF-IDF + logistic
  regression and MiniLM sentence embeddings + logistic regression.

Answer level: does the reply address the question? A documents question is addressed when a reply
answers its topic or quotes one of that topic's passages; a question the documents do not cover
(``ask_not_covered``) when the reply says so honestly; an unrelated one (``out_of_scope``) when the
reply says what the assistant covers (or that the documents do not cover it); a practical clinic
question when the clinic-information reply answers. A question with several labels (``also``) needs
all of them addressed. Baselines are scored as if their intent were dispatched the same way.

    python benchmarks/real_questions.py [--label first-run] [--no-assistant]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from split_real_questions import BENCHMARK, load_benchmark  # noqa: E402  (this folder; site-packages has a "benchmarks")

from bot.content.knowledge import get_knowledge_base  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HONEST = {"ask_not_covered": {"not_covered", "out_of_scope"}, "out_of_scope": {"out_of_scope", "not_covered"}}


def training_examples() -> tuple[list[str], list[str]]:
    """Every intent example in data/nlu/, as Rasa reads it."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    pairs = [(m.get("text"), m.get("intent")) for m in data.intent_examples if m.get("text") and m.get("intent")]
    return [t for t, _ in pairs], [i for _, i in pairs]


def topic_passages() -> dict[str, set[str]]:
    kb = get_knowledge_base()
    return {intent: {item.passage_id for item in topic.items} for intent, topic in kb.topics.items()}


def addressed(label: str, replies: list[dict[str, Any]], passages: dict[str, set[str]]) -> bool:
    """Whether the replies' structured payloads address one labelled question."""
    customs = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    if label in passages:
        return any(
            c.get("topic") == label or label in (c.get("topics") or []) or set(c.get("passages") or []) & passages[label] for c in customs
        )
    kinds = {c.get("reply") for c in customs} | {k for c in customs for k in c.get("replies") or []}
    if label in HONEST:
        return bool(kinds & HONEST[label]) and not any(c.get("topic") for c in customs)
    if label == "ask_clinic_info":
        return "clinic_info" in kinds
    return False


def simulated_replies(intent: str) -> list[dict[str, Any]]:
    """What the assistant's dispatch would send for a predicted intent (used for the baselines)."""
    if intent in topic_passages():
        return [{"custom": {"topic": intent}}]
    kind = {"ask_not_covered": "not_covered", "out_of_scope": "out_of_scope", "ask_clinic_info": "clinic_info"}.get(intent)
    return [{"custom": {"reply": kind}}] if kind else []


def offered(label: str, replies: list[dict[str, Any]]) -> bool:
    """Whether a reply offers the labelled topic as a button: one tap from its answer."""
    return any(b.get("payload") == f"/{label}" for r in replies for b in r.get("buttons") or [])


def labels_of(row: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys([row["intent"], *(row.get("also") or [])]))


def score(rows: list[dict[str, Any]], predicted: list[str], replies: list[list[dict[str, Any]]]) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    passages = topic_passages()
    gold = [r["intent"] for r in rows]
    labels = sorted(set(gold))
    answered = [all(addressed(label, got, passages) for label in labels_of(r)) for r, got in zip(rows, replies, strict=True)]
    per_intent: dict[str, dict[str, Any]] = {}
    for label in labels:
        idx = [i for i, g in enumerate(gold) if g == label]
        per_intent[label] = {
            "n": len(idx),
            "intent_accuracy": round(sum(predicted[i] == label for i in idx) / len(idx), 3),
            "answer_accuracy": round(sum(answered[i] for i in idx) / len(idx), 3),
        }
    confusion: dict[str, Counter] = defaultdict(Counter)
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    return {
        "intent_accuracy": round(float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)])), 3),
        "macro_f1": round(float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)), 3),
        "answer_accuracy": round(float(np.mean(answered)), 3),
        "per_intent": per_intent,
        "confusion": {g: dict(c.most_common()) for g, c in sorted(confusion.items())},
    }


def baselines(texts: list[str], intents: list[str], questions: list[str]) -> dict[str, list[str]]:
    """TF-IDF + LR and MiniLM + LR, trained on the assistant's training data with fixed, untuned settings."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from bot.nlu.encoder import get_encoder

    tfidf = make_pipeline(
        make_union(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1),
            TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2),
        ),
        LogisticRegression(C=10, max_iter=3000),
    )
    tfidf.fit(texts, intents)
    encoder = get_encoder()
    train_vectors, question_vectors = encoder.encode(texts), encoder.encode(questions)
    minilm = LogisticRegression(C=10, max_iter=3000).fit(train_vectors, intents)
    return {"tfidf_lr": list(tfidf.predict(questions)), "minilm_lr": list(minilm.predict(question_vectors))}


def assistant(questions: list[str], model: Path | None) -> tuple[list[str], list[str], list[list[dict[str, Any]]], float]:
    """Intent from /model/parse (as used, and the classifier's own best before the fallback) and the REST replies.

    One new conversation per question. The classifier's own best shows what the fallback threshold costs.
    """
    from tests.support.servers import MODEL, running_servers

    token = secrets.token_hex(16)
    predicted, classifier_best, replies = [], [], []
    started = time.perf_counter()
    with running_servers(model=model or MODEL, api_token=token) as servers:
        for question in questions:
            parsed = requests.post(f"{servers.rasa_url}/model/parse?token={token}", json={"text": question}, timeout=60)
            parsed.raise_for_status()
            parse = parsed.json()
            predicted.append((parse.get("intent") or {}).get("name") or "")
            ranking = [r.get("name") for r in parse.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
            classifier_best.append(ranking[0] if ranking else predicted[-1])
            replies.append(servers.send(f"bench-{uuid.uuid4().hex}", question, timeout=60))
    return predicted, classifier_best, replies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="latest", help="name of this run in the results file (e.g. first-run)")
    parser.add_argument("--no-assistant", action="store_true", help="baselines only (no trained model needed)")
    parser.add_argument("--model", type=Path, help="another trained model (e.g. a pipeline variant); default models/dry-needling.tar.gz")
    parser.add_argument("--system", default="assistant", help="name of the assistant's entry (e.g. diet_both for a variant)")
    args = parser.parse_args()
    rows = load_benchmark()
    questions = [r["text"] for r in rows]
    texts, intents = training_examples()
    run: dict[str, Any] = {"questions": len(rows), "sites": len({r["site"] for r in rows}), "training_examples": len(texts)}
    for name, predicted in baselines(texts, intents, questions).items():
        run[name] = score(rows, predicted, [simulated_replies(p) for p in predicted])
    if not args.no_assistant:
        predicted, classifier_best, replies, seconds = assistant(questions, args.model)
        gold = [r["intent"] for r in rows]
        below = [i for i, p in enumerate(predicted) if p == "nlu_fallback"]
        topics = topic_passages()
        run[args.system] = {
            "seconds": round(seconds),
            "below_threshold": len(below),
            "below_threshold_topic_questions": sum(gold[i] in topics for i in below),
            "below_threshold_topic_offered": sum(offered(gold[i], replies[i]) for i in below),
            "classifier_best_accuracy": round(float(np.mean([b == g for b, g in zip(classifier_best, gold, strict=True)])), 3),
            **score(rows, predicted, replies),
        }
    out = RESULTS / "real_questions.json"
    recorded = json.loads(out.read_text()) if out.exists() else {}
    recorded[args.label] = {**recorded.get(args.label, {}), **run}
    out.write_text(json.dumps(recorded, indent=2) + "\n")
    systems = [s for s in (args.system, "tfidf_lr", "minilm_lr") if s in run]
    print(f"{run['questions']} questions from {run['sites']} sites never used for training ({BENCHMARK.name})")
    print(f"{'system':<12} {'intent acc':>10} {'macro-F1':>9} {'answer acc':>11}")
    for s in systems:
        print(f"{s:<12} {run[s]['intent_accuracy']:>10.3f} {run[s]['macro_f1']:>9.3f} {run[s]['answer_accuracy']:>11.3f}")
    if args.system in run:
        a = run[args.system]
        print(
            f"{args.system}: {a['below_threshold']} questions below the fallback threshold, {a['below_threshold_topic_questions']}"
            f" of them about a documents topic (that topic offered as a button for {a['below_threshold_topic_offered']});"
            f" the classifier's own best intent, before the threshold, is right on {a['classifier_best_accuracy']:.3f}"
        )
    print(f"recorded as {args.label!r} in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
