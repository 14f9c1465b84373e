"""The safety screen on the DEVELOPMENT sets, without servers: per-group figures and every error.

    python benchmarks/safety_dev.py                      # every dev set
    python benchmarks/safety_dev.py --quiet              # figures only
    python benchmarks/safety_dev.py --json out.json      # figures as JSON (for before/after records)

The development sets (benchmarks/data/safety_dev*.jsonl) are tuning sets:
their errors are printed so that the mechanisms behind them can be fixed. The blind sets
(safety_blind_*.jsonl) are NEVER read here: they are scored only by benchmarks/safety_blind.py,
through the running assistant, which records aggregates only.

Each message gets the screen's decision, as the Rasa component (bot/safety/annotator.py) takes
it: ``urgent`` (red flag), ``handoff`` (a disclosure about the patient), ``check`` (the quick
Yes/No question) or ``none``. In a conversation, a person booked for in an earlier turn is the
patient of later ones, as in the annotator.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.safety.screen import Decision, Earlier, get_screen  # noqa: E402

# Every development set, in the order they were written (safety_dev.jsonl, safety_dev2.jsonl, ...).
DEV_SETS = sorted((ROOT / "benchmarks" / "data").glob("safety_dev*.jsonl"), key=lambda p: int(p.stem.removeprefix("safety_dev") or 1))


def outcome(decision: Decision) -> str:
    """urgent | handoff | check | none, as the assistant acts on the screen's decision."""
    if decision.kind == "urgent":
        return "urgent"
    if decision.kind == "disclose":
        return "handoff"
    if decision.kind == "check":
        return "check"
    return "none"


def _items(path: Path) -> list[dict]:
    """Flat list of scored messages; a conversation's turns carry ``turn`` and ``conversation``."""
    out: list[dict] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        item = json.loads(line)
        if "turns" in item:
            for t, turn in enumerate(item["turns"]):
                label = turn.get("category") or item.get("category") or "conversation"
                out.append({**item, **turn, "category": label, "conversation": n, "turn": t})
        else:
            out.append(item)
    return out


def _key(item: dict, field: str) -> str:
    """A field, or its synonym in the other writer's format (``reason`` / ``subject``)."""
    other = {"reason": "subject", "subject": "reason"}.get(field, field)
    return str(item.get(field) or item.get(other) or "-")


def score(path: Path, quiet: bool = False) -> dict:
    screen = get_screen()
    items = _items(path)
    booked: dict[int, bool] = defaultdict(bool)
    previous: dict[int, Earlier | None] = defaultdict(lambda: None)  # the last turn, and whether it got urgent guidance
    times: list[float] = []
    for item in items:
        conversation = item.get("conversation")
        earlier = booked[conversation] if conversation is not None else False
        started = time.perf_counter()
        decision = screen.screen(item["text"], earlier, previous[conversation] if conversation is not None else None)
        times.append((time.perf_counter() - started) * 1000)
        if conversation is not None and decision.analysis.books_for_someone:
            booked[conversation] = True
        if conversation is not None:
            previous[conversation] = Earlier(item["text"], decision.kind == "urgent")
        item["got"] = outcome(decision)
        item["handoff_found"] = item["got"] == "handoff"  # as the blind scorer: urgent guidance comes first
        item["detail"] = {
            "mentions": [(m.group, m.text, m.role) for m in decision.analysis.mentions],
            "learned": (round(decision.learned.urgent, 3), decision.learned.group) if decision.learned else None,
        }
    report: dict = {"file": path.name, "messages": len(items)}

    urgent = [i for i in items if i["expected"] == "urgent"]
    if urgent:
        by_group: dict[str, list[dict]] = defaultdict(list)
        for i in urgent:
            by_group[_key(i, "group")].append(i)
        report["red_flags"] = {
            "n": len(urgent),
            "urgent": round(sum(i["got"] == "urgent" for i in urgent) / len(urgent), 3),
            "urgent_or_check": round(sum(i["got"] in ("urgent", "check") for i in urgent) / len(urgent), 3),
            "by_group": {
                g: f"{sum(i['got'] == 'urgent' for i in v)}/{len(v)} urgent, {sum(i['got'] == 'check' for i in v)} check"
                for g, v in sorted(by_group.items())
            },
        }
    handoff = [i for i in items if i["expected"] == "handoff"]
    negatives = [i for i in items if i["expected"] == "none"]
    if handoff:
        tp = sum(i["handoff_found"] for i in handoff)
        fp = sum(i["handoff_found"] for i in negatives)
        by_group = defaultdict(list)
        for i in handoff:
            by_group[_key(i, "group")].append(i)
        report["disclosures"] = {
            "n": len(handoff),
            "recall": round(tp / len(handoff), 3),
            "precision": round(tp / max(1, tp + fp), 3),
            "by_group": {g: f"{sum(i['handoff_found'] for i in v)}/{len(v)}" for g, v in sorted(by_group.items())},
        }
    if negatives:
        by_reason: dict[str, list[dict]] = defaultdict(list)
        for i in negatives:
            by_reason[str(i.get("category") or "-") + "/" + (_key(i, "group") if "/" in str(i.get("group")) else _key(i, "reason"))].append(
                i
            )
        report["negatives"] = {
            g: f"{sum(i['handoff_found'] for i in v)}/{len(v)} handoff, {sum(i['got'] == 'urgent' for i in v)} urgent, "
            f"{sum(i['got'] == 'check' for i in v)} check"
            for g, v in sorted(by_reason.items())
        }
    mild = [i for i in negatives if "mild" in str(i.get("category") or i.get("group") or "")]
    if mild:
        report["mild"] = {
            "n": len(mild),
            "wrongly_urgent": round(sum(i["got"] == "urgent" for i in mild) / len(mild), 3),
            "quick_question": round(sum(i["got"] == "check" for i in mild) / len(mild), 3),
        }
    times.sort()
    report["latency_ms"] = {"p50": round(statistics.median(times), 1), "p95": round(times[int(0.95 * len(times))], 1)}

    if not quiet:
        print(f"\n=== errors in {path.name} ===")
        for i in items:
            expected, got = i["expected"], i["got"]
            wrong = (
                (expected == "urgent" and got != "urgent")
                or (expected == "handoff" and not i["handoff_found"])
                or (expected == "none" and (i["handoff_found"] or got in ("urgent", "check")))
            )
            if wrong:
                tag = f"{expected}->{got} [{i.get('category', '-')}/{_key(i, 'group')}/{_key(i, 'reason')}]"
                print(f"{tag}\n    {i['text']}\n    {i['detail']}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="dev set files (default: both dev sets)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no error listing")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    files = args.files or [p for p in DEV_SETS if p.exists()]
    if any("blind" in p.name for p in files):
        parser.error("blind sets are evaluation sets: score them with benchmarks/safety_blind.py")
    reports = [score(p, args.quiet) for p in files]
    for report in reports:
        print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
