"""A ``MeterData`` adapter over the JSON-lines export of the GridLog MDM (a fictional one).

GridLog writes one interval of one meter per line::

    {"meter": "GL-100234", "start": "2025-06-01T10:00:00", "channel": "I",
     "kwh": "0.250", "status": "OK"}

The export is read on every call, in a worker thread, so a new export is picked up without
a restart and the event loop never blocks. The rules are the seam's (``iesnode.adapters``,
see ``iesnode/adapters/base.py``): energy becomes integer Wh through ``Decimal``,
never a float; an unreadable export is ``ADP_UNAVAILABLE``; a meter the export does not
mention is ``ADP_UNKNOWN_METER``; a malformed line fails the call with ``ADP_BAD_DATA`` and
the path ``file:line:field``; intervals the export does not cover come back ``missing``,
never interpolated.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

import structlog

from iesnode.adapters import (
    ADP_BAD_DATA,
    ADP_UNAVAILABLE,
    ADP_UNKNOWN_METER,
    AdapterError,
    Direction,
    Reading,
)

from .config import GridLogConfig

__all__ = ["GridLogAdapter"]

log = structlog.get_logger(__name__)


def _bad(path: str, reason: str) -> AdapterError:
    return AdapterError(ADP_BAD_DATA, f"{path}: {reason}", path=path)


class GridLogAdapter:
    """Interval readings from a GridLog export; satisfies ``iesnode.adapters.MeterData``."""

    def __init__(self, config: GridLogConfig) -> None:
        self.config = config
        self._zone = timezone(timedelta(minutes=config.utc_offset_minutes))
        self._step = timedelta(minutes=config.interval_minutes)

    async def readings(
        self, meter: str, start: datetime, end: datetime, direction: str = "import"
    ) -> list[Reading]:
        """Readings of ``meter`` covering ``[start, end)`` in order; gaps are ``missing``."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ValueError("start and end must be timezone-aware with start < end")
        if direction not in get_args(Direction):
            raise ValueError(f"direction must be import or export, not {direction!r}")
        way: Direction = "import" if direction == "import" else "export"
        every = await asyncio.to_thread(self._load)
        if not any(r.meter == meter for r in every):
            raise AdapterError(
                ADP_UNKNOWN_METER, f"meter {meter!r} is not in the GridLog export", path="meter"
            )
        found = sorted(
            (r for r in every if r.meter == meter and r.direction == way),
            key=lambda r: r.start,
        )
        out = self._cover(
            meter, way, [r for r in found if r.end > start and r.start < end], start, end
        )
        log.debug(
            "gridlog.readings",
            meter=meter,
            direction=way,
            missing=sum(r.quality == "missing" for r in out),
            intervals=len(out),
        )
        return out

    def _cover(
        self, meter: str, direction: Direction, found: list[Reading], start: datetime, end: datetime
    ) -> list[Reading]:
        """``found`` with every stretch of ``[start, end)`` it leaves open as missing slices."""
        out: list[Reading] = []
        cursor = start
        for reading in [*found, None]:
            until = end if reading is None else reading.start
            while cursor < until:
                stop = min(cursor + self._step, until)
                out.append(Reading(meter, cursor, stop, None, direction, None, "missing"))
                cursor = stop
            if reading is not None:
                out.append(reading)
                cursor = max(cursor, reading.end)
        return out

    def _load(self) -> list[Reading]:
        """Every line of the export as a Reading; the first malformed line fails the call."""
        name = self.config.export.name
        try:
            text = self.config.export.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("gridlog.unavailable", export=name, error=type(exc).__name__)
            raise AdapterError(
                ADP_UNAVAILABLE, f"cannot read the GridLog export {name}: {exc}", path="export"
            ) from None
        out: list[Reading] = []
        seen: dict[tuple[str, str, datetime], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            reading = self._reading(line, f"{name}:{number}")
            key = (reading.meter, reading.direction, reading.start)
            if key in seen:
                raise _bad(f"{name}:{number}:start", f"interval repeats line {seen[key]}")
            seen[key] = number
            out.append(reading)
        return out

    def _reading(self, line: str, where: str) -> Reading:
        try:
            record: Any = json.loads(line, parse_float=Decimal)
        except ValueError:
            raise _bad(where, "not a JSON line") from None
        if not isinstance(record, dict):
            raise _bad(where, "not a JSON object")
        meter = record.get("meter")
        if not isinstance(meter, str) or not meter.strip():
            raise _bad(f"{where}:meter", "expected a meter serial number")
        direction = self.config.channels.get(str(record.get("channel")))
        if direction is None:
            raise _bad(f"{where}:channel", f"unknown channel {record.get('channel')!r}")
        quality = self.config.statuses.get(str(record.get("status")))
        if quality is None:
            raise _bad(f"{where}:status", f"unknown status {record.get('status')!r}")
        start = self._instant(record.get("start"), f"{where}:start")
        wh = None if quality == "missing" else self._wh(record.get("kwh"), f"{where}:kwh")
        return Reading(meter.strip(), start, start + self._step, wh, direction, None, quality)

    def _instant(self, value: object, path: str) -> datetime:
        if not isinstance(value, str):
            raise _bad(path, "expected an ISO 8601 timestamp")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _bad(path, f"not an ISO 8601 timestamp: {value!r}") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self._zone)

    def _wh(self, value: object, path: str) -> int:
        if value is None:
            raise _bad(path, "missing value")
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise _bad(path, f"expected a number, got {type(value).__name__}")
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise _bad(path, f"not a number: {value!r}") from None
        if not number.is_finite() or number < 0:
            raise _bad(path, f"not a non-negative number: {value!r}")
        wh = number * (1000 if self.config.energy_unit == "kWh" else 1)
        if wh != wh.to_integral_value():
            raise _bad(path, f"{value!r} is finer than 1 Wh")
        return int(wh)
