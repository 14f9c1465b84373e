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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from bot import PROJECT_ROOT

MODEL = PROJECT_ROOT / "models" / "dry-needling.tar.gz"
RASA = str(Path(sys.executable).with_name("rasa"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Servers:
    rasa_url: str
    action_url: str
    rasa: subprocess.Popen
    actions: subprocess.Popen

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def send(self, sender: str, message: str, timeout: float = 30) -> list[dict]:
        response = requests.post(self.webhook, json={"sender": sender, "message": message}, timeout=timeout)
        response.raise_for_status()
        return response.json()


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
) -> Iterator[Servers]:
    """Both servers with a private tracker store (SQLite file or in memory); stopped (with children) on exit."""
    if not model.exists():
        raise FileNotFoundError(f"{model} is missing: run scripts/train first")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(workdir or tmp)
        action_port, rasa_port = free_port(), free_port()
        endpoints = tmpdir / "endpoints.yml"
        store = f'tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: "{tmpdir / "trackers.db"}"\n' if tracker_store == "sqlite" else ""
        endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n{store}')
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SANIC_HOST": "127.0.0.1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        env["HANDOFF_DATABASE_URL"] = f"sqlite:///{tmpdir / 'handoffs.db'}"  # never the clinic's real store
        env.update(extra_env or {})
        action_log, rasa_log = tmpdir / "actions.log", tmpdir / "rasa.log"
        credentials = tmpdir / "credentials.yml"  # the channels whose variables env sets, as scripts/start does
        subprocess.run(
            [sys.executable, "-m", "bot.channel_config", "credentials.yml", str(credentials)],
            cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
        )
        cors = env.get("CHAT_ALLOWED_ORIGINS", "").replace(",", " ").split()
        actions = subprocess.Popen(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(action_port)],
            cwd=PROJECT_ROOT, env=env, stdout=action_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        rasa = subprocess.Popen(
            [RASA, "run", "--model", str(model), "--endpoints", str(endpoints), "--credentials", str(credentials),
             "--interface", "127.0.0.1", "--port", str(rasa_port),
             *(["--enable-api", "--auth-token", api_token] if api_token else []),
             *(["--cors", *cors] if cors else [])],
            cwd=PROJECT_ROOT, env=env, stdout=rasa_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            _wait(f"http://127.0.0.1:{action_port}/health", actions, action_log, 120)
            _wait(f"http://127.0.0.1:{rasa_port}/", rasa, rasa_log, 240)
            yield Servers(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{action_port}", rasa, actions)
        finally:
            _stop(rasa)
            _stop(actions)
