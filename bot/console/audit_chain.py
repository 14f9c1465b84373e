"""The audit log's hash chain: each entry stores the previous entry's hash and the SHA-256 of that hash and its own columns.

An entry changed after it was written no longer matches its hash; an entry deleted from the middle leaves
the next one pointing at a hash that is not its predecessor's. The retention command deletes only the oldest
entries and then appends an ``audit_retention`` entry naming the entry the log now starts at, so a log that
starts after the beginning is expected only where such an entry says so. ``verify`` reads the log oldest first
and reports the first broken link (``python -m bot.console.cli audit verify``).

What it does not do: someone who can write the database can recompute every hash after the entry they
change, or delete the newest entries. Keeping the head hash (printed by ``verify``) somewhere else, and
checking later that the log still contains it (``--expect``), detects both up to that point.

Entries written before the chain existed have no hash: they are counted, not verified.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, String, Table, select
from sqlalchemy.engine import Connection

GENESIS = "0" * 64  # the "previous hash" of the first entry
CHAINED = ("at", "staff_id", "staff", "action", "record_id", "client", "detail")  # the columns each hash covers (not the id)
RETENTION_ACTION = "audit_retention"
_STARTS_AT = re.compile(r"log starts at #(\d+)")


def columns() -> list[Column]:
    return [Column("prev_hash", String(64)), Column("hash", String(64))]


def canonical(values: Mapping[str, Any]) -> str:
    """The chained columns as one JSON text, the same whether built before the insert or read back from either database."""
    at = values["at"]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    row = [at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), *(values[name] for name in CHAINED[1:])]
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def link(prev_hash: str, values: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(values)}".encode()).hexdigest()


def lock(conn: Connection) -> None:
    """Hold off other writers of the log until this transaction ends, so each entry links to the one before it.

    PostgreSQL: a transaction-level advisory lock. SQLite: the database's write lock (BEGIN IMMEDIATE), unless
    this transaction has already written, which means it holds that lock."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('audit_log_chain'))")
    elif conn.dialect.name == "sqlite":
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def last_hash(conn: Connection, table: Table) -> str:
    """The newest entry's hash (call under ``lock``); GENESIS for an empty log or one of entries from before the chain."""
    found = conn.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar()
    return found or GENESIS


def chain(rows: Iterable[dict[str, Any]], prev_hash: str) -> list[dict[str, Any]]:
    """The rows with ``prev_hash`` and ``hash`` set, each linked to the one before it."""
    linked = []
    for row in rows:
        digest = link(prev_hash, row)
        linked.append(row | {"prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    return linked


def retention_detail(deleted: int, cutoff: datetime, first_kept: int | None) -> str:
    start = f"#{first_kept}" if first_kept is not None else "this entry"
    return f"{deleted} entries made before {cutoff.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z deleted; the log starts at {start}"


@dataclass
class Verification:
    """What ``verify`` found: counts, where the chain starts and ends, and the first problem (None: intact)."""

    entries: int = 0
    unchained: int = 0  # from before the chain existed
    first_id: int | None = None
    last_id: int | None = None
    head: str | None = None
    start: str = "the log is empty"
    problem: str | None = None
    broken_id: int | None = None
    expected_found: bool | None = None  # --expect: whether an entry with that hash is in the chain
    _anchors: dict[int, int] = field(default_factory=dict, repr=False)  # first kept id -> retention entry id

    @property
    def ok(self) -> bool:
        return self.problem is None and self.expected_found is not False


def verify(rows: Iterable[Mapping[str, Any]], expect: str | None = None) -> Verification:
    """Check every link of the log, given its rows (every column) in id order; stops at the first broken one."""
    result = Verification(expected_found=None if expect is None else False)
    first: Mapping[str, Any] | None = None
    previous: Mapping[str, Any] | None = None
    for row in rows:
        result.entries += 1
        if row["hash"] is None:
            if first is None:
                result.unchained += 1
                continue
            return _broken(result, row["id"], f"entry #{row['id']} has no hash: it was not written by the console's log")
        if link(row["prev_hash"] or "", row) != row["hash"]:
            return _broken(result, row["id"], f"entry #{row['id']} does not match its hash: it was changed after it was written")
        if previous is None:
            first = row
        elif row["prev_hash"] != previous["hash"]:
            return _broken(
                result,
                row["id"],
                f"entry #{row['id']} does not follow entry #{previous['id']}: "
                f"an entry between them was deleted, or #{previous['id']} was replaced",
            )
        if row["action"] == RETENTION_ACTION and (found := _STARTS_AT.search(row["detail"] or "")):
            result._anchors[int(found.group(1))] = row["id"]
        if expect is not None and row["hash"] == expect:
            result.expected_found = True
        previous = row
    if first is None or previous is None:
        if result.unchained:
            result.start = f"no entry is chained yet ({result.unchained} from before the chain)"
        return result
    result.first_id, result.last_id, result.head = first["id"], previous["id"], previous["hash"]
    before = f"; {result.unchained} earlier entries from before the chain are not verified" if result.unchained else ""
    if first["prev_hash"] == GENESIS:
        result.start = f"starts at its first entry #{first['id']}{before}"
    elif first["id"] in result._anchors:
        result.start = f"starts at #{first['id']}: older entries were deleted by retention (entry #{result._anchors[first['id']]})"
    else:
        return _broken(
            result,
            first["id"],
            f"entries before #{first['id']} are missing, and no retention run recorded deleting them",
        )
    return result


def _broken(result: Verification, entry_id: int, problem: str) -> Verification:
    result.problem, result.broken_id = problem, entry_id
    return result
