"""Build the blank English spaCy pipeline with a lookup lemmatizer.

No trained spaCy model can be downloaded on the clinic's machines, so Rasa's
SpacyNLP loads this saved pipeline instead: tokenization plus lemmas from
spacy-lookups-data, which lets "bruises", "bruised" and "bruise" share features.
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
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    print(f"spaCy pipeline written to {build(target)}")
