"""The dependency-audit gate (bot/tools/audit.py) on pip-audit reports written here: no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_ROOT
from bot.tools import audit

ACCEPTED_FILE = PROJECT_ROOT / "security" / "pip-audit-accepted.yml"


def report(*deps: dict) -> str:
    """A pip-audit ``--format json`` report (the shape pip-audit 2.x writes)."""
    return json.dumps({"dependencies": list(deps), "fixes": []})


def dep(name: str, version: str, *vulns: dict) -> dict:
    return {"name": name, "version": version, "vulns": list(vulns)}


def vuln(vuln_id: str, *aliases: str, fix: tuple[str, ...] = ()) -> dict:
    return {"id": vuln_id, "fix_versions": list(fix), "aliases": list(aliases), "description": "..."}


def accepted(*entries: dict) -> str:
    return yaml.safe_dump({"accepted": list(entries)})


def entry(vuln_id: str, package: str, version: str, explanation: str = "Pinned by rasa 3.6.21; no compatible fixed version.") -> dict:
    return {"id": vuln_id, "package": package, "version": version, "explanation": explanation}


FINDINGS = report(
    dep("aiohttp", "3.9.5", vuln("PYSEC-2024-1", "CVE-2024-0001", "GHSA-aaaa-bbbb-cccc", fix=("3.10.11",)), vuln("GHSA-dddd-eeee-ffff")),
    dep("PyJWT", "2.15.1", vuln("PYSEC-2099-7")),
    dep("requests", "2.34.2"),
)


def ids(findings: list[audit.Finding]) -> list[tuple[str, str]]:
    return [(f.package, f.id) for f in findings]


def test_every_finding_is_unaccepted_when_nothing_is_accepted() -> None:
    assert ids(audit.unaccepted(FINDINGS, accepted())) == [
        ("aiohttp", "PYSEC-2024-1"),
        ("aiohttp", "GHSA-dddd-eeee-ffff"),
        ("pyjwt", "PYSEC-2099-7"),
    ]
    assert audit.unaccepted(FINDINGS, None) == audit.unaccepted(FINDINGS, "accepted: []\n")
    assert audit.unaccepted(report(dep("requests", "2.34.2")), accepted()) == []


def test_an_entry_matches_by_id_or_alias_and_package() -> None:
    by_id = accepted(entry("PYSEC-2024-1", "aiohttp", "3.9.5"), entry("GHSA-dddd-eeee-ffff", "aiohttp", "3.9.5"))
    assert ids(audit.unaccepted(FINDINGS, by_id)) == [("pyjwt", "PYSEC-2099-7")]
    by_alias = accepted(entry("cve-2024-0001", "aiohttp", "3.9.5"), entry("GHSA-dddd-eeee-ffff", "aiohttp", "3.9.5"))
    assert ids(audit.unaccepted(FINDINGS, by_alias)) == [("pyjwt", "PYSEC-2099-7")]  # an alias, case-insensitive
    name_spelling = accepted(entry("PYSEC-2099-7", "pyjwt", "2.15.1"))  # PEP 503 names: PyJWT == pyjwt
    assert ("pyjwt", "PYSEC-2099-7") not in ids(audit.unaccepted(FINDINGS, name_spelling))
    other_package = accepted(entry("PYSEC-2099-7", "jwt", "2.15.1"))
    assert ("pyjwt", "PYSEC-2099-7") in ids(audit.unaccepted(FINDINGS, other_package))


def test_an_entry_for_another_version_must_be_reviewed() -> None:
    result = audit.unaccepted(FINDINGS, accepted(entry("PYSEC-2099-7", "PyJWT", "2.10.0")))
    pyjwt = [f for f in result if f.package == "pyjwt"]
    assert len(pyjwt) == 1 and "accepted for version 2.10.0, locked 2.15.1" in pyjwt[0].problem


def test_findings_carry_aliases_and_fixes() -> None:
    first = audit.findings(FINDINGS)[0]
    assert (first.package, first.version, first.fix_versions) == ("aiohttp", "3.9.5", ("3.10.11",))
    assert first.ids == {"PYSEC-2024-1", "CVE-2024-0001", "GHSA-AAAA-BBBB-CCCC"}


def test_entry_problems() -> None:
    assert audit.entry_problems(accepted(entry("PYSEC-2099-7", "PyJWT", "2.15.1"))) == []
    problems = audit.entry_problems(
        accepted(
            {"id": "PYSEC-1", "package": "x", "version": "1"},
            entry("PYSEC-2", "x", "1", explanation="ok"),
            entry("PYSEC-3", "", "1"),
            entry("PYSEC-4", "x", "1"),
            entry("pysec-4", "X", "1"),
        )
    )
    assert problems == [
        "entry 1 (PYSEC-1): missing explanation",
        "entry 1 (PYSEC-1): the explanation must say why it is accepted",
        "entry 2 (PYSEC-2): the explanation must say why it is accepted",
        "entry 3 (PYSEC-3): missing package",
        "entry 5 (pysec-4): listed twice",
    ]
    with pytest.raises(ValueError):
        audit.accepted_entries("accepted: {id: x}")


def test_check_fails_on_unaccepted_invalid_or_unaudited() -> None:
    all_accepted = accepted(
        entry("PYSEC-2024-1", "aiohttp", "3.9.5"),
        entry("GHSA-dddd-eeee-ffff", "aiohttp", "3.9.5"),
        entry("PYSEC-2099-7", "PyJWT", "2.15.1"),
    )
    code, text = audit.check(FINDINGS, all_accepted)
    assert code == 0 and "3 finding(s), 3 accepted, 0 not accepted" in text and text.endswith("audit passed")

    code, text = audit.check(FINDINGS, accepted(entry("PYSEC-2024-1", "aiohttp", "3.9.5")))
    assert code == 1 and "NOT ACCEPTED pyjwt 2.15.1: PYSEC-2099-7, no fixed version" in text

    code, text = audit.check(FINDINGS, all_accepted.replace("Pinned by rasa 3.6.21; no compatible fixed version.", "''", 1))
    assert code == 1 and "INVALID accepted list" in text

    not_looked_up = report(dep("requests", "2.34.2"), {"name": "absl-py", "skip_reason": "Dependency not found on PyPI"})
    code, text = audit.check(not_looked_up, accepted())
    assert code == 1 and "NOT AUDITED 1" in text and "absl-py" in text  # "no findings" from a lookup that failed is no pass

    code, text = audit.check(report(dep("requests", "2.34.2")), accepted(entry("PYSEC-2024-1", "aiohttp", "3.9.5")))
    assert code == 0 and "PYSEC-2024-1 is accepted but no longer found" in text


def test_cli(tmp_path: Path) -> None:
    findings_file, accepted_file = tmp_path / "pip-audit.json", tmp_path / "accepted.yml"
    findings_file.write_text(FINDINGS)
    accepted_file.write_text(accepted())
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "bot.tools.audit", str(findings_file), str(accepted_file)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=60,
    )
    assert run.returncode == 1 and "NOT ACCEPTED" in run.stdout
    findings_file.write_text("not json")
    run = subprocess.run(
        [sys.executable, "-m", "bot.tools.audit", str(findings_file), str(accepted_file)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=60,
    )
    assert run.returncode == 2 and "cannot read" in run.stderr


# -- the project's own files ---------------------------------------------------------------


def test_every_accepted_entry_is_complete_and_explained() -> None:
    text = ACCEPTED_FILE.read_text(encoding="utf-8")
    assert isinstance(yaml.safe_load(text), dict) and "accepted" in yaml.safe_load(text)
    assert audit.entry_problems(text) == []
    for item in audit.accepted_entries(text):
        assert str(item["version"]) and len(str(item["explanation"]).split()) >= 5, item["id"]


def test_every_accepted_entry_names_a_locked_version() -> None:
    locked = {
        audit.normalize(name): version
        for name, _, version in (line.partition("==") for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines())
        if version
    }
    for item in audit.accepted_entries(ACCEPTED_FILE.read_text(encoding="utf-8")):
        assert locked.get(audit.normalize(str(item["package"]))) == str(item["version"]), f"{item['id']}: not the locked version"


def test_audit_script_pins_pip_audit() -> None:
    script = (PROJECT_ROOT / "scripts" / "audit").read_text()
    assert os.access(PROJECT_ROOT / "scripts" / "audit", os.X_OK)
    assert 'PIP_AUDIT_VERSION="2.10.1"' in script and '"pip-audit==$PIP_AUDIT_VERSION"' in script
    assert "set -euo pipefail" in script and "bot.tools.audit" in script and "--no-deps --disable-pip" in script
