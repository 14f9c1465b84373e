"""Split the collected real questions by source site: about 60 % of sites to training, 40 % to a frozen benchmark.

A site goes to training when sha256(site) mod 100 < 60, so the split is reproducible, needs no
random seed, and a whole site (its writing style, its topics) is on one side only. Run once on the
collected file; questions collected later from other sites are added to training only (``--add``),
never to the frozen benchmark, and never from a benchmark site. ``--check`` (also run by the unit
tests) verifies that the benchmark obeys the rule and that the two files share no site and no question.

    python benchmarks/split_real_questions.py collected.jsonl      # writes both files
    python benchmarks/split_real_questions.py --add more.jsonl     # more training questions
    python benchmarks/split_real_questions.py --check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "data" / "nlu" / "real_questions.yml"
BENCHMARK = ROOT / "benchmarks" / "data" / "real_questions_benchmark.jsonl"
TRAINING_SHARE = 60  # percent of sites


def to_training(site: str) -> bool:
    return int(hashlib.sha256(site.encode("utf-8")).hexdigest(), 16) % 100 < TRAINING_SHARE


def training_yaml(rows: list[dict[str, Any]]) -> str:
    """Rasa NLU YAML, one block per intent; each example keeps its site and URL as metadata."""
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_intent.setdefault(row["intent"], []).append(
            {"text": row["text"], "metadata": {"site": row["site"], "url": row["url"], "also": row.get("also") or []}}
        )
    header = (
        "# Real questions about dry needling from public sites (clinic FAQ pages, Q&A sites, forums),\n"
        "# the training side of the split by site (benchmarks/split_real_questions.py). The other sites'\n"
        "# questions are the frozen benchmark (benchmarks/data/real_questions_benchmark.jsonl): never copy them here.\n"
    )
    body = {"version": "3.1", "nlu": [{"intent": i, "examples": ex} for i, ex in sorted(by_intent.items())]}
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)


def load_training() -> list[dict[str, Any]]:
    raw = yaml.safe_load(TRAINING.read_text(encoding="utf-8"))
    return [{"text": e["text"], "intent": block["intent"], **e["metadata"]} for block in raw["nlu"] for e in block["examples"]]


def load_benchmark() -> list[dict[str, Any]]:
    return [json.loads(line) for line in BENCHMARK.read_text(encoding="utf-8").splitlines() if line.strip()]


def problems() -> list[str]:
    train, bench = load_training(), load_benchmark()
    bench_sites = {r["site"] for r in bench}
    errors = [f"training site {r['site']} is a benchmark site" for r in train if r["site"] in bench_sites]
    errors += [f"benchmark site {r['site']} belongs to training" for r in bench if to_training(r["site"])]
    shared = {r["text"].strip().lower() for r in train} & {r["text"].strip().lower() for r in bench}
    errors += [f"question in both files: {t!r}" for t in sorted(shared)]
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("collected", nargs="?", type=Path)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--add", type=Path, help="more collected questions, added to training only")
    args = parser.parse_args()
    if args.add:
        bench = load_benchmark()
        bench_sites, seen = {r["site"] for r in bench}, {r["text"].strip().lower() for r in [*bench, *load_training()]}
        rows = [json.loads(line) for line in args.add.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = []
        for row in rows:
            if row["site"] not in bench_sites and row["text"].strip().lower() not in seen:
                seen.add(row["text"].strip().lower())
                kept.append(row)
        TRAINING.write_text(training_yaml(load_training() + kept), encoding="utf-8")
        print(f"added {len(kept)} of {len(rows)} questions ({len(rows) - len(kept)} from benchmark sites or repeated)")
        return 0
    if args.check or args.collected is None:
        errors = problems()
        print("\n".join(errors) or f"split ok: {len(load_training())} training, {len(load_benchmark())} benchmark questions")
        return 1 if errors else 0
    rows = [json.loads(line) for line in args.collected.read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [r for r in rows if to_training(r["site"])]
    bench = [r for r in rows if not to_training(r["site"])]
    TRAINING.write_text(training_yaml(train), encoding="utf-8")
    BENCHMARK.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in bench), encoding="utf-8")
    print(
        f"{len(train)} training questions from {len({r['site'] for r in train})} sites, "
        f"{len(bench)} benchmark questions from {len({r['site'] for r in bench})} sites"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
