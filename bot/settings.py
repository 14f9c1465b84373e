"""Clinic settings (name, phone, booking link, emergency number) from ``clinic.yml``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot import PROJECT_ROOT

_ENV = {
    "clinic_name": "CLINIC_NAME",
    "phone": "CLINIC_PHONE",
    "booking_url": "CLINIC_BOOKING_URL",
    "emergency_number": "CLINIC_EMERGENCY_NUMBER",
}


@dataclass(frozen=True)
class ClinicSettings:
    clinic_name: str
    phone: str = ""
    booking_url: str = ""
    emergency_number: str = "911"

    @property
    def call_text(self) -> str:
        """How to reach the clinic by phone, without inventing a number."""
        if self.phone:
            return f"call {self.clinic_name} at {self.phone}"
        return f"contact {self.clinic_name} directly"

    @property
    def booking_text(self) -> str:
        """Where to book, falling back to the phone when no link is configured."""
        if self.booking_url:
            return f"book online at {self.booking_url}"
        return self.call_text

    def as_slots(self) -> dict[str, str]:
        """Values the domain's responses use as ``{slot}`` placeholders."""
        return {
            "clinic_name": self.clinic_name,
            "clinic_call": self.call_text,
            "clinic_booking": self.booking_text,
            "emergency_number": self.emergency_number,
        }


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> ClinicSettings:
    """Read clinic.yml, then let environment variables override single values."""
    path = path or Path(os.environ.get("CLINIC_SETTINGS", PROJECT_ROOT / "clinic.yml"))
    environ = os.environ if environ is None else environ
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = {key: str(raw.get(key) or "").strip() for key in _ENV}
    for key, var in _ENV.items():
        if environ.get(var):
            values[key] = environ[var].strip()
    if not values["clinic_name"]:
        raise ValueError(f"{path}: clinic_name must be set")
    values["emergency_number"] = values["emergency_number"] or "911"
    return ClinicSettings(**values)


@lru_cache(maxsize=1)
def get_settings() -> ClinicSettings:
    return load_settings()
