"""Document search over the clinic's passages: BM25 (rank_bm25) and sentence-embedding similarity.

Used only when the NLU model is unsure. A passage answers only on a strong match: either
lexically (a high BM25 score with most of the question's informative words in the passage) or
semantically (cosine similarity of all-MiniLM-L6-v2 vectors above ``min_similarity``, chosen on
the training questions so that no question outside the documents got a passage), so questions the
documents do not answer ("how much does it cost?") never get an unrelated passage. Weaker matches
are not used: below that, the classifier's own likely topics are offered as buttons (bot/content/replies.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from nltk.stem.snowball import SnowballStemmer
from rank_bm25 import BM25Okapi
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as STOP_WORDS

from bot import DATA_DIR
from bot.content.documents import Passage

_WORD = re.compile(r"[a-z0-9]+")
_STEMMER = SnowballStemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased, stop-word-free Snowball stems."""
    return [_STEMMER.stem(w) for w in _WORD.findall(text.lower().replace("’", "'")) if w not in STOP_WORDS and len(w) > 1]


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    coverage: float  # share of the question's informative words in the passage
    matched: int  # how many informative words the passage contains


class PassageSearch:
    def __init__(
        self,
        passages: list[Passage],
        min_score: float,
        min_coverage: float,
        generic_terms: list[str],
        min_matched: int = 2,
        min_similarity: float | None = None,
    ) -> None:
        self.passages = passages
        self.min_similarity = min_similarity
        self._vectors: np.ndarray | None = None
        self.min_matched = min_matched
        self.min_score = min_score
        self.min_coverage = min_coverage
        self.generic = {_STEMMER.stem(t.lower()) for t in generic_terms}
        self._docs = [tokenize(f"{p.section_title} {p.label or ''} {p.text}") for p in passages]
        self._bm25 = BM25Okapi(self._docs)

    def informative(self, query: str) -> list[str]:
        return [t for t in dict.fromkeys(tokenize(query)) if t not in self.generic]

    def search(self, query: str, k: int = 3) -> list[Hit]:
        terms = tokenize(query)
        if not terms:
            return []
        informative = self.informative(query)
        scores = self._bm25.get_scores(terms)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        hits = []
        for i in order:
            doc = set(self._docs[i])
            matched = sum(t in doc for t in informative)
            coverage = matched / len(informative) if informative else 0.0
            hits.append(Hit(self.passages[i], float(scores[i]), coverage, matched))
        return hits

    def best(self, query: str) -> Hit | None:
        """The best passage if the match is strong enough to answer with it, else None."""
        hits = self.search(query, k=1)
        if hits:
            hit = hits[0]
            if hit.score >= self.min_score and hit.coverage >= self.min_coverage and hit.matched >= self.min_matched:
                return hit
        similar = self.similar(query, k=1)
        if similar and self.min_similarity is not None and similar[0][1] >= self.min_similarity:
            return Hit(similar[0][0], 0.0, 0.0, 0)
        return None

    def similar(self, query: str, k: int = 3) -> list[tuple[Passage, float]]:
        """The ``k`` passages closest in meaning to the query (cosine of sentence vectors), best first."""
        if self.min_similarity is None or not query.strip():
            return []
        from bot.nlu.encoder import get_encoder

        encoder = get_encoder()
        if self._vectors is None:
            self._vectors = encoder.encode([passage_text(p) for p in self.passages])
        scores = self._vectors @ encoder.encode([query])[0]
        order = np.argsort(-scores)[:k]
        return [(self.passages[i], float(scores[i])) for i in order]


def passage_text(passage: Passage) -> str:
    """What a passage is about, as embedded: its section, bullet label and text."""
    return " ".join(part for part in (passage.section_title + ".", passage.label or "", passage.text) if part)


def load_search(passages: list[Passage], config: Path = DATA_DIR / "retrieval.yml") -> PassageSearch:
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    excluded = set(raw.get("exclude_passages") or [])
    return PassageSearch(
        [p for p in passages if p.id not in excluded],
        float(raw["min_score"]),
        float(raw["min_coverage"]),
        list(raw.get("generic_terms") or []),
        int(raw.get("min_matched", 2)),
        float(raw["min_similarity"]) if raw.get("min_similarity") is not None else None,
    )


@lru_cache(maxsize=1)
def get_search() -> PassageSearch:
    from bot.content.knowledge import get_knowledge_base

    return load_search(list(get_knowledge_base().passages.values()))
