"""Message templates from ``data/messages.yml``, filled with the clinic's settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot import DATA_DIR
from bot.config import ClinicSettings, get_settings


@lru_cache(maxsize=1)
def _templates(path: Path = DATA_DIR / "messages.yml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def message(key: str, settings: ClinicSettings | None = None, **values: str) -> str:
    """The text for ``key`` with {clinic_name}, {clinic_call}... and any ``values`` filled in."""
    return str(_templates()[key]).format(**(settings or get_settings().clinic).as_slots(), **values)


def button_title(key: str) -> str:
    return str(_templates()["buttons"][key])


def message_group(key: str, member: str, settings: ClinicSettings | None = None) -> str:
    """One text of a keyed group of messages (e.g. ``urgent_check`` by red-flag group), filled in."""
    group = _templates()[key]
    return str(group.get(member) or next(iter(group.values()))).format(**(settings or get_settings().clinic).as_slots())
