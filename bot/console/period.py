"""The period an insights or unanswered-questions page covers: the last 7, 30 or 90 days, in the clinic's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CHOICES = {7: "Last 7 days", 30: "Last 30 days", 90: "Last 90 days"}
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    days: int
    first_day: date
    last_day: date
    since: datetime
    until: datetime

    @classmethod
    def parse(cls, query: Any, zone: ZoneInfo, now: datetime | None = None) -> Period:
        raw = str(query.get("days", ""))
        days = int(raw) if raw.isdigit() and int(raw) in CHOICES else DEFAULT_DAYS
        today = (now or datetime.now(zone)).astimezone(zone).date()
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, time(), zone)
        until = datetime.combine(today + timedelta(days=1), time(), zone)
        return cls(days, first, today, since, until)
