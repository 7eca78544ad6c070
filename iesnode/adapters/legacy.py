"""Turning values read from a legacy system into the adapter seam's records.

Both reference adapters (SQL rows, legacy JSON) read loosely typed values: decimal
kWh as text or REAL, timestamps as ISO text, epoch numbers or ``datetime``. The
rules here convert them once, the same way, and refuse anything doubtful with
``ADP_BAD_DATA`` naming the field (``readings[3].energy_kwh``). Energy is integer
Wh, parsed through :class:`decimal.Decimal`, never through floats. Intervals the
legacy system did not report come back as ``quality="missing"`` with ``wh=None``;
nothing is interpolated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from iesnode.adapters.base import ADP_BAD_DATA, AdapterError, Consumer, Direction, Quality, Reading
from iesnode.identity.errors import IdentifierError
from iesnode.identity.obis import ObisCode

__all__ = ["ValueRules", "bad_data", "fill_gaps", "instant", "text", "watt_hours", "watts"]

_QUALITY: dict[str, Quality] = {
    "actual": "actual",
    "a": "actual",
    "valid": "actual",
    "estimated": "estimated",
    "e": "estimated",
    "missing": "missing",
    "m": "missing",
}

_DIRECTIONS: dict[Direction, str] = {"import": "import", "export": "export"}
_OBIS: dict[Direction, str] = {"import": "1.0.1.8.0.255", "export": "1.0.2.8.0.255"}


def bad_data(path: str, message: str) -> AdapterError:
    """An ``ADP_BAD_DATA`` error for the field at ``path``."""
    return AdapterError(ADP_BAD_DATA, f"{path}: {message}", path=path)


class ValueRules(BaseModel):
    """How a legacy system writes units, times, quality flags and directions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    energy_unit: Literal["kWh", "Wh"] = "kWh"
    load_unit: Literal["kW", "W"] = "kW"
    timezone: str = "Asia/Kolkata"
    """Zone of timestamps written without an offset (IST by default)."""
    interval_s: int = Field(default=900, gt=0)
    """Length of one metering interval; gaps are reported in slices of this length."""
    quality_values: dict[str, Quality] = Field(default_factory=lambda: dict(_QUALITY))
    """Legacy quality flag (case-insensitive) -> seam quality; no column/field = actual."""
    direction_values: dict[Direction, str] = Field(default_factory=lambda: dict(_DIRECTIONS))
    """Seam direction -> the legacy system's spelling (passed to its query/URL)."""
    obis: dict[Direction, str] = Field(default_factory=lambda: dict(_OBIS))
    """OBIS code reported when the legacy data carries none (active energy +A / -A)."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("obis")
    @classmethod
    def _obis(cls, value: dict[Direction, str]) -> dict[Direction, str]:
        try:
            return {k: str(ObisCode.parse(v)) for k, v in value.items()}
        except IdentifierError as exc:
            raise ValueError(str(exc)) from exc

    @property
    def zone(self) -> ZoneInfo:
        """The zone of offset-less timestamps."""
        return ZoneInfo(self.timezone)

    def quality(self, value: object, path: str) -> Quality:
        """Map a legacy quality flag; ``None`` means an actual reading."""
        if value is None:
            return "actual"
        found = self.quality_values.get(text(value, path).lower())
        if found is None:
            raise bad_data(path, f"unknown quality flag {value!r}")
        return found

    def obis_code(self, value: object, direction: Direction, path: str) -> str:
        """The reading's OBIS code (canonical dotted form), defaulting per direction."""
        if value is None:
            return self.obis[direction]
        try:
            return str(ObisCode.parse(text(value, path)))
        except IdentifierError as exc:
            raise bad_data(path, exc.reason) from None

    def consumer(
        self,
        values: Mapping[str, Any],
        paths: Mapping[str, str],
        meters: Sequence[tuple[object, str]],
    ) -> Consumer:
        """A :class:`Consumer` from values keyed by seam field; ``paths`` name their sources.

        Keys: consumer_id, connection_id, sanctioned_load, tariff_category, reference
        (optional); ``meters`` holds (value, path) pairs.
        """
        reference = values.get("reference")
        return Consumer(
            consumer_id=text(values.get("consumer_id"), paths["consumer_id"]),
            connection_id=text(values.get("connection_id"), paths["connection_id"]),
            sanctioned_load_w=watts(
                values.get("sanctioned_load"), self.load_unit, paths["sanctioned_load"]
            ),
            tariff_category=text(values.get("tariff_category"), paths["tariff_category"]),
            meters=tuple(text(value, path) for value, path in meters),
            reference=None if reference is None else text(reference, paths["reference"]),
        )

    def reading(
        self,
        meter: str,
        values: Mapping[str, Any],
        paths: Mapping[str, str],
        direction: Direction,
    ) -> Reading:
        """One :class:`Reading` from values keyed start, end, energy, quality, obis."""
        quality = self.quality(values.get("quality"), paths.get("quality", "quality"))
        wh = (
            None
            if quality == "missing"
            else watt_hours(values.get("energy"), self.energy_unit, paths["energy"])
        )
        start = instant(values.get("start"), self.zone, paths["start"])
        end = instant(values.get("end"), self.zone, paths["end"])
        if end <= start:
            raise bad_data(paths["end"], "interval ends before it starts")
        obis = self.obis_code(values.get("obis"), direction, paths.get("obis", "obis"))
        return Reading(meter, start, end, wh, direction, obis, quality)


