"""CSV that a spreadsheet opens safely: text a visitor or a stranger typed is never run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def safe_cell(value: object) -> str:
    """A leading ``= + - @`` (or tab, CR) would start a formula: prefixed with an apostrophe (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()
