"""The staff console in this process, on a free loopback port, over its own SQLite database (tests only)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from aiohttp import web

from bot.config import load_settings
from bot.console.app import create_app
from bot.console.context import Services
from tests.support.servers import free_port

PASSWORDS = {"desk": "reception window 12", "clin": "physio bench 1234", "admin": "server closet 987"}
ROLES = {"desk": ["front_desk"], "clin": ["clinician"], "admin": ["admin"]}


@dataclass
class Console:
    url: str
    services: Services
    app: web.Application

    def session(self) -> requests.Session:
        return requests.Session()

    def sign_in(self, name: str, password: str | None = None) -> requests.Session:
        """A browser-like session signed in as ``name`` (password from PASSWORDS unless given)."""
        http = requests.Session()
        page = http.get(f"{self.url}/login", timeout=10)
        response = http.post(
            f"{self.url}/login",
            data={"csrf_token": csrf_of(page.text), "username": name, "password": password or PASSWORDS[name]},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 303, response.text[:500]
        return http


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@contextmanager
def running_console(
    tmp_path: Path, environ: Mapping[str, str] | None = None, accounts: tuple[str, ...] = tuple(PASSWORDS)
) -> Iterator[Console]:
    """A console with these test accounts (desk, clin, admin: each costs an argon2 hash, about 0.1-0.4 s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "HANDOFF_", "STORES", "CLINIC_TIMEZONE", "TRACKER_"))}
    env |= {"HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'handoffs.db'}", "HANDOFF_STORE_TRANSCRIPT": "true"}
    env |= {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'trackers.db'}"}  # never the clinic's conversations
    env |= dict(environ or {})
    services = Services.from_settings(load_settings(env))
    for name in accounts:
        services.accounts.create(name, ROLES[name], PASSWORDS[name])
    app = create_app(services)
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="console", daemon=True)
    thread.start()
    assert started.wait(10), "the console did not start"
    try:
        yield Console(f"http://127.0.0.1:{port}", services, app)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        services.handoffs.engine.dispose()
