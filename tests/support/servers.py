"""Start the action server and the Rasa server on free loopback ports (tests and benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bot import PROJECT_ROOT
from bot.config import PRODUCTION_DEFAULTS

MODEL = PROJECT_ROOT / "models" / "dry-needling.tar.gz"
RASA = str(Path(sys.executable).with_name("rasa"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Servers:
    rasa_urls: list[str]
    action_url: str
    rasa_procs: list[subprocess.Popen]
    actions: subprocess.Popen
    restart: Callable[[int], None]
    logs: list[Path]

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def rasa(self) -> subprocess.Popen:
        return self.rasa_procs[0]

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def send(self, sender: str, message: str, timeout: float = 30, instance: int = 0) -> list[dict]:
        url = f"{self.rasa_urls[instance]}/webhooks/rest/webhook"
        response = requests.post(url, json={"sender": sender, "message": message}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def kill(self, instance: int) -> None:
        """SIGKILL a Rasa server and its children: no clean shutdown, as in a crash."""
        proc = self.rasa_procs[instance]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def log_text(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    def problems(self, limit: int = 30) -> str:
        """The servers' last ERROR and WARNING lines and exceptions, for failure messages."""
        found = []
        for log in self.logs:
            for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
                exception = line[:1].isalpha() and line.split(":")[0].endswith(("Error", "Exception"))
                if " ERROR " in line or " WARNING " in line or exception:
                    found.append(f"{log.name}: {line}")
        return "\n".join(found[-limit:]) or "(no errors or warnings in the server logs)"


def production_settings(database_url: str, redis_port: int) -> dict[str, str]:
    """POSTGRES_* and REDIS_* for ``running_servers(tracker_store="production")`` on loopback servers."""
    url = urlsplit(database_url)
    return {
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(url.port),
        "POSTGRES_DB": url.path.lstrip("/"),
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_port),
        "REDIS_PASSWORD": "",
        "REDIS_DB": "1",
    }


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).ok:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {timeout}s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def running_servers(
    model: Path = MODEL,
    workdir: Path | None = None,
    tracker_store: str = "sqlite",
    extra_env: dict[str, str] | None = None,
    api_token: str | None = None,
    instances: int = 1,
    production_env: dict[str, str] | None = None,
) -> Iterator[Servers]:
    """An action server and ``instances`` Rasa servers on free loopback ports, stopped (with children) on exit.

    ``tracker_store``: "sqlite" (a private file), "memory", or "production" (endpoints.production.yml with
    STORES=production; ``production_env`` gives the POSTGRES_* / REDIS_* settings).
    """
    if not model.exists():
        raise FileNotFoundError(f"{model} is missing: run scripts/train first")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(workdir or tmp)
        action_port = free_port()
        rasa_ports = [free_port() for _ in range(instances)]
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SANIC_HOST": "127.0.0.1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        env["HANDOFF_DATABASE_URL"] = f"sqlite:///{tmpdir / 'handoffs.db'}"  # never the clinic's real store
        if tracker_store == "production":
            env.pop("HANDOFF_DATABASE_URL")
            env.update({"STORES": "production", "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook"})
            env.update(production_env or {})
            for name, value in PRODUCTION_DEFAULTS.items():  # as scripts/start does
                env.setdefault(name, value)
            endpoints = PROJECT_ROOT / "endpoints.production.yml"
        else:
            endpoints = tmpdir / "endpoints.yml"
            sqlite = (
                "tracker_store:\n  type: bot.persistence.tracker_store.ResilientSQLTrackerStore\n"
                f'  dialect: sqlite\n  db: "{tmpdir / "trackers.db"}"\n'
            )
            store = sqlite if tracker_store == "sqlite" else ""
            endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n{store}')
        env.update(extra_env or {})
        # As scripts/start: one TensorFlow thread per op, for the Rasa server only.
        rasa_env = {**env, "TF_INTER_OP_PARALLELISM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1"}
        action_log = tmpdir / "actions.log"
        rasa_logs = [tmpdir / f"rasa{n}.log" for n in range(instances)]
        credentials = tmpdir / "credentials.yml"  # the channels whose variables env sets, as scripts/start does
        subprocess.run(
            [sys.executable, "-m", "bot.channels.config", "credentials.yml", str(credentials)],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        cors = env.get("CHAT_ALLOWED_ORIGINS", "").replace(",", " ").split()
        actions = subprocess.Popen(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(action_port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=action_log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs: list[subprocess.Popen] = []

        def start(n: int) -> subprocess.Popen:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot.server",
                    "run",
                    "--model",
                    str(model),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(credentials),
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(rasa_ports[n]),
                    *(["--enable-api", "--auth-token", api_token] if api_token else []),
                    *(["--cors", *cors] if cors else []),
                ],
                cwd=PROJECT_ROOT,
                env=rasa_env,
                stdout=rasa_logs[n].open("a"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def restart(n: int) -> None:
            if procs[n].poll() is None:
                raise RuntimeError(f"Rasa server {n} is still running")
            procs[n] = start(n)
            _wait(f"http://127.0.0.1:{rasa_ports[n]}/", procs[n], rasa_logs[n], 240)

        try:
            procs.extend(start(n) for n in range(instances))
            _wait(f"http://127.0.0.1:{action_port}/health", actions, action_log, 120)
            for n in range(instances):
                _wait(f"http://127.0.0.1:{rasa_ports[n]}/", procs[n], rasa_logs[n], 240)
            yield Servers(
                [f"http://127.0.0.1:{p}" for p in rasa_ports],
                f"http://127.0.0.1:{action_port}",
                procs,
                actions,
                restart,
                [action_log, *rasa_logs],
            )
        finally:
            for proc in procs:
                _stop(proc)
            _stop(actions)
