"""The issue #11 cost targets: first message of a new conversation (sequential REST p50/p95), Rasa server
memory, and full training time.

Each request opens a new conversation, so it pays for everything a visitor's first message does
(session start, NLU with the sentence encoder and the safety screen, actions). Every message is a
different real training question (data/nlu/real_questions.yml), so no cache sees a text twice.
Results go to benchmarks/results/first_message.json with the machine's load average, because this
2-core VM's speed varies with what else runs on it (the same code gave p95 46 ms one day and 52-59 ms
another); so it runs several times on disjoint questions and records every run and the median.

    python benchmarks/first_message.py [--messages 200] [--runs 3] [--train]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import requests  # noqa: E402
from load_benchmark import peak_rss_mb, percentile, training_seconds  # noqa: E402
from split_real_questions import load_training  # noqa: E402

from tests.support.servers import running_servers  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "first_message.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="runs on disjoint questions; the recorded p50/p95 are their medians")
    parser.add_argument("--train", action="store_true", help="also measure a full `rasa train --force`")
    args = parser.parse_args()
    texts = list(dict.fromkeys(r["text"] for r in load_training()))
    assert len(texts) >= args.runs * args.messages + 20, "not enough different questions"
    runs = []
    with running_servers() as servers:
        session = requests.Session()
        url = f"{servers.rasa_url}/webhooks/rest/webhook"
        for i in range(20):  # warm-up: model graph, caches, connections
            session.post(url, json={"sender": f"warm-{i}", "message": texts[-1 - i]}, timeout=120).raise_for_status()
        for run in range(args.runs):
            latencies = []
            load_before = os.getloadavg()[0]
            for text in texts[run * args.messages : (run + 1) * args.messages]:
                started = time.perf_counter()
                response = session.post(url, json={"sender": f"new-{uuid.uuid4().hex}", "message": text}, timeout=120)
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                assert response.json(), "the assistant must always answer"
            runs.append(
                {
                    "p50_ms": round(percentile(latencies, 50), 1),
                    "p95_ms": round(percentile(latencies, 95), 1),
                    "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                }
            )
        result = {
            "messages": args.messages,
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p95_ms": statistics.median(r["p95_ms"] for r in runs),
            "runs": runs,
            "rasa_server_peak_rss_mb": peak_rss_mb(servers.rasa.pid),
            "action_server_peak_rss_mb": peak_rss_mb(servers.actions.pid),
            "load_average_1min": [min(r["load_average_1min"][0] for r in runs), max(r["load_average_1min"][1] for r in runs)],
            "cores": os.cpu_count(),
        }
    if args.train:
        result["training_seconds"] = training_seconds()
    elif RESULTS.exists() and "training_seconds" in json.loads(RESULTS.read_text()):
        result["training_seconds"] = json.loads(RESULTS.read_text())["training_seconds"]  # kept from the last --train
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
