"""Staff accounts, and the audit log's hash chain check, from the command line (the handoff database: HANDOFF_DATABASE_URL or STORES).

    python -m bot.console.cli staff add NAME --role clinician|front_desk|admin [--role ...] [--password-stdin]
    python -m bot.console.cli staff list
    python -m bot.console.cli staff reset-password NAME [--password-stdin]
    python -m bot.console.cli staff roles NAME --role ... [--role ...]
    python -m bot.console.cli staff disable NAME | enable NAME | unlock NAME
    python -m bot.console.cli staff totp NAME [--off]
    python -m bot.console.cli staff has-admin        # exit 0 when an active admin exists (scripts/start)
    python -m bot.console.cli audit verify [--expect HASH]   # check the audit log's hash chain

The password is asked twice (not echoed), or read from the first line of stdin with --password-stdin.
Every change is written to the audit log as ``cli:<operating-system user>``.
Exit codes: 0 ok, 1 no such account / exists already / no admin / the audit chain is broken, 2 invalid input,
3 database error.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.console import audit, auth
from bot.console.accounts import AccountExists, AccountNotFound, AccountStore
from bot.console.audit import Actor, AuditLog
from bot.console.roles import LABELS, Role
from bot.handoff.cli import operator
from bot.handoff.store import HandoffStore


class Failed(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store = HandoffStore.from_env()
    accounts = AccountStore(store.engine)
    log = AuditLog(store.engine)
    try:
        return args.command(args, accounts, log)
    except Failed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except (AccountNotFound, AccountExists) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: the database could not be read or written ({type(exc).__name__})", file=sys.stderr)
        return 3
    finally:
        store.engine.dispose()


def actor() -> Actor:
    return Actor(operator(), None, "cli")


def read_password(args: argparse.Namespace, name: str) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    elif not sys.stdin.isatty():
        raise Failed("no terminal to ask for the password: pipe it in with --password-stdin", 2)
    else:
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same password again: ") != password:
            raise Failed("the two passwords differ", 2)
    return auth.check_password(password, name)


def _add(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    name = auth.check_username(args.name)
    if accounts.find(name) is not None:
        raise AccountExists(f"a staff account named {name!r} exists already")
    account = accounts.create(name, args.role, read_password(args, name))
    log.append(audit.ACCOUNT_CREATE, actor(), detail=f"{account.username} roles={','.join(sorted(account.roles))}")
    print(f"created {account.username} ({_roles(account.roles)})")
    return 0


def _list(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    now = datetime.now(UTC)
    everyone = accounts.all()
    for a in everyone:
        state = "disabled" if a.disabled else f"locked until {a.locked_until:%Y-%m-%d %H:%M}Z" if a.locked(now) else "active"
        last = f"{a.last_login_at:%Y-%m-%d %H:%M}Z" if a.last_login_at else "never"
        print(f"{a.username:<24} {_roles(a.roles):<28} {state:<28} totp {'on ' if a.totp_enabled else 'off'}  last sign-in {last}")
    print(f"{len(everyone)} account(s)", file=sys.stderr)
    return 0


def _reset_password(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    account = accounts.get(args.name)
    accounts.set_password(account.username, read_password(args, account.username))
    log.append(audit.PASSWORD_CHANGE, actor(), detail=f"{account.username} password reset")
    print(f"password of {account.username} reset; the account is unlocked")
    return 0


def _roles_command(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    account = accounts.set_roles(args.name, args.role)
    log.append(audit.ACCOUNT_CHANGE, actor(), detail=f"{account.username} roles={','.join(sorted(account.roles))}")
    print(f"{account.username}: {_roles(account.roles)}")
    return 0


def _disable(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    account = accounts.set_disabled(args.name, True)
    log.append(audit.ACCOUNT_CHANGE, actor(), detail=f"{account.username} disabled")
    print(f"{account.username} disabled (signed out at its next request)")
    return 0


def _enable(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    account = accounts.set_disabled(args.name, False)
    log.append(audit.ACCOUNT_CHANGE, actor(), detail=f"{account.username} enabled")
    print(f"{account.username} enabled")
    return 0


def _unlock(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    account = accounts.unlock(args.name)
    log.append(audit.ACCOUNT_CHANGE, actor(), detail=f"{account.username} unlocked")
    print(f"{account.username} unlocked")
    return 0


def _totp(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    account = accounts.get(args.name)
    if args.off:
        accounts.set_totp(account.username, None)
        log.append(audit.TOTP_CHANGE, actor(), detail=f"{account.username} disabled")
        print(f"two-step sign-in is off for {account.username}")
        return 0
    secret = auth.new_totp_secret()
    print(f"In the authenticator app of {account.username}, add a time-based account with the key:\n  {secret}")
    print(f"or this link (e.g. as a QR code):\n  {auth.totp_uri(secret, account.username)}")
    code = input("Code the app shows now: ")
    if auth.totp_step(secret, code, None) is None:
        raise Failed("that code does not match; nothing was changed", 2)
    accounts.set_totp(account.username, secret)
    log.append(audit.TOTP_CHANGE, actor(), detail=f"{account.username} enabled")
    print(f"two-step sign-in is on for {account.username}")
    return 0


def _has_admin(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    count = accounts.count_admins()
    print(f"{count} active admin account(s)")
    return 0 if count else 1


def _verify(args: argparse.Namespace, accounts: AccountStore, log: AuditLog) -> int:
    """The audit log's hash chain, oldest entry first: where it starts, the head hash to keep elsewhere, the first broken link."""
    expect = (args.expect or "").strip().lower() or None
    if expect is not None and not re.fullmatch(r"[0-9a-f]{64}", expect):
        raise Failed("--expect takes a head hash as printed by this command (64 hex digits)", 2)
    result = log.verify(expect)
    if result.problem is not None:
        print(f"audit log: {result.entries} entries read up to the first broken link")
        print(f"BROKEN: {result.problem}")
        return 1
    print(f"audit log: {result.entries} entries checked; {result.start}")
    if result.head is not None:
        print(f"entries #{result.first_id} to #{result.last_id}; head hash {result.head}")
    if result.expected_found is False:
        print(f"BROKEN: no entry has the hash {expect}: the log was rewritten or cut short since it was recorded")
        return 1
    print("chain intact" + (f"; it contains {expect}" if expect else ""))
    return 0


