"""Load benchmark: messages per second and latency at 1, 8 and 32 concurrent clients.

    python benchmarks/load_benchmark.py [--quick] [--train]

Three set-ups, each started from scratch on loopback:
  * embedded: one Rasa server, SQLite tracker store, in-memory lock store (scripts/start's default);
  * production, 1 instance: STORES=production, PostgreSQL (fsync on) + Redis;
  * production, 2 instances: two Rasa servers sharing PostgreSQL + Redis, requests spread
    round robin as nginx does (each conversation's turns alternate between the servers).
Each client holds 10-turn conversations (a typical visit) and sends the next message as
soon as it has the reply. Each client count is run three times and the median run (by
messages per second) is kept, with all three rates. Records p50/p95/p99 latency, messages per second, the peak
memory (VmHWM) of every server process, and the time from starting the processes to the
first answer. --train also measures a full `rasa train`. Results go to
benchmarks/results/load.json; benchmarks/report.py renders them into the README.
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

from tests.support import postgres  # noqa: E402
from tests.support.redis_server import redis_server  # noqa: E402
from tests.support.servers import production_settings, running_servers  # noqa: E402

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
TURNS_PER_CONVERSATION = 10
CLIENTS = (1, 8, 32)
REPEATS = 3


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process and its direct children (Linux /proc)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def run_clients(urls: list[str], clients: int, messages: int) -> dict:
    """``clients`` threads share ``messages`` messages; turn t of a conversation goes to urls[t % len(urls)]."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = max(1, messages // clients)

    def client(n: int) -> None:
        nonlocal errors
        session = requests.Session()
        sender = ""
        for i in range(per_client):
            turn = i % TURNS_PER_CONVERSATION
            if turn == 0:
                sender = f"load-{n}-{uuid.uuid4().hex[:8]}"
            url = f"{urls[turn % len(urls)]}/webhooks/rest/webhook"
            started = time.perf_counter()
            response = session.post(url, json={"sender": sender, "message": QUESTIONS[(n + i) % len(QUESTIONS)]}, timeout=120)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.ok and response.json():
                    latencies.append(elapsed)
                else:
                    errors += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return {
        "clients": clients,
        "messages": len(latencies),
        "errors": errors,
        "messages_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


def measure(name: str, quick: bool, **server_args) -> dict:
    started = time.perf_counter()
    with running_servers(**server_args) as servers:
        first = servers.send(f"first-{uuid.uuid4().hex}", "is dry needling safe?", timeout=120)
        assert first, "no answer"
        start_to_first_answer = round(time.perf_counter() - started, 1)
        run_clients(servers.rasa_urls, 2, 40)  # warm-up: model graph, caches, connections
        runs = []
        for clients in CLIENTS:
            messages = {1: 150, 8: 480, 32: 960}[clients] // (3 if quick else 1)
            # This VM's speed varies from run to run by 10-20%: keep the median of three runs.
            repeats = sorted(
                (run_clients(servers.rasa_urls, clients, messages) for _ in range(1 if quick else REPEATS)),
                key=lambda run: run["messages_per_second"],
            )
            r = dict(repeats[len(repeats) // 2], messages_per_second_all_runs=[x["messages_per_second"] for x in repeats])
            runs.append(r)
            print(
                f"{name:24} {clients:2} clients: {r['messages_per_second']:6.1f} msg/s  p50 {r['p50_ms']:6.1f}  "
                f"p95 {r['p95_ms']:6.1f}  p99 {r['p99_ms']:6.1f} ms  ({r['messages']} messages, {r['errors']} errors)"
            )
        memory = {f"rasa_server_{n + 1}": peak_rss_mb(p.pid) for n, p in enumerate(servers.rasa_procs)}
        memory["action_server"] = peak_rss_mb(servers.actions.pid)
    return {
        "name": name,
        "instances": len(memory) - 1,
        "start_to_first_answer_s": start_to_first_answer,
        "runs": runs,
        "peak_memory_mb": memory,
    }


def training_seconds() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("rasa")),
                "train",
                "--force",
                "--out",
                out,
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--data",
                "data",
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        )
        return round(time.monotonic() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a third of the messages (a smoke run, not for the record)")
    parser.add_argument("--train", action="store_true", help="also measure a full training run")
    args = parser.parse_args()
    results: dict = {"machine": f"{os.cpu_count()} cores", "python": sys.version.split()[0], "setups": []}
    results["setups"].append(measure("embedded, 1 instance", args.quick))
    with postgres.throwaway_server(durable=True) as server_url, redis_server() as redis:
        for instances in (1, 2):
            database = postgres.fresh_database_on(server_url)
            results["setups"].append(
                measure(
                    f"production, {instances} instance{'s' * (instances > 1)}",
                    args.quick,
                    tracker_store="production",
                    instances=instances,
                    production_env=production_settings(database, redis.port),
                )
            )
    previous = RESULTS / "load.json"
    if args.train:
        results["training_seconds"] = training_seconds()
    elif previous.exists() and "training_seconds" in json.loads(previous.read_text()):
        results["training_seconds"] = json.loads(previous.read_text())["training_seconds"]
    if args.quick:
        print("--quick: results not recorded")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