def text(value: object, path: str) -> str:
    """A non-empty identifier or label; numbers are accepted as their decimal text."""
    if isinstance(value, bool) or value is None:
        raise bad_data(path, "missing value" if value is None else "expected text")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise bad_data(path, "expected non-empty text")
    return value.strip()


def _scaled(value: object, factor: int, path: str) -> int:
    if value is None:
        raise bad_data(path, "missing value")
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise bad_data(path, f"expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise bad_data(path, "not a finite number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad_data(path, f"not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise bad_data(path, f"not a non-negative number: {value!r}")
    scaled = number * factor
    if scaled != scaled.to_integral_value():
        raise bad_data(path, f"{value!r} is finer than 1 W/Wh")
    return int(scaled)


def watt_hours(value: object, unit: Literal["kWh", "Wh"], path: str) -> int:
    """Energy as integer Wh from kWh or Wh (decimal text, int or REAL); sub-Wh is bad data."""
    return _scaled(value, 1000 if unit == "kWh" else 1, path)


def watts(value: object, unit: Literal["kW", "W"], path: str) -> int:
    """Power as integer W from kW or W."""
    return _scaled(value, 1000 if unit == "kW" else 1, path)


def instant(value: object, zone: ZoneInfo, path: str) -> datetime:
    """An aware datetime from ISO text, epoch seconds or a ``datetime``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise bad_data(path, f"not an ISO 8601 timestamp: {value!r}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(value, UTC)
    else:
        raise bad_data(path, "missing timestamp" if value is None else "expected a timestamp")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def fill_gaps(
    meter: str,
    readings: Sequence[Reading],
    start: datetime,
    end: datetime,
    direction: Direction,
    obis: str,
    interval: timedelta,
) -> list[Reading]:
    """Readings overlapping ``[start, end)``, with every uncovered stretch as "missing" slices."""
    out: list[Reading] = []
    cursor = start

    def gap(until: datetime) -> None:
        nonlocal cursor
        while cursor < until:
            stop = min(cursor + interval, until)
            out.append(Reading(meter, cursor, stop, None, direction, obis, "missing"))
            cursor = stop

    for reading in sorted(readings, key=lambda r: r.start):
        if reading.end <= start or reading.start >= end:
            continue
        gap(reading.start)
        out.append(reading)
        cursor = max(cursor, reading.end)
    gap(end)
    return out
