"""A stand-in for the messaging providers' APIs on loopback: records what the assistant sends."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Sent:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, str]
    json: dict | None


class ProviderStandIn:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                kind = self.headers.get("Content-Type", "")
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if "form" in kind else {}
                data = json.loads(body) if "json" in kind else None
                with standin._lock:
                    standin.sent.append(Sent(url.path, parse_qs(url.query), dict(self.headers), form, data))
                reply = json.dumps({"ok": True, "result": True, "sid": "SM0", "message_id": "m0"}).encode()
                self.send_response(201 if url.path.endswith("Messages.json") else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self) -> list[Sent]:
        """What was sent since the last call, in order."""
        with self._lock:
            sent, self.sent = self.sent, []
        return sent


@contextlib.contextmanager
def provider_standin() -> Iterator[ProviderStandIn]:
    standin = ProviderStandIn()
    thread = threading.Thread(target=standin.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin.server.shutdown()
        standin.server.server_close()
