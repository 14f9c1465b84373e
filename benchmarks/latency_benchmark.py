"""Speed benchmark: one message over the REST webhook, through the Rasa server and the action server.

    python benchmarks/latency_benchmark.py [--messages 300] [--train]

Measures p50/p95 latency sequentially and with 8 concurrent clients, messages per
second, peak memory (VmHWM) of each server, and optionally the training time
(a forced full `rasa train` into a temporary directory). Results go to
benchmarks/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.servers import running_servers  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
QUESTIONS = [
    "is dry needling safe?",
    "will i bruise?",
    "who should not have dry needling",
    "does it hurt",
    "how is it different from acupuncture",
    "what do you do to keep it sterile",
    "is it ok for my elderly mum",
    "how much does it cost",
    "hello",
    "do practitioners wear gloves?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process and its children (Linux /proc)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


TURNS_PER_CONVERSATION = 10  # a typical visit; each client then starts a new conversation


def run_clients(url: str, clients: int, per_client: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        session = requests.Session()
        sender = ""
        for i in range(per_client):
            if i % TURNS_PER_CONVERSATION == 0:
                sender = f"bench-{n}-{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            response = session.post(url, json={"sender": sender, "message": QUESTIONS[(n + i) % len(QUESTIONS)]}, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.ok and response.json(), response.text[:200]
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def summary(latencies: list[float], seconds: float) -> dict:
    return {
        "messages": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "messages_per_second": round(len(latencies) / seconds, 1),
    }


def training_seconds() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [str(Path(sys.executable).with_name("rasa")), "train", "--force", "--out", out, "--config", "config.yml",
             "--domain", "domain.yml", "--data", "data"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        )
        return round(time.monotonic() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300, help="messages per scenario")
    parser.add_argument("--train", action="store_true", help="also measure a full training run")
    parser.add_argument("--tracker-store", choices=["sqlite", "memory"], default="sqlite",
                        help="sqlite is what scripts/start uses (default)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": f"{os.cpu_count()} cores", "python": sys.version.split()[0], "tracker_store": args.tracker_store}
    with running_servers(tracker_store=args.tracker_store) as servers:
        run_clients(servers.webhook, 2, 20)  # warm-up: model graph, caches, connections
        latencies, seconds = run_clients(servers.webhook, 1, args.messages)
        results["sequential"] = summary(latencies, seconds)
        latencies, seconds = run_clients(servers.webhook, 8, max(1, args.messages // 8))
        results["concurrent_8"] = summary(latencies, seconds)
        results["peak_memory_mb"] = {"rasa_server": peak_rss_mb(servers.rasa.pid), "action_server": peak_rss_mb(servers.actions.pid)}
    if args.train:
        results["training_seconds"] = training_seconds()
    else:
        previous = RESULTS / "latency.json"
        if previous.exists() and "training_seconds" in json.loads(previous.read_text()):
            results["training_seconds"] = json.loads(previous.read_text())["training_seconds"]
    (RESULTS / "latency.json").write_text(json.dumps(results, indent=2) + "\n")
    for name in ["sequential", "concurrent_8"]:
        r = results[name]
        print(f"{name:13} p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms  "
              f"{r['messages_per_second']:6.1f} msg/s  ({r['messages']} messages)")
    memory = results["peak_memory_mb"]
    print(f"peak memory: Rasa server {memory['rasa_server']} MB, action server {memory['action_server']} MB")
    if "training_seconds" in results:
        print(f"training time: {results['training_seconds']} s")


if __name__ == "__main__":
    main()
