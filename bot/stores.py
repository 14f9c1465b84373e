"""Which stores the assistant uses: embedded (default) or PostgreSQL + Redis (STORES=production).

Embedded: SQLite trackers (endpoints.yml), Rasa's in-memory lock store, SQLite
handoffs, nothing else to install. Production (``STORES=production``):
endpoints.production.yml (PostgreSQL tracker store, Redis lock store) and handoff
records in the same PostgreSQL database, configured with the POSTGRES_* and REDIS_*
variables below. This module holds the defaults for those variables and builds the
database URL, so the start script, the action server and the retention command agree.

    eval "$(python -m bot.stores --shell)"   # export defaults for unset variables
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping

from sqlalchemy.engine import URL

from bot import PROJECT_ROOT

PRODUCTION_DEFAULTS = {
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "assistant",
    "POSTGRES_USER": "assistant",
    "POSTGRES_PASSWORD": "",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "6379",
    "REDIS_PASSWORD": "",
    "REDIS_DB": "1",
    "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
}
EMBEDDED_TRACKER_DB = PROJECT_ROOT / "var" / "trackers.db"
EMBEDDED_HANDOFF_DB = PROJECT_ROOT / "var" / "handoffs.db"


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get("STORES", "").strip().lower() == "production"


def endpoints_file(environ: Mapping[str, str] | None = None) -> str:
    return "endpoints.production.yml" if is_production(environ) else "endpoints.yml"


def setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name) or PRODUCTION_DEFAULTS[name]


def postgres_url(environ: Mapping[str, str] | None = None) -> str:
    """The production PostgreSQL database as a SQLAlchemy URL (password included, never log it)."""
    return URL.create(
        "postgresql+psycopg2",
        username=setting("POSTGRES_USER", environ),
        password=setting("POSTGRES_PASSWORD", environ) or None,
        host=setting("POSTGRES_HOST", environ),
        port=int(setting("POSTGRES_PORT", environ)),
        database=setting("POSTGRES_DB", environ),
    ).render_as_string(hide_password=False)


def tracker_database_url(environ: Mapping[str, str] | None = None) -> str:
    """Where conversations are: TRACKER_DATABASE_URL, else the production or embedded store."""
    environ = os.environ if environ is None else environ
    if environ.get("TRACKER_DATABASE_URL"):
        return environ["TRACKER_DATABASE_URL"]
    return postgres_url(environ) if is_production(environ) else f"sqlite:///{EMBEDDED_TRACKER_DB}"


def handoff_database_url(environ: Mapping[str, str] | None = None) -> str:
    """Where handoffs and opt-outs are: HANDOFF_DATABASE_URL, else the production database, else SQLite."""
    environ = os.environ if environ is None else environ
    if environ.get("HANDOFF_DATABASE_URL"):
        return environ["HANDOFF_DATABASE_URL"]
    return postgres_url(environ) if is_production(environ) else f"sqlite:///{EMBEDDED_HANDOFF_DB}"


def shell_exports(environ: Mapping[str, str] | None = None) -> str:
    """``export`` lines for unset production variables (empty for embedded stores)."""
    environ = os.environ if environ is None else environ
    if not is_production(environ):
        return ""
    return "\n".join(
        f"export {name}={shlex.quote(value)}" for name, value in PRODUCTION_DEFAULTS.items() if name not in environ
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--shell"]:
        print(shell_exports())
    elif sys.argv[1:] == ["--endpoints"]:
        print(endpoints_file())
    else:
        sys.exit("usage: python -m bot.stores --shell | --endpoints")
