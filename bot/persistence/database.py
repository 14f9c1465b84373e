"""Where the databases are: one resolver for every SQLAlchemy URL the project opens.

The embedded tracker database is the one named in endpoints.yml (where Rasa reads it);
relative SQLite paths are relative to the project root, as the servers run there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from bot import PROJECT_ROOT


def postgres_url(postgres: Mapping[str, str]) -> str:
    """The production PostgreSQL database as a SQLAlchemy URL (password included, never log it)."""
    return URL.create(
        "postgresql+psycopg2",
        username=postgres["POSTGRES_USER"],
        password=postgres["POSTGRES_PASSWORD"] or None,
        host=postgres["POSTGRES_HOST"],
        port=int(postgres["POSTGRES_PORT"]),
        database=postgres["POSTGRES_DB"],
    ).render_as_string(hide_password=False)


def tracker_url_from_endpoints(endpoints: Mapping[str, Any], postgres: Mapping[str, str], production: bool) -> str:
    """The tracker store of the endpoints file as a URL (production: the PostgreSQL settings)."""
    if production:
        return postgres_url(postgres)
    store = endpoints.get("tracker_store") or {}
    if store.get("dialect") != "sqlite" or not store.get("db"):
        raise ValueError("endpoints.yml: the embedded tracker store must be SQLite with a db path")
    path = Path(str(store["db"]))
    return f"sqlite:///{path if path.is_absolute() else PROJECT_ROOT / path}"


def is_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    return url.drivername.startswith("sqlite") and bool(database) and database != ":memory:" and not database.startswith("file:")


def resolve(url: str | URL, create_dir: bool = False) -> URL:
    """Parse a URL; a relative SQLite path becomes relative to the project root (its folder created on request)."""
    parsed = make_url(url)
    if is_sqlite_file(parsed):
        path = Path(parsed.database or "")
        if not path.is_absolute():
            path = PROJECT_ROOT / path
            parsed = parsed.set(database=str(path))
        if create_dir:
            path.parent.mkdir(parents=True, exist_ok=True)
    return parsed
