"""Dependency audit gate: pip-audit's findings on requirements.lock against the accepted list.

    python -m bot.tools.audit build/pip-audit.json security/pip-audit-accepted.yml

Fails (exit 1) when a finding is not accepted, when an accepted entry lacks its package,
version or explanation, or when pip-audit skipped a dependency (it could not be looked up,
so "no findings" would be a claim nobody checked). An entry accepts a finding when its
``id`` is the finding's id or one of its aliases (PYSEC-, GHSA-, CVE- ids name the same
advisory), for the same package and the same locked version: upgrading a package means
re-reading why its findings were accepted. ``scripts/audit`` runs pip-audit and then this.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REQUIRED_FIELDS = ("id", "package", "version", "explanation")
MIN_EXPLANATION = 20  # characters: a reason, not "ok" or "n/a"


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    version: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    problem: str = field(default="not accepted", compare=False)

    @property
    def ids(self) -> set[str]:
        return {self.id.upper(), *(alias.upper() for alias in self.aliases)}


def normalize(name: str) -> str:
    """PEP 503 package name (``PyJWT`` == ``pyjwt``, ``ruamel.yaml`` == ``ruamel-yaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _load(data: str | Mapping[str, Any] | None, loader: Any) -> Any:
    return loader(data) if isinstance(data, str) else data


def findings(report: str | Mapping[str, Any]) -> list[Finding]:
    """Every vulnerability in a pip-audit JSON report (``--format json``), one per package and id."""
    data = _load(report, json.loads) or {}
    result = []
    for dep in data.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            result.append(
                Finding(
                    id=str(vuln["id"]),
                    package=normalize(dep["name"]),
                    version=str(dep.get("version", "")),
                    aliases=tuple(str(a) for a in vuln.get("aliases", [])),
                    fix_versions=tuple(str(v) for v in vuln.get("fix_versions", [])),
                )
            )
    return result


def skipped(report: str | Mapping[str, Any]) -> list[tuple[str, str]]:
    """(package, reason) for each dependency pip-audit could not audit."""
    data = _load(report, json.loads) or {}
    return [(dep["name"], dep["skip_reason"]) for dep in data.get("dependencies", []) if dep.get("skip_reason")]


def accepted_entries(accepted: str | Mapping[str, Any] | None) -> list[dict[str, Any]]:
    data = _load(accepted, yaml.safe_load) or {}
    entries = data.get("accepted") or []
    if not isinstance(entries, list):
        raise ValueError("'accepted' must be a list")
    return entries


def entry_problems(accepted: str | Mapping[str, Any] | None) -> list[str]:
    """What is wrong with the accepted list: missing fields, an explanation too short to be one, duplicates."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(accepted_entries(accepted)):
        label = f"entry {index + 1} ({entry.get('id', '?')})" if isinstance(entry, dict) else f"entry {index + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: not a mapping")
            continue
        for name in REQUIRED_FIELDS:
            if not str(entry.get(name) or "").strip():
                problems.append(f"{label}: missing {name}")
        if len(" ".join(str(entry.get("explanation") or "").split())) < MIN_EXPLANATION:
            problems.append(f"{label}: the explanation must say why it is accepted")
        key = (str(entry.get("id", "")).upper(), normalize(str(entry.get("package", ""))))
        if key in seen:
            problems.append(f"{label}: listed twice")
        seen.add(key)
    return problems


def unaccepted(findings_json: str | Mapping[str, Any], accepted_yaml: str | Mapping[str, Any] | None) -> list[Finding]:
    """The findings no accepted entry covers (same advisory id or alias, same package, same version)."""
    entries = [e for e in accepted_entries(accepted_yaml) if isinstance(e, dict)]
    result = []
    for finding in findings(findings_json):
        matches = [
            e for e in entries if str(e.get("id", "")).upper() in finding.ids and normalize(str(e.get("package", ""))) == finding.package
        ]
        if not matches:
            result.append(finding)
        elif not any(str(e.get("version", "")) == finding.version for e in matches):
            versions = ", ".join(sorted({str(e.get("version")) for e in matches}))
            result.append(
                Finding(
                    finding.id,
                    finding.package,
                    finding.version,
                    finding.aliases,
                    finding.fix_versions,
                    problem=f"accepted for version {versions}, locked {finding.version}: review the entry",
                )
            )
    return result


def stale(findings_json: str | Mapping[str, Any], accepted_yaml: str | Mapping[str, Any] | None) -> list[str]:
    """Accepted ids that no longer match any finding (fixed or gone: remove them)."""
    current = findings(findings_json)
    return [
        str(e.get("id"))
        for e in accepted_entries(accepted_yaml)
        if isinstance(e, dict)
        and not any(str(e.get("id", "")).upper() in f.ids and normalize(str(e.get("package", ""))) == f.package for f in current)
    ]


def check(findings_json: str, accepted_yaml: str) -> tuple[int, str]:
    """(exit code, report text) for the gate."""
    lines = []
    problems = entry_problems(accepted_yaml)
    todo = unaccepted(findings_json, accepted_yaml)
    not_audited = skipped(findings_json)
    total = findings(findings_json)
    lines.append(f"{len(total)} finding(s), {len(total) - len(todo)} accepted, {len(todo)} not accepted")
    for f in todo:
        fix = f", fixed in {', '.join(f.fix_versions)}" if f.fix_versions else ", no fixed version"
        aliases = f" ({', '.join(f.aliases)})" if f.aliases else ""
        lines.append(f"  NOT ACCEPTED {f.package} {f.version}: {f.id}{aliases}{fix} - {f.problem}")
    for problem in problems:
        lines.append(f"  INVALID accepted list: {problem}")
    if not_audited:
        lines.append(f"  NOT AUDITED {len(not_audited)} dependency(ies) pip-audit could not look up, e.g.:")
        lines += [f"    {name}: {reason}" for name, reason in not_audited[:5]]
    for entry_id in stale(findings_json, accepted_yaml):
        lines.append(f"  note: {entry_id} is accepted but no longer found; remove it")
    failed = bool(todo or problems or not_audited)
    lines.append("audit FAILED" if failed else "audit passed")
    return (1 if failed else 0), "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.tools.audit", description="Check pip-audit findings against the accepted list.")
    parser.add_argument("report", type=Path, help="pip-audit JSON report")
    parser.add_argument("accepted", type=Path, help="security/pip-audit-accepted.yml")
    args = parser.parse_args(argv)
    try:
        code, text = check(args.report.read_text(encoding="utf-8"), args.accepted.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
        print(f"error: cannot read the audit report or the accepted list: {exc}", file=sys.stderr)
        return 2
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
