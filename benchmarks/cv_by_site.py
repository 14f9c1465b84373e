"""Choose the intent classifier's features on the TRAINING questions: 5-fold cross-validation by site.

The real training questions (data/nlu/real_questions.yml) are split into five folds by site; each fold
is predicted by a model trained on every other example (the written examples of data/nlu/ and the
other folds' sites), so no site is ever both trained on and scored. This is how config.yml's
classifier and its C and dense weight were chosen; the benchmark sites are never used here.

    python benchmarks/cv_by_site.py              # features, C and dense weight
    python benchmarks/cv_by_site.py --fallback   # the fallback threshold of config.yml's classifier
    python benchmarks/cv_by_site.py --knn        # a nearest-neighbour vote blended with the LR head (tried, not kept)
    python benchmarks/cv_by_site.py --buttons    # which topics to offer as buttons below the threshold
    python benchmarks/cv_by_site.py --several    # only the parts that ask as a message's questions? (tried, not kept)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from split_real_questions import TRAINING, load_training  # noqa: E402  (this folder)

from bot.nlu.encoder import get_encoder  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cv_by_site.json"
FOLDS = 5


def written_examples() -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    pairs = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        if path != TRAINING:
            pairs += [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples]
    return pairs


def features(kind: str, train: list[str], test: list[str], vectors: dict[str, np.ndarray], weight: float) -> tuple[Any, Any]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.pipeline import make_union
    from sklearn.preprocessing import normalize

    parts = []
    if "tfidf" in kind:
        vec = make_union(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)),
            TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2),
        )
        parts.append((vec.fit_transform(train), vec.transform(test)))
    if "counts" in kind:  # as the assistant's CountVectorsFeaturizers, log-scaled and unit length as in the LR head
        vec = make_union(CountVectorizer(), CountVectorizer(analyzer="char_wb", ngram_range=(2, 4)))
        a, b = vec.fit_transform(train).astype(float), vec.transform(test).astype(float)
        a.data, b.data = np.log1p(a.data), np.log1p(b.data)
        parts.append((normalize(a), normalize(b)))
    if "minilm" in kind:
        parts.append(
            (
                csr_matrix(np.array([vectors[t] for t in train]) * weight),
                csr_matrix(np.array([vectors[t] for t in test]) * weight),
            )
        )
    return hstack([p[0] for p in parts]).tocsr(), hstack([p[1] for p in parts]).tocsr()


def configured_folds(
    written: list[tuple[str, str]], real: list[dict], folds: list[set[str]], vectors: dict[str, np.ndarray]
) -> Iterator[tuple[Any, list[tuple[str, str]], list[tuple[str, str]], Any]]:
    """Per fold: the configured classifier (counts + MiniLM, dense weight 2, C 10) trained on everything else,
    its (text, intent) training examples, the fold's questions and their features."""
    from sklearn.linear_model import LogisticRegression

    for fold in folds:
        train = written + [(r["text"], r["intent"]) for r in real if r["site"] not in fold]
        test = [(r["text"], r["intent"]) for r in real if r["site"] in fold]
        x_train, x_test = features("counts+minilm", [t for t, _ in train], [t for t, _ in test], vectors, 2.0)
        yield LogisticRegression(C=10.0, max_iter=2000).fit(x_train, [i for _, i in train]), train, test, x_test


def fallback_table(written: list[tuple[str, str]], real: list[dict], folds: list[set[str]], vectors: dict[str, np.ndarray]) -> None:
    """For the configured classifier (word + character counts and MiniLM, dense weight 2, C 10): how many questions
    each confidence threshold answers, how many of those rightly, and how often a question in each band between two
    thresholds is right. The threshold belongs where the band below it is right less often than not."""
    scored = []  # (confidence, right)
    for model, _, test, x_test in configured_folds(written, real, folds, vectors):
        for p, (_, gold) in zip(model.predict_proba(x_test), test, strict=True):
            scored.append((float(p.max()), model.classes_[int(p.argmax())] == gold))
    print(f"{len(scored)} training questions, 5-fold by site")
    print(f"{'threshold':>9} {'answered':>8} {'right':>6} {'wrong':>6} {'band below right':>16}")
    for low in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        answered = [r for c, r in scored if c >= low]
        band = [r for c, r in scored if low - 0.1 <= c < low]
        rate = f"{sum(band) / len(band):.2f} of {len(band)}" if band else "-"
        print(f"{low:>9.2f} {len(answered):>8} {sum(answered):>6} {len(answered) - sum(answered):>6} {rate:>16}")


