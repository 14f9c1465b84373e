"""Document search benchmark: choose the strong-match thresholds of data/retrieval.yml.

    python benchmarks/retrieval_benchmark.py

For each (min_score, min_coverage) pair: recall on answerable questions (the
returned passage contains the expected words) and how many unanswerable
questions wrongly got a passage. Wrong passages are worse than no passage, so
the configured pair must give zero on unanswerable questions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.knowledge import get_knowledge_base  # noqa: E402
from bot.content.retrieval import load_search  # noqa: E402

EVAL = ROOT / "benchmarks" / "data" / "retrieval_eval.yml"
RESULTS = ROOT / "benchmarks" / "results" / "retrieval.json"


def evaluate(search, data: dict) -> dict:
    right = wrong_passage = 0
    for item in data["answerable"]:
        hit = search.best(item["q"])
        if hit and item["expect"].lower() in hit.passage.text.lower():
            right += 1
        elif hit:
            wrong_passage += 1
    false_answers = [q for q in data["unanswerable"] if search.best(q)]
    return {
        "answerable_recall": round(right / len(data["answerable"]), 3),
        "answerable_wrong_passage": wrong_passage,
        "unanswerable_answered": len(false_answers),
        "unanswerable_examples": false_answers,
    }


def main() -> None:
    data = yaml.safe_load(EVAL.read_text())
    passages = list(get_knowledge_base().passages.values())
    configured = load_search(passages)
    grid = []
    for min_score in [2.0, 3.0, 3.5, 4.0, 5.0]:
        for min_coverage in [0.4, 0.5, 0.6, 0.75, 1.0]:
            configured.min_score, configured.min_coverage = min_score, min_coverage
            grid.append({"min_score": min_score, "min_coverage": min_coverage, **evaluate(configured, data)})
    chosen = load_search(passages)
    result = {
        "answerable": len(data["answerable"]),
        "unanswerable": len(data["unanswerable"]),
        "configured": {"min_score": chosen.min_score, "min_coverage": chosen.min_coverage, **evaluate(chosen, data)},
        "grid": grid,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'min_score':>9} {'min_cov':>7} {'recall':>7} {'wrong psg':>9} {'unanswerable answered':>22}")
    for row in grid:
        print(
            f"{row['min_score']:9.1f} {row['min_coverage']:7.2f} {row['answerable_recall']:7.1%} "
            f"{row['answerable_wrong_passage']:9d} {row['unanswerable_answered']:22d}"
        )
    c = result["configured"]
    print(
        f"configured (data/retrieval.yml): min_score {c['min_score']}, min_coverage {c['min_coverage']}: "
        f"recall {c['answerable_recall']:.1%}, wrong passages {c['answerable_wrong_passage']}, "
        f"unanswerable answered {c['unanswerable_answered']} {c['unanswerable_examples']}"
    )


if __name__ == "__main__":
    main()
