"""CSV writing that is safe to open in a spreadsheet, and the response that carries a download."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from flask import Response

# A cell a spreadsheet would read as a formula (or that starts with a control character a
# formula can hide behind): "=HYPERLINK(...)", "+1", "-2+3", "@SUM", tab, carriage return.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int:
    """``value`` for a CSV cell; text that could run as a formula gets a leading apostrophe.

    Numbers are written as numbers (the app's are never negative); only text is guarded, so a
    name like "-Smith" or a reason "=cuff slipped" is shown as typed, never executed.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """RFC 4180 CSV with a byte-order mark, so spreadsheets read accents as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return "\ufeff" + out.getvalue()


def filename_part(value: str) -> str:
    """A record number as it may stand in a file name (letters, digits, dot, dash, underscore)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("._")[:40] or "record"


def attachment(body: str, filename: str, mimetype: str) -> Response:
    """A download: never shown inline, never sniffed into another type."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