def buttons_table(written: list[tuple[str, str]], real: list[dict], folds: list[set[str]], vectors: dict[str, np.ndarray]) -> None:
    """Below the fallback threshold the visitor gets three topic buttons. Which three most often include the right
    topic: the classifier's three most likely topics, or its best, then the topics of the passages closest in
    meaning, then its next ones? Counted on the questions below the threshold whose label is a documents topic."""
    from bot.content.knowledge import get_knowledge_base
    from bot.content.replies import POPULAR_TOPICS, likely_topics
    from bot.content.retrieval import get_search, passage_text

    kb, search = get_knowledge_base(), get_search()
    passage_vectors = get_encoder().encode([passage_text(p) for p in search.passages])
    passage_topics = [kb.topics_of_passage(p.id) for p in search.passages]
    below = by_classifier = with_passages = 0
    for model, _, test, x_test in configured_folds(written, real, folds, vectors):
        for p, (text, gold) in zip(model.predict_proba(x_test), test, strict=True):
            if p.max() >= 0.5 or gold not in kb.topics:
                continue
            ranking = [{"name": model.classes_[i]} for i in np.argsort(-p)[:10]]
            nearest = np.argsort(-(passage_vectors @ vectors[text]))[:3]
            similar = [t for i in nearest for t in passage_topics[i]]
            below += 1
            by_classifier += gold in likely_topics(kb, ranking)
            ranked = likely_topics(kb, ranking, k=len(kb.topics))
            with_passages += gold in list(dict.fromkeys(ranked[:1] + similar + ranked[1:] + list(POPULAR_TOPICS)))[:3]
    print(f"{below} training questions below the threshold (5-fold by site) whose label is a documents topic")
    print(f"right topic among the buttons: classifier's three most likely {by_classifier} ({by_classifier / below:.2f}),")
    print(f"  its best + the topics of the passages closest in meaning + its next {with_passages} ({with_passages / below:.2f})")


REQUEST_OPENERS = {"tell", "explain", "describe", "please", "pls", "plz", "any", "anything", "info", "information", "help"}
REQUEST_PHRASES = ("wondering", "i wonder", "curious", "want to know", "like to know", "need to know", "keen to know")


def asks(part: str, openers: frozenset[str]) -> bool:
    """Whether a part of a message asks: a question mark, a question or request word first, or a request phrase."""
    if part.rstrip().endswith("?"):
        return True
    words = re.findall(r"[a-z']+", part.lower().replace("\u2019", "'"))
    if words and (words[0] in openers or words[0] in REQUEST_OPENERS):
        return True
    return any(f" {phrase} " in f" {' '.join(words)} " for phrase in REQUEST_PHRASES)


def several_table(written: list[tuple[str, str]], real: list[dict], folds: list[set[str]], vectors: dict[str, np.ndarray]) -> None:
    """Messages the classifier splits into parts: should every part count as a question, or only the parts that ask
    (a question mark, or a question or request word first)? For each choice: how many messages get two or more
    answers, and how many of the intents so found are among the question's labels. And when the whole message is
    below the threshold but exactly one part asks, clearly: how often is that part's intent one of the labels?"""
    from sklearn.linear_model import LogisticRegression

    from bot.content.knowledge import get_knowledge_base
    from bot.nlu.intent_classifier import split_questions
    from bot.safety.lexicon import question_words

    openers = question_words()
    labels = {r["text"]: {r["intent"], *(r.get("also") or [])} for r in real}
    multi = {r["text"]: split_questions(r["text"], openers) for r in real}
    multi = {t: parts for t, parts in multi.items() if len(parts) >= 2}
    part_vectors = dict(zip(*(lambda ps: (ps, get_encoder().encode(ps)))(sorted({p for ps in multi.values() for p in ps})), strict=True))
    found = {"every part": [0, 0, 0], "asking parts": [0, 0, 0]}  # messages with 2+ intents, intents found, of them labels
    rescued = [0, 0, 0]  # below the threshold with one clear asking part, that part right, the message's best right
    one_answerable = [0, 0]  # below the threshold, several intents of which one is answerable; that one a label
    kb_topics = set(get_knowledge_base().topics) | {"ask_clinic_info", "ask_not_covered"}
    for model, train, test, x_test in configured_folds(written, real, folds, vectors):
        dense = LogisticRegression(C=10.0, max_iter=2000).fit(np.array([vectors[t] for t, _ in train]) * 2.0, [i for _, i in train])
        for p, (text, _) in zip(model.predict_proba(x_test), test, strict=True):
            if text not in multi:
                continue
            parts = multi[text]
            q = dense.predict_proba(np.array([part_vectors[part] for part in parts]) * 2.0)
            clear = [(part, dense.classes_[int(x.argmax())]) for part, x in zip(parts, q, strict=True) if x.max() >= 0.5]
            for name, kept in (("every part", clear), ("asking parts", [c for c in clear if asks(c[0], openers)])):
                intents = set(dict.fromkeys(i for _, i in kept))
                if len(intents) >= 2:
                    found[name][0] += 1
                    found[name][1] += len(intents)
                    found[name][2] += len(intents & labels[text])
            asking = [c for c in clear if asks(c[0], openers)]
            intents = list(dict.fromkeys(i for _, i in clear))
            answerable = [i for i in intents if i in kb_topics]
            if p.max() < 0.5 and len(intents) >= 2 and len(answerable) == 1:
                one_answerable[0] += 1
                one_answerable[1] += answerable[0] in labels[text]
            if p.max() < 0.5 and len(asking) == 1:
                rescued[0] += 1
                rescued[1] += asking[0][1] in labels[text]
                rescued[2] += model.classes_[int(p.argmax())] in labels[text]
    print(f"{len(multi)} of {len(real)} training questions split into two or more parts (5-fold by site)")
    for name, (messages, intents, right) in found.items():
        print(f"  {name:<13}: {messages} messages get several answers; {right} of their {intents} intents are among the labels")
    print(f"  below the threshold with exactly one clear asking part: {rescued[0]}; that part's intent is a label for {rescued[1]},")
    print(f"  the whole message's best intent for {rescued[2]}")
    print(f"  below the threshold with several clear intents of which one is answerable: {one_answerable[0]}; that one is a")
    print(f"  label for {one_answerable[1]}")


