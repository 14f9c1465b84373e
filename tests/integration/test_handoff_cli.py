"""Staff CLI end to end: list, show, resolve, export, deliver, and clear errors."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.handoff.cli import main
from bot.handoff.store import HandoffRecord, HandoffStore
from tests.support import postgres

CONSENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'handoffs.db'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    for name in ("HANDOFF_WEBHOOK_URL", "HANDOFF_WEBHOOK_SECRET", "HANDOFF_STORE_TRANSCRIPT"):
        monkeypatch.delenv(name, raising=False)
    return url


@pytest.fixture
def records(db_url: str) -> list[HandoffRecord]:
    store = HandoffStore(db_url)
    return [
        store.create("conv-1", "contraindication", ["pregnancy"], name="Jane Doe", contact="403-555-0123", consent_at=CONSENT),
        store.create("conv-2", "urgent"),
    ]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_masks_contacts_and_filters(records: list[HandoffRecord], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list")
    assert code == 0 and "2 handoff(s)" in err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [r.id for r in records]
    assert "+1 ••• ••• 0123" in lines[0] and "pregnancy" in lines[0] and "4035550123" not in out
    _, out, _ = run(capsys, "list", "--status", "resolved")
    assert out == ""


def test_show_and_resolve(records: list[HandoffRecord], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", records[0].id)
    assert code == 0
    assert "Jane Doe" in out and "+14035550123" in out and "contraindication" in out and "new" in out
    code, out, _ = run(capsys, "resolve", records[0].id)
    assert code == 0 and f"{records[0].id} resolved at" in out
    _, out, _ = run(capsys, "list", "--status", "open")
    assert [line.split()[0] for line in out.splitlines()] == [records[1].id]
    assert run(capsys, "resolve", records[0].id)[0] == 0  # resolving twice is fine


@pytest.mark.parametrize("command", ["show", "resolve"])
def test_unknown_id_exits_1(records: list[HandoffRecord], capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run(capsys, command, "no-such-id")
    assert (code, out) == (1, "")
    assert "no handoff with id 'no-such-id'" in err


def test_export_csv_and_json(records: list[HandoffRecord], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["id"] for r in rows] == [r.id for r in records]
    assert rows[0]["name"] == "Jane Doe" and rows[1]["name"] == ""

    target = tmp_path / "out" / "handoffs.json"
    target.parent.mkdir()
    code, out, err = run(capsys, "export", "--format", "json", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    assert [r["id"] for r in json.loads(target.read_text())] == [r.id for r in records]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # health data: owner-only


def test_deliver_needs_a_webhook(records: list[HandoffRecord], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deliver")
    assert code == 1 and "HANDOFF_WEBHOOK_URL" in err


def test_deliver_reports_pending(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", f"http://127.0.0.1:{postgres._free_port()}/hook")  # nobody listening
    HandoffStore.from_env().create("conv-1", "clinician_request")
    code, out, _ = run(capsys, "deliver")
    assert (code, out.strip()) == (0, "delivered 0, still pending 1")


def test_database_error_exits_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"postgresql+psycopg2://postgres@127.0.0.1:{postgres._free_port()}/x")
    code, _, err = run(capsys, "list")
    assert code == 3 and err.startswith("error: handoff database unavailable")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["export", "--format", "xml"])
    assert excinfo.value.code == 2


def test_module_runs_as_a_subprocess_against_postgresql() -> None:
    """``python -m bot.handoff.cli`` as staff run it, on the PostgreSQL deployment."""
    url = postgres.fresh_database()
    record = HandoffStore(url).create("conv-9", "clinician_request", ["knee"], name="Sam", contact="sam@example.com", consent_at=CONSENT)
    env = {**os.environ, "HANDOFF_DATABASE_URL": url}
    env.pop("HANDOFF_WEBHOOK_URL", None)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.handoff.cli", *argv], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    listed = cli("list", "--status", "open")
    assert listed.returncode == 0 and listed.stdout.startswith(record.id) and "s•••@example.com" in listed.stdout
    assert cli("resolve", record.id).returncode == 0
    exported = json.loads(cli("export", "--format", "json").stdout)
    assert exported[0]["status"] == "resolved" and exported[0]["contact"] == "sam@example.com"
    missing = cli("show", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1 and "no handoff with id" in missing.stderr
