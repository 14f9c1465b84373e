"""The README's first command: scripts/start brings up a working assistant and Ctrl-C stops all of it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import requests

from bot import PROJECT_ROOT
from tests.support.servers import free_port


def test_start_serves_the_chat_and_rest_then_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHAT_", "TWILIO_", "TELEGRAM_", "MESSENGER_", "STORES"))}
    env["RASA_PORT"] = str(port)
    log = (tmp_path / "start.log").open("w")
    proc = subprocess.Popen(
        [str(PROJECT_ROOT / "scripts" / "start")], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "start.log").read_text()[-3000:]
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/chat/", timeout=2).ok:
                    break
            time.sleep(1)
        else:
            raise AssertionError("scripts/start did not serve /chat/ in time")
        assert "Content-Security-Policy" in requests.get(f"{base}/chat/", timeout=5).headers
        reply = requests.post(
            f"{base}/webhooks/rest/webhook", json={"sender": "start-test", "message": "is dry needling safe?"}, timeout=30
        ).json()
        assert "qualified and experienced practitioner" in reply[0]["text"]
        assert oct((PROJECT_ROOT / "var").stat().st_mode)[-3:] == "700", "conversations are readable by the clinic user only"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        proc.wait(60)
    output = (tmp_path / "start.log").read_text()
    assert "Stopping the assistant" in output
    time.sleep(2)
    for pattern in (f"rasa run --model.*--port {port}", "rasa run actions --actions actions --port 5055"):
        left = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        assert left == [], f"{pattern!r} still running after Ctrl-C"
    assert "unbound variable" not in output
