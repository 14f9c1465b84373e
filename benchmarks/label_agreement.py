"""How far two independent labellers agree on the real-question benchmark: the ceiling a score can be measured to.

The benchmark's labels (benchmarks/data/real_questions_benchmark.jsonl) came from the helper who collected the
questions; a second helper, who saw only the questions (shuffled, without labels), the topic list and the clinic's
two documents, labelled them again (benchmarks/data/real_questions_second_labels.jsonl). Where two careful people
disagree, the benchmark cannot tell a right answer from a wrong one.

    python benchmarks/label_agreement.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "benchmarks" / "data" / "real_questions_benchmark.jsonl"
SECOND = ROOT / "benchmarks" / "data" / "real_questions_second_labels.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "label_agreement.json"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def agreement(first: list[dict], second: list[dict]) -> dict:
    """Raw agreement, agreement counting the first labeller's secondary labels (``also``), Cohen's kappa, and the
    most frequent disagreements."""
    if [r["text"] for r in first] != [r["text"] for r in second]:
        raise SystemExit("the second labels do not follow the benchmark's questions")
    n = len(first)
    same = sum(a["intent"] == b["intent"] for a, b in zip(first, second, strict=True))
    same_or_also = sum(b["intent"] in {a["intent"], *(a.get("also") or [])} for a, b in zip(first, second, strict=True))
    counts_a, counts_b = Counter(r["intent"] for r in first), Counter(r["intent"] for r in second)
    chance = sum(counts_a[k] * counts_b[k] for k in counts_a) / n / n
    pairs = Counter((a["intent"], b["intent"]) for a, b in zip(first, second, strict=True) if a["intent"] != b["intent"])
    return {
        "questions": n,
        "agreement": round(same / n, 3),
        "agreement_counting_secondary_labels": round(same_or_also / n, 3),
        "cohen_kappa": round((same / n - chance) / (1 - chance), 3),
        "top_disagreements": [{"benchmark": a, "second": b, "n": c} for (a, b), c in pairs.most_common(8)],
    }


def main() -> None:
    result = agreement(load(BENCHMARK), load(SECOND))
    print(
        f"{result['questions']} questions: the two labellers agree on {result['agreement']:.3f} "
        f"({result['agreement_counting_secondary_labels']:.3f} counting secondary labels), Cohen's kappa {result['cohen_kappa']:.3f}"
    )
    for row in result["top_disagreements"]:
        print(f"  {row['n']:>3}  {row['benchmark']} -> {row['second']}")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