def knn_table(written: list[tuple[str, str]], real: list[dict], folds: list[set[str]], vectors: dict[str, np.ndarray]) -> None:
    """Would a vote of the k nearest training questions (MiniLM cosine, softmax-weighted) help the configured LR head,
    alone or blended with its probabilities? Prints accuracy per k, temperature and blend weight of the LR head."""
    rows = []  # (LR probabilities, similarities to the training examples, their class indices, gold index)
    for model, train, test, x_test in configured_folds(written, real, folds, vectors):
        classes = list(model.classes_)
        labels = np.array([classes.index(i) for _, i in train])
        similarity = np.array([vectors[t] for t, _ in test]) @ np.array([vectors[t] for t, _ in train]).T
        for p, s, (_, gold) in zip(model.predict_proba(x_test), similarity, test, strict=True):
            rows.append((p, s, labels, classes.index(gold) if gold in classes else -1))

    def vote(s: np.ndarray, labels: np.ndarray, n: int, k: int, temperature: float) -> np.ndarray:
        nearest = np.argsort(-s)[:k]
        q = np.zeros(n)
        np.add.at(q, labels[nearest], np.exp(s[nearest] / temperature))
        return q / q.sum()

    print(f"{len(rows)} training questions, 5-fold by site; LR head alone {np.mean([p.argmax() == g for p, _, _, g in rows]):.3f}")
    print(f"{'k':>3} {'temp':>5} {'kNN':>6} {'0.3 LR':>7} {'0.5 LR':>7} {'0.7 LR':>7}")
    for k in (5, 10, 20):
        for temperature in (0.05, 0.1):
            votes = [vote(s, labels, len(p), k, temperature) for p, s, labels, _ in rows]
            scores = [np.mean([q.argmax() == g for q, (_, _, _, g) in zip(votes, rows, strict=True)])]
            for a in (0.3, 0.5, 0.7):
                scores.append(np.mean([(a * p + (1 - a) * q).argmax() == g for q, (p, _, _, g) in zip(votes, rows, strict=True)]))
            print(f"{k:>3} {temperature:>5.2f} " + " ".join(f"{x:>7.3f}" for x in scores))


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fallback", action="store_true", help="the fallback threshold table instead of the feature variants")
    parser.add_argument("--knn", action="store_true", help="a nearest-neighbour vote, alone and blended with the LR head")
    parser.add_argument("--buttons", action="store_true", help="which topics to offer as buttons below the threshold")
    parser.add_argument("--several", action="store_true", help="which parts of a message count as its questions")
    args = parser.parse_args()
    written, real = written_examples(), load_training()
    texts = list(dict.fromkeys([t for t, _ in written] + [r["text"] for r in real]))
    vectors = dict(zip(texts, get_encoder().encode(texts), strict=True))
    sites = sorted({r["site"] for r in real})
    np.random.default_rng(0).shuffle(sites)
    folds = [set(sites[i::FOLDS]) for i in range(FOLDS)]
    tables = {"fallback": fallback_table, "knn": knn_table, "buttons": buttons_table, "several": several_table}
    for option, table in tables.items():
        if getattr(args, option):
            table(written, real, folds, vectors)
            return
    variants = [
        ("tfidf", 1.0, 10.0),
        ("minilm", 1.0, 10.0),
        ("counts+minilm", 2.0, 3.0),
        ("counts+minilm", 2.0, 10.0),
        ("counts+minilm", 1.0, 10.0),
        ("counts+minilm", 3.0, 10.0),
        ("tfidf+minilm", 2.0, 10.0),
    ]
    results = {}
    for kind, weight, c in variants:
        right = total = 0
        for fold in folds:
            train = written + [(r["text"], r["intent"]) for r in real if r["site"] not in fold]
            test = [(r["text"], r["intent"]) for r in real if r["site"] in fold]
            x_train, x_test = features(kind, [t for t, _ in train], [t for t, _ in test], vectors, weight)
            model = LogisticRegression(C=c, max_iter=2000).fit(x_train, [i for _, i in train])
            right += sum(p == g for p, (_, g) in zip(model.predict(x_test), test, strict=True))
            total += len(test)
        name = f"{kind} (dense weight {weight:g}, C {c:g})" if "minilm" in kind and "+" in kind else f"{kind} (C {c:g})"
        results[name] = round(right / total, 3)
        print(f"{name:<40} {results[name]:.3f}", flush=True)
    RESULTS.write_text(json.dumps({"questions": len(real), "sites": len(sites), "folds": FOLDS, "accuracy": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
