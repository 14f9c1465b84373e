"""Staff command line for clinician handoffs (configured by the same HANDOFF_* env vars as the bot).

    python -m bot.handoff.cli list [--status new|contacted|resolved|open]   # open: new or contacted
    python -m bot.handoff.cli show ID
    python -m bot.handoff.cli status ID new|contacted|resolved [--note TEXT]
    python -m bot.handoff.cli resolve ID
    python -m bot.handoff.cli export --format csv|json [--output FILE]
    python -m bot.handoff.cli deliver          # one outbox pass: webhook, e-mail, Chatwoot (for cron)

Every record listed, shown or exported and every status change is written to the staff console's audit
log (bot/console/audit.py) as ``cli:<operating-system user>``, before anything is printed.
Exit codes: 0 ok, 1 unknown id or nothing to deliver to, 2 usage error, 3 database error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.console import audit
from bot.console.audit import Actor, AuditLog
from bot.handoff.contact import Contact, mask
from bot.handoff.store import OPEN, STATUSES, HandoffNotFound, HandoffRecord, HandoffStore, HandoffStoreError, StatusChange


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        store = HandoffStore.from_env()
        return args.command(store, args)
    except HandoffStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except SQLAlchemyError as exc:  # the audit log could not be written: nothing was shown
        print(f"error: the audit log could not be written ({type(exc).__name__})", file=sys.stderr)
        return 3


def _audited(store: HandoffStore, action: str, record_ids: list[str], detail: str) -> None:
    AuditLog(store.engine).append_many(action, Actor(operator(), None, "cli"), record_ids, detail)


def _record_change(store: HandoffStore) -> Callable[[Connection, StatusChange], None]:
    """Audit entries for a status change, written in its transaction."""
    log, actor = AuditLog(store.engine), Actor(operator(), None, "cli")

    def record(conn: Connection, change: StatusChange) -> None:
        if change.status_changed:
            log.append(audit.STATUS_CHANGE, actor, change.after.id, f"{change.before.status} -> {change.after.status}", conn=conn)
        if change.note_changed:
            log.append(audit.NOTE_CHANGE, actor, change.after.id, "note changed" if change.after.note else "note cleared", conn=conn)

    return record


def _list(store: HandoffStore, args: argparse.Namespace) -> int:
    records = store.list(args.status)
    _audited(store, audit.INBOX_VIEW, [r.id for r in records], f"cli list status={args.status or 'all'}")
    for r in records:
        # contact_kind is "phone" or "email": the store only keeps contacts parse_contact accepted.
        contact = mask(Contact(r.contact_kind, r.contact)) if r.contact and r.contact_kind else "-"  # type: ignore[arg-type]
        conditions = ", ".join(r.conditions) or "-"
        print(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}Z  {r.status:<8}  {r.reason:<17}  {contact:<18}  {conditions}")
    print(f"{len(records)} handoff(s)", file=sys.stderr)
    return 0


def _show(store: HandoffStore, args: argparse.Namespace) -> int:
    record = store.get(args.id)
    if record is None:
        return _unknown(args.id)
    _audited(store, audit.RECORD_VIEW, [record.id], "cli show")
    print(_describe(record))
    return 0


def _resolve(store: HandoffStore, args: argparse.Namespace) -> int:
    try:
        record = store.set_status(args.id, "resolved", by=operator(), within=_record_change(store)).after
    except HandoffNotFound:
        return _unknown(args.id)
    print(f"{record.id} resolved at {record.resolved_at:%Y-%m-%d %H:%M}Z")
    return 0


def _status(store: HandoffStore, args: argparse.Namespace) -> int:
    try:
        change = store.set_status(args.id, args.status, by=operator(), note=args.note, within=_record_change(store))
    except HandoffNotFound:
        return _unknown(args.id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    record = change.after
    when = f" (by {record.updated_by} at {record.updated_at:%Y-%m-%d %H:%M}Z)" if record.updated_at else ""
    print(f"{record.id} {record.status}{when}")
    return 0


def operator() -> str:
    """Who acts from the command line: recorded with each status change, as staff names are from the console."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _export(store: HandoffStore, args: argparse.Namespace) -> int:
    _audited(store, audit.EXPORT, [r.id for r in store.list(args.status)], f"cli export {args.format}")
    text = store.export(args.format, args.status)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    # Owner-only permissions: the export holds names, contacts and health conditions.
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _deliver(store: HandoffStore, args: argparse.Namespace) -> int:
    if not store.outbox.notifiers:
        print("error: no notification is configured (HANDOFF_WEBHOOK_URL, HANDOFF_EMAIL_TO or CHATWOOT_URL)", file=sys.stderr)
        return 1
    delivered = store.deliver_outbox()
    print(f"delivered {delivered}, still pending {store.outbox_pending()}")
    return 0


def _unknown(handoff_id: str) -> int:
    print(f"error: no handoff with id {handoff_id!r}", file=sys.stderr)
    return 1


def _describe(record: HandoffRecord) -> str:
    data = record.as_dict(include_transcript=record.transcript is not None)
    lines = []
    for key, value in data.items():
        if key == "transcript":
            value = json.dumps(value, indent=2, ensure_ascii=False)
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        lines.append(f"{key:<16} {'-' if value is None else value}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.handoff.cli", description="Clinician handoffs for staff.")
    commands = parser.add_subparsers(dest="name", required=True)
    p = commands.add_parser("list", help="list handoffs, oldest first")
    p.add_argument("--status", choices=[*STATUSES, OPEN], help="open: new or contacted")
    p.set_defaults(command=_list)
    p = commands.add_parser("show", help="show one handoff in full")
    p.add_argument("id")
    p.set_defaults(command=_show)
    p = commands.add_parser("status", help="set a handoff's status (and note); who and when are recorded")
    p.add_argument("id")
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--note", help="the staff note (replaces the current one; '' clears it)")
    p.set_defaults(command=_status)
    p = commands.add_parser("resolve", help="mark a handoff resolved")
    p.add_argument("id")
    p.set_defaults(command=_resolve)
    p = commands.add_parser("export", help="export all handoffs")
    p.add_argument("--format", choices=["csv", "json"], required=True)
    p.add_argument("--status", choices=[*STATUSES, OPEN], help="open: new or contacted")
    p.add_argument("--output", help="file to write (created owner-only); default stdout")
    p.set_defaults(command=_export)
    p = commands.add_parser("deliver", help="one delivery pass over the notification outbox (for cron)")
    p.set_defaults(command=_deliver)
    return parser


if __name__ == "__main__":
    sys.exit(main())
