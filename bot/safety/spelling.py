"""Misspelled lexicon words, matched by edit distance rather than by lists of typos.

"warferin", "elliquis", "zarelto", "plavicks", "pregant", "bleding" reach the lexicon through
a spaCy component that sets a misspelled token's ``norm_`` to the lexicon word it is
closest to; the target matcher matches on ``NORM``. Words are compared after a light
phonetic folding (x/ks/cks, ph/f, c/k, z/s, y/i, ae/oe/e, doubled letters), then by
Damerau-Levenshtein distance: one edit for words of 5-6 letters, two from 7, keeping the first
sound (people rarely mistype the first letter: "tiptoes" never becomes "bites"). A token is
only corrected when it is not a common English word (so "breath" never becomes "breathe")
and when exactly one lexicon word is closest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from spacy.tokens import Doc

MIN_LENGTH = 5
_FOLDS = [("ph", "f"), ("cks", "x"), ("ks", "x"), ("ck", "k"), ("ae", "e"), ("oe", "e"), ("c", "k"), ("z", "s"), ("y", "i")]


def fold(word: str) -> str:
    """A phonetic key: spellings that sound alike get the same key."""
    word = word.lower()
    for old, new in _FOLDS:
        word = word.replace(old, new)
    return re.sub(r"(.)\1+", r"\1", word)


def _initial(key: str) -> str:
    """The first sound of a folded word (an initial x sounds like z/s: "zarelto" for "xarelto")."""
    return "s" if key[:1] == "x" else key[:1]


def distance(a: str, b: str, cap: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, or cap + 1 once it exceeds cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > cap:
            return cap + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(word: str) -> int:
    return 1 if len(word) < 7 else 2


class Speller:
    def __init__(self, vocabulary: Iterable[str], common: set[str]) -> None:
        self.vocabulary = {w for w in vocabulary if len(w) >= MIN_LENGTH and w.isalpha()}
        self.common = common
        self.by_key: dict[str, set[str]] = {}
        for word in self.vocabulary:
            self.by_key.setdefault(fold(word), set()).add(word)

    def apply(self, doc: Doc) -> Doc:
        """Set each misspelled token's ``norm_`` to its lexicon word (the text is unchanged)."""
        for token in doc:
            if token.is_alpha:
                corrected = self.correct(token.text)
                if corrected:
                    token.norm_ = doc.vocab[corrected].norm_  # as the lexicon's own phrase is normalised
        return doc

    def _inflected_common(self, word: str) -> bool:
        """An inflection of a common word (the list holds base forms): shovel-ling, bandage-d, plaster-s."""
        for suffix in ("ing", "ed", "es", "s", "ly", "er", "ers"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                if {stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else stem} & self.common:
                    return True
        return False

    @lru_cache(maxsize=4096)  # noqa: B019 (one speller per process, lives as long as it)
    def correct(self, token: str) -> str | None:
        """The lexicon word ``token`` is a misspelling of, or None."""
        word = token.lower()
        if len(word) < MIN_LENGTH or not word.isalpha() or word in self.vocabulary or word in self.common:
            return None
        if self._inflected_common(word):
            return None  # "shovelling" is "shovel" + ing, not a misspelled "shivering"
        key = fold(word)
        same = self.by_key.get(key)
        if same and len(same) == 1:
            return next(iter(same))
        cap = allowed_edits(word)
        best: dict[int, set[str]] = {}
        for other_key, words in self.by_key.items():
            if _initial(other_key) != _initial(key):
                continue  # a typo keeps the first sound ("tiptoes" is not "bites")
            d = distance(key, other_key, cap)
            if d <= cap:
                best.setdefault(d, set()).update(words)
        if not best:
            return None
        closest = best[min(best)]
        return next(iter(closest)) if len(closest) == 1 else None


def load_common_words(pipeline: Path) -> set[str]:
    from bot.nlu.spacy_pipeline import COMMON_WORDS

    path = pipeline / COMMON_WORDS
    return set(path.read_text(encoding="utf-8").split()) if path.exists() else set()
