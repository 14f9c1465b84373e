"""Safety layer benchmark on benchmarks/data/safety_eval.yml (written independently of the
lexicons and the tests): handoff precision/recall, red-flag recall, false urgent alarms on
mild after-effects, and what the screen costs: the latency it adds per message (both
detectors: medspaCy lexicon + learned detector on sentence embeddings) and the memory
it adds to the process (the encoder's weights are shared with the NLU work of issue #11).

    python benchmarks/safety_benchmark.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.encoder import get_encoder  # noqa: E402
from bot.safety.detector import get_detector  # noqa: E402
from bot.safety.learned import get_learned_detector  # noqa: E402
from bot.safety.screen import get_screen  # noqa: E402

EVAL = ROOT / "benchmarks" / "data" / "safety_eval.yml"
FIRST_RUN = {"handoff_recall": 0.833, "handoff_precision": 0.909, "red_flag_recall": 0.686, "mild_false_urgent": 1}
RESULTS = ROOT / "benchmarks" / "results" / "safety.json"


def main() -> None:
    data = yaml.safe_load(EVAL.read_text())
    get_detector()
    rss_before = _rss_mb()  # the lexicon detector the Rasa server already had
    get_learned_detector().predict(["warm up the encoder"])
    rss_after = _rss_mb()  # + the learned detector and the sentence encoder
    screen = get_screen()
    decisions = {t: screen.screen(t) for key in ("handoff", "no_handoff", "urgent", "mild") for t in data[key]}
    handoff = {t: decisions[t].kind == "disclose" or bool(decisions[t].analysis.conditions) for t in data["handoff"] + data["no_handoff"]}
    tp = sum(handoff[t] for t in data["handoff"])
    fp = sum(handoff[t] for t in data["no_handoff"])
    urgent_hits = [t for t in data["urgent"] if decisions[t].kind == "urgent"]
    checked = [t for t in data["urgent"] if decisions[t].kind == "check"]
    false_alarms = [t for t in data["mild"] if decisions[t].kind == "urgent"]
    mild_checked = [t for t in data["mild"] if decisions[t].kind == "check"]
    timings = []
    cpu = []  # CPU time of this thread: what the screen costs, even when other processes share the cores
    shared = []  # as in the Rasa server: the NLU featurizer has already encoded the message (one encoder per process)
    every = list(decisions)
    encoder = get_encoder()
    for _ in range(3):
        for text in every:
            encoder.forget()  # nothing remembered: the screen encodes the message itself
            started, started_cpu = time.perf_counter(), time.thread_time()
            screen.screen(text)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            encoder.forget()
            encoder.encode([text])  # the NLU's share, outside the timer
            started = time.perf_counter()
            screen.screen(text)
            shared.append((time.perf_counter() - started) * 1000)
    timings.sort()
    cpu.sort()
    shared.sort()
    result = {
        "eval_file": str(EVAL.relative_to(ROOT)),
        "counts": {k: len(v) for k, v in data.items()},
        "handoff_recall": round(tp / len(data["handoff"]), 3),
        "handoff_precision": round(tp / max(1, tp + fp), 3),
        "red_flag_recall": round(len(urgent_hits) / len(data["urgent"]), 3),
        "mild_false_urgent": len(false_alarms),
        "red_flags_asked_quick_question": len(checked),
        "mild_asked_quick_question": len(mild_checked),
        "memory_mb": {
            "with_lexicon_detector": round(rss_before),
            "with_learned_detector": round(rss_after),
            "added_by_learned_detector": round(rss_after - rss_before),
        },
        "latency_ms": {"p50": round(statistics.median(timings), 2), "p95": round(timings[int(0.95 * len(timings))], 2)},
        "cpu_ms": {"p50": round(statistics.median(cpu), 2), "p95": round(cpu[int(0.95 * len(cpu))], 2)},
        "latency_after_nlu_ms": {"p50": round(statistics.median(shared), 2), "p95": round(shared[int(0.95 * len(shared))], 2)},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "missed_handoffs": [t for t in data["handoff"] if not handoff[t]],
        "false_handoffs": [t for t in data["no_handoff"] if handoff[t]],
        "missed_red_flags": [t for t in data["urgent"] if t not in urgent_hits],
        "false_urgent": false_alarms,
    }
    # The first run, before anyone looked at this file's errors, is kept: it is the honest
    # held-out measure. Later runs include lexicon fixes made after reading those errors.
    result["first_run_before_fixes"] = FIRST_RUN
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"handoff: recall {result['handoff_recall']:.3f}, precision {result['handoff_precision']:.3f} "
        f"({len(data['handoff'])} disclosures, {len(data['no_handoff'])} non-disclosures)"
    )
    print(
        f"red flags: recall {result['red_flag_recall']:.3f} ({len(data['urgent'])}); "
        f"mild after-effects wrongly urgent: {len(false_alarms)} of {len(data['mild'])}"
    )
    print(f"latency added per message: p50 {result['latency_ms']['p50']} ms, p95 {result['latency_ms']['p95']} ms")
    after = result["latency_after_nlu_ms"]
    print(f"  with the message already encoded by the NLU (as in the server): p50 {after['p50']} ms, p95 {after['p95']} ms")
    print(f"memory: {result['memory_mb']}")


def _rss_mb() -> float:
    """Resident memory of this process (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
