"""Run the staff console: ``python -m bot.console.server [--host H] [--port P]``.

Host and port default to CONSOLE_HOST (127.0.0.1) and CONSOLE_PORT (5006). SIGTERM and SIGINT stop
it cleanly. The access log holds the method, the path (record ids, never a query string, which may
hold a searched name) and the status.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.config import SettingsError, load_settings
from bot.console.app import create_app
from bot.console.context import Services
from bot.handoff.store import HandoffStoreError

log = logging.getLogger("bot.console")
FIRST_ADMIN = ".venv/bin/python -m bot.console.cli staff add NAME --role admin"


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.0f ms", request.method, request.path, response.status, time * 1000)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console.server", description="Run the staff console.")
    parser.add_argument("--host", help="address to listen on (default: CONSOLE_HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: CONSOLE_PORT, else 5006)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        services = Services.from_settings(settings)
        admins = services.accounts.count_admins()  # opens the database now: a wrong URL fails here, not on the first page
        services.handoffs.count_by_status()
    except (SettingsError, HandoffStoreError, OSError) as exc:
        print(f"staff console: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. the database refuses the connection
        print(f"staff console: the database could not be opened ({type(exc).__name__})", file=sys.stderr)
        return 3
    if not admins:
        log.warning("no admin account yet: create one with  %s", FIRST_ADMIN)
    host, port = args.host or settings.console.host, args.port or settings.console.port
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.console.https:
        log.warning("the console listens on %s without HTTPS: put it behind a TLS reverse proxy and set CONSOLE_HTTPS=true", host)
    web.run_app(
        create_app(services),
        host=host,
        port=port,
        access_log_class=PathOnlyAccessLogger,
        print=lambda message: log.info("staff console on http://%s:%d/", host, port),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
