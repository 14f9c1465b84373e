"""A throwaway PostgreSQL server for the test session (started once, stopped at exit).

The handoff store must work on the clinic's PostgreSQL, not only SQLite, so these tests
need a real server: missing binaries are a failure, not a skip (CI installs them with
``apt-get install -y postgresql``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2

INSTALL_HINT = "PostgreSQL server binaries not found; install them with: apt-get update && apt-get install -y postgresql"

_lock = threading.Lock()
_server: _Server | None = None


def bin_dir() -> Path:
    """PG_BIN, else PostgreSQL 15 from Debian's layout, else the newest installed version, else PATH."""
    candidates = [os.environ.get("PG_BIN", ""), "/usr/lib/postgresql/15/bin"]
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), key=_version, reverse=True)
    which = shutil.which("pg_ctl")
    candidates += [str(Path(which).parent)] if which else []
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    raise RuntimeError(INSTALL_HINT)


def _version(path: str) -> int:
    name = Path(path).parent.name
    return int(name) if name.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # fsync on, as in production (benchmarks); off makes tests faster
        self.bin = bin_dir()
        self.tmp = Path(tempfile.mkdtemp(prefix="handoff-pg-"))
        self.data = self.tmp / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.tmp, user.pw_uid, user.pw_gid)
        self.tmp.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._start()
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.tmp / "server.log"
            detail = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{detail}")

    def restart(self) -> None:
        """Stop at once (as a crash would) and start again on the same port and data."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self._start()

    def _start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmp}"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "server.log"), "-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def server_url() -> str:
    """URL of the session's server (superuser ``postgres``, database ``postgres``), starting it on first use."""
    global _server
    with _lock:
        if _server is None:
            _server = _Server()
            atexit.register(_server.stop)
        return _server.url


@contextlib.contextmanager
def throwaway_server(durable: bool = True) -> Iterator[str]:
    """A separate server for one block (benchmarks): its superuser URL; stopped and deleted on exit."""
    server = _Server(durable=durable)
    try:
        yield server.url
    finally:
        server.stop()


def restart_server() -> None:
    """Restart the session's server (immediate stop, then start): connections are cut."""
    server_url()
    assert _server is not None
    _server.restart()


def fresh_database() -> str:
    """A new empty database on the session's server, so each test starts clean."""
    return fresh_database_on(server_url())


def fresh_database_on(base: str) -> str:
    """A new empty database on the server at ``base`` (a superuser URL)."""
    name = "t_" + uuid.uuid4().hex[:12]
    port = base.rsplit(":", 1)[1].split("/")[0]
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return base.rsplit("/", 1)[0] + "/" + name


def database_url(kind: str, tmp_path: Path) -> str:
    """``sqlite``: a file under tmp_path; ``postgresql``: a fresh database on the throwaway server."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'handoffs.db'}"
    if kind == "postgresql":
        return fresh_database()
    raise ValueError(kind)
