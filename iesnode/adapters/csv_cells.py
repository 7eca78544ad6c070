"""Cell parsers of the flat-file adapter (:mod:`iesnode.adapters.csv_files`).

Each parser reads one cell of a CSV row and returns a typed value or raises
:class:`BadCell` naming the column, which the adapter turns into ``ADP_BAD_DATA`` at
``file:line:column`` (or a skipped row). Text cells must not be blank. Decimals become
non-negative integers at a scale (kWh or kW times 1000, Wh or W as they are); precision
finer than the unit is bad data. Interval lengths are whole minutes or an ISO 8601
duration; times are ISO 8601, naive ones taking the configured UTC offset. The direction
cell holds a short code listed in ``direction_codes`` or an OBIS code (dotted, reduced,
hex or the short ``C.D.E``) for active energy: ``1.8.x`` / ``1.29.x`` import,
``2.8.x`` / ``2.29.x`` export.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from iesnode.adapters.base import Direction
from iesnode.adapters.csv_config import ReadingsFile
from iesnode.identity.errors import IdentifierError
from iesnode.identity.obis import ObisCode
from iesnode.protocol.duration import parse_duration

__all__ = [
    "BadCell",
    "Row",
    "direction_cell",
    "integral",
    "length_cell",
    "text_cell",
    "time_cell",
]

Row = dict[str | None, Any]  # DictReader rows: extra cells under None, missing ones None

_SHORT_OBIS = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


class BadCell(Exception):
    """A cell that does not parse: the column it is in and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def text_cell(row: Row, column: str) -> str:
    """The stripped text of ``column``; a blank cell is bad."""
    value = str(row[column]).strip()
    if not value:
        raise BadCell(column, "empty")
    return value


def integral(text: str, scale: int) -> int | None:
    """``text`` (a decimal) times ``scale`` as a non-negative int, or None when it is not one."""
    try:
        value = Decimal(text.strip()) * scale
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        return None
    return int(value)


def length_cell(row: Row, column: str) -> timedelta:
    """An interval length: whole minutes or an ISO 8601 duration."""
    text = row[column].strip()
    try:
        seconds = int(text) * 60 if text.isdigit() else parse_duration(text)
    except ValueError as exc:
        raise BadCell(column, f"not minutes or an ISO 8601 duration: {text!r}") from exc
    return timedelta(seconds=seconds)


def time_cell(row: Row, column: str, utc_offset_minutes: int) -> datetime:
    """An ISO 8601 time; a naive one gets the offset ``utc_offset_minutes``."""
    try:
        value = datetime.fromisoformat(row[column].strip())
    except ValueError as exc:
        raise BadCell(column, f"not an ISO 8601 time: {row[column]!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(timedelta(minutes=utc_offset_minutes)))
    return value


def direction_cell(text: str, spec: ReadingsFile, column: str) -> tuple[Direction, str | None]:
    """The direction of a direction code or active-energy OBIS code, and the OBIS code if any."""
    if text in spec.direction_codes:
        return spec.direction_codes[text], None
    short = _SHORT_OBIS.fullmatch(text)
    try:
        code = ObisCode(1, 0, *map(int, short.groups())) if short else ObisCode.parse(text)
    except IdentifierError as exc:
        raise BadCell(column, f"neither a direction code nor an OBIS code: {text!r}") from exc
    if code.a != 1 or code.c not in (1, 2) or code.d not in (8, 29):
        raise BadCell(column, f"OBIS {code} is not active energy import or export")
    return ("import" if code.c == 1 else "export"), str(code)
