"""Build the blank English spaCy pipeline with a lookup lemmatizer.

No trained spaCy model can be downloaded on the clinic's machines, so Rasa's
SpacyNLP loads this saved pipeline instead: tokenization plus lemmas from
spacy-lookups-data, which lets "bruises", "bruised" and "bruise" share features.
Beside it, ``common_words.txt``: the English words common enough that the safety
detector never "corrects" them into a lexicon term (bot/safety/spelling.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy

from bot import PROJECT_ROOT

DEFAULT_PATH = PROJECT_ROOT / "build" / "spacy-en-lookup"


def build(path: Path = DEFAULT_PATH) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(path)
    (path / COMMON_WORDS).write_text("\n".join(sorted(common_words())) + "\n", encoding="utf-8")
    return path


COMMON_WORDS = "common_words.txt"
MIN_LOG_PROB = -17.0  # about the 76,000 most frequent lowercase English words ("netball" is one, "pregant" is not)


def common_words() -> set[str]:
    """Lowercase alphabetic words from spacy-lookups-data's English frequency table."""
    import gzip
    import json

    import spacy_lookups_data

    table = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    with gzip.open(table, "rt", encoding="utf-8") as f:
        probs = json.load(f)
    return {w for w, p in probs.items() if p > MIN_LOG_PROB and w.isalpha() and w.islower()}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    print(f"spaCy pipeline written to {build(target)}")
