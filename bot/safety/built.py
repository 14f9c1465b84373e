"""A model built from a corpus file and kept under build/: rebuilt only when the corpus changed.

The corpus's SHA-256 is saved with the model (``corpus_sha256`` in the .npz), so a process, or
``scripts/train``, knows whether the model on disk is the corpus's. Shared by the learned
red-flag detector and the condition reader (bot/safety/learned.py, condition_topics.py).
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from bot import PROJECT_ROOT


def corpus_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(corpus: Path, built: Path) -> bool:
    """The model on disk was built from this corpus."""
    if not built.exists():
        return False
    with np.load(built, allow_pickle=False) as data:
        return str(data["corpus_sha256"]) == corpus_hash(corpus)


Model = TypeVar("Model")


def current_model(corpus: Path, built: Path, build: Callable[[], dict[str, float]], load: Callable[[Path], Model]) -> Model:
    """The model on disk, built first when it is missing or was built from another version of the corpus."""
    if not is_current(corpus, built):
        build()
    return load(built)


def build_command(argv: list[str] | None, what: str, corpus: Path, built: Path, build: Callable[[], dict[str, float]]) -> int:
    """``--build`` (only when the corpus changed) or ``--force``; prints what the build measured."""
    parser = argparse.ArgumentParser(description=f"Build the {what} from {corpus.relative_to(PROJECT_ROOT)}.")
    parser.add_argument("--build", action="store_true", help=f"build {built.relative_to(PROJECT_ROOT)} if the corpus changed")
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    if not (args.build or args.force):
        parser.print_help()
        return 2
    if is_current(corpus, built) and not args.force:
        print(f"{what} is current ({built.relative_to(PROJECT_ROOT)})")
        return 0
    report = build()
    print(f"{what} built:", ", ".join(f"{k} {v}" for k, v in report.items()))
    return 0
