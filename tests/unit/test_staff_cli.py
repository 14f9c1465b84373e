"""The staff-account command line on a SQLite file: add, list, reset, roles, disable, unlock, TOTP, has-admin."""

from __future__ import annotations

import io
from pathlib import Path

import pyotp
import pytest

from bot.console import audit
from bot.console.accounts import AccountStore
from bot.console.audit import AuditLog
from bot.console.cli import main
from bot.console.roles import Role
from bot.handoff.store import HandoffStore

PASSWORD = "a sturdy passphrase"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HandoffStore:
    url = f"sqlite:///{tmp_path / 'handoffs.db'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    monkeypatch.delenv("STORES", raising=False)
    return HandoffStore(url)


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_an_admin_from_stdin_and_list(store: HandoffStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, capsys, "staff", "has-admin")[0] == 1  # scripts/start prints how to create one
    code, out, _ = run(monkeypatch, capsys, "staff", "add", "Alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "created alice (Admin)" in out
    assert run(monkeypatch, capsys, "staff", "has-admin")[0] == 0
    code, out, _ = run(monkeypatch, capsys, "staff", "add", "bob", "--role", "clinician,front_desk", "--password-stdin", stdin=PASSWORD)
    assert code == 0 and "Clinician, Front desk" in out
    accounts = AccountStore(store.engine)
    assert accounts.check_password("alice", PASSWORD).ok and accounts.get("bob").roles == {Role.CLINICIAN, Role.FRONT_DESK}
    code, out, _ = run(monkeypatch, capsys, "staff", "list")
    assert code == 0 and out.splitlines()[0].startswith("alice") and PASSWORD not in out and "$argon2" not in out
    entries = AuditLog(store.engine).find(action=audit.ACCOUNT_CREATE)
    assert [e.detail for e in entries] == ["bob roles=clinician,front_desk", "alice roles=admin"] and entries[0].client == "cli"


@pytest.mark.parametrize(
    ("argv", "stdin", "code", "message"),
    [
        (["staff", "add", "x", "--role", "admin", "--password-stdin"], PASSWORD, 2, "2-64 characters"),
        (["staff", "add", "carol", "--role", "doctor", "--password-stdin"], PASSWORD, 2, "unknown role 'doctor'"),
        (["staff", "add", "carol", "--role", "admin", "--password-stdin"], "short", 2, "at least 12"),
        (["staff", "add", "carol", "--role", "admin"], "", 2, "--password-stdin"),  # no terminal to ask on
        (["staff", "disable", "nobody"], "", 1, "no staff account named 'nobody'"),
    ],
)
def test_mistakes_are_refused_with_the_reason(
    store: HandoffStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv, stdin, code, message
) -> None:
    result, _, err = run(monkeypatch, capsys, *argv, stdin=stdin)
    assert result == code and message in err
    assert AccountStore(store.engine).all() == []


def test_reset_roles_disable_unlock_and_totp(
    store: HandoffStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = AccountStore(store.engine)
    accounts.create("dana", ["front_desk"], PASSWORD)
    assert run(monkeypatch, capsys, "staff", "add", "DANA", "--role", "admin", "--password-stdin", stdin=PASSWORD)[0] == 1
    for _ in range(5):
        accounts.check_password("dana", "wrong password!")
    assert accounts.check_password("dana", PASSWORD).reason == "locked"
    assert run(monkeypatch, capsys, "staff", "unlock", "dana")[0] == 0
    assert accounts.check_password("dana", PASSWORD).ok
    assert run(monkeypatch, capsys, "staff", "reset-password", "dana", "--password-stdin", stdin="another passphrase\n")[0] == 0
    assert accounts.check_password("dana", "another passphrase").ok and not accounts.check_password("dana", PASSWORD).ok
    assert run(monkeypatch, capsys, "staff", "roles", "dana", "--role", "clinician")[0] == 0
    assert accounts.get("dana").roles == {Role.CLINICIAN}
    assert run(monkeypatch, capsys, "staff", "disable", "dana")[0] == 0 and accounts.get("dana").disabled
    assert run(monkeypatch, capsys, "staff", "enable", "dana")[0] == 0 and not accounts.get("dana").disabled

    # TOTP: the key is printed, and a code from it must be typed to turn it on.
    secrets: list[str] = []

    def type_code(prompt: str) -> str:
        key = capsys.readouterr().out.split("the key:\n  ")[1].split()[0]
        secrets.append(key)
        return pyotp.TOTP(key).now()

    monkeypatch.setattr("builtins.input", type_code)
    assert main(["staff", "totp", "dana"]) == 0 and accounts.get("dana").totp_enabled
    monkeypatch.setattr("builtins.input", lambda prompt: "000000")
    assert main(["staff", "totp", "dana"]) == 2  # a wrong code changes nothing: the first key stays
    assert accounts.check_totp(accounts.get("dana").id, pyotp.TOTP(secrets[0]).now())
    assert main(["staff", "totp", "dana", "--off"]) == 0 and not accounts.get("dana").totp_enabled
    details = [e.detail for e in AuditLog(store.engine).find()]
    assert "dana unlocked" in details and "dana password reset" in details and "dana enabled" in details