def _roles(roles: frozenset[Role]) -> str:
    return ", ".join(LABELS[r] for r in sorted(roles))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.console.cli", description="Staff accounts and the audit log of the staff console.")
    top = parser.add_subparsers(dest="area", required=True)
    staff = top.add_parser("staff", help="staff accounts").add_subparsers(dest="name_", required=True)
    roles_help = "clinician, front_desk or admin (repeat, or comma-separate, for several)"
    p = staff.add_parser("add", help="create an account (asks for its password)")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True, help=roles_help)
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.set_defaults(command=_add)
    p = staff.add_parser("list", help="list accounts")
    p.set_defaults(command=_list)
    p = staff.add_parser("reset-password", help="set a new password (asks for it); unlocks the account")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.set_defaults(command=_reset_password)
    p = staff.add_parser("roles", help="replace an account's roles")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True, help=roles_help)
    p.set_defaults(command=_roles_command)
    for command, handler, text in (
        ("disable", _disable, "disable an account (it can no longer sign in)"),
        ("enable", _enable, "enable a disabled account"),
        ("unlock", _unlock, "unlock an account locked after failed sign-ins"),
    ):
        p = staff.add_parser(command, help=text)
        p.add_argument("name")
        p.set_defaults(command=handler)
    p = staff.add_parser("totp", help="turn two-step sign-in (TOTP) on (asks for a code to confirm) or --off")
    p.add_argument("name")
    p.add_argument("--off", action="store_true")
    p.set_defaults(command=_totp)
    p = staff.add_parser("has-admin", help="exit 0 when an active admin account exists, 1 when not")
    p.set_defaults(command=_has_admin)
    audit_commands = top.add_parser("audit", help="the audit log").add_subparsers(dest="audit_command", required=True)
    p = audit_commands.add_parser("verify", help="check the audit log's hash chain; exit 1 at the first broken link")
    p.add_argument("--expect", help="a head hash printed earlier: fail unless the log still contains that entry")
    p.set_defaults(command=_verify)
    return parser


if __name__ == "__main__":
    sys.exit(main())
