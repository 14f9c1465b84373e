"""Turn on the channels whose settings are present: credentials.yml -> the file Rasa loads.

Rasa refuses to start when a ``${VAR}`` in credentials.yml is unset, so a clinic
without, say, Telegram would have to edit the file. This writes a copy keeping each
channel whose required ``${VAR}``s are all set, drops unset optional ``${VAR:-}``
keys, and leaves the ``${VAR}`` references for Rasa to fill in (no secret is
written to disk).

    python -m bot.channels.config credentials.yml var/credentials.yml
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-)?\}")


def _variables(value: Any) -> list[tuple[str, bool]]:
    """(name, optional) for each ${VAR} in a value."""
    return [(m.group(1), bool(m.group(2))) for m in _VAR.finditer(value)] if isinstance(value, str) else []


def active_channels(raw: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The channels to run (values still as ${VAR}) and, for each channel left off, the variables it lacks."""
    active: dict[str, Any] = {}
    off: dict[str, list[str]] = {}
    for channel, settings in raw.items():
        settings = settings or {}
        missing = [name for value in settings.values() for name, optional in _variables(value) if not optional and not environ.get(name)]
        if missing:
            off[channel] = missing
            continue
        kept = {}
        for key, value in settings.items():
            variables = _variables(value)
            if any(optional and not environ.get(name) for name, optional in variables):
                continue
            kept[key] = _VAR.sub(lambda m: "${" + m.group(1) + "}", value) if variables else value
        active[channel] = kept or None
    return active, off


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    raw = yaml.safe_load(args.source.read_text(encoding="utf-8")) or {}
    active, off = active_channels(raw, os.environ)
    args.target.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Generated from {args.source.name} by bot/channels/config.py: edit that file, not this one.\n"
    args.target.write_text(header + yaml.safe_dump(active, sort_keys=False), encoding="utf-8")
    for channel in active:
        print(f"channel on:  {channel.rsplit('.', 1)[-1]}", file=sys.stderr)
    for channel, missing in off.items():
        print(f"channel off: {channel.rsplit('.', 1)[-1]} (set {', '.join(dict.fromkeys(missing))})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
