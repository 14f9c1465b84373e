"""Compare NLU pipelines on the real-question benchmark: sparse only, dense only, both; DIET versus the LR head.

Each variant in benchmarks/pipelines/*.yml (and config.yml itself, as ``lr_both``) is trained on the
same data into build/pipelines/ and then run through benchmarks/real_questions.py, so every figure
includes the whole assistant (fallback, safety screen, actions). Training time is recorded too.
The choice in config.yml was made by cross-validation by site on the training questions; these
benchmark figures are reported for every variant, not used to pick one.

    python benchmarks/pipelines.py [--only diet_both lr_both]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "pipelines.json"


def variants() -> dict[str, Path]:
    found = {p.stem: p for p in sorted((ROOT / "benchmarks" / "pipelines").glob("*.yml"))}
    return {**found, "lr_both": ROOT / "config.yml"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="variant names (default: all)")
    args = parser.parse_args()
    rasa = str(Path(sys.executable).with_name("rasa"))
    out_dir = ROOT / "build" / "pipelines"
    recorded = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name, config in variants().items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        subprocess.run(
            [
                rasa,
                "train",
                "--config",
                str(config),
                "--domain",
                "domain.yml",
                "--data",
                "data",
                "--out",
                str(out_dir),
                "--fixed-model-name",
                name,
                "--force",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        seconds = round(time.perf_counter() - started)
        subprocess.run(
            [
                sys.executable,
                "benchmarks/real_questions.py",
                "--label",
                "pipelines",
                "--system",
                name,
                "--model",
                str(out_dir / f"{name}.tar.gz"),
            ],
            cwd=ROOT,
            check=True,
        )
        scores = json.loads((ROOT / "benchmarks" / "results" / "real_questions.json").read_text())["pipelines"][name]
        recorded[name] = {
            "config": str(config.relative_to(ROOT)),
            "training_seconds": seconds,
            **{k: scores[k] for k in ("intent_accuracy", "macro_f1", "answer_accuracy")},
        }
        RESULTS.write_text(json.dumps(recorded, indent=2) + "\n")
        print(f"{name}: trained in {seconds} s, {recorded[name]}", flush=True)


if __name__ == "__main__":
    main()
