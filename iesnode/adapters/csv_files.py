"""The flat-file reference adapter: a CIS extract CSV and an MDM interval dump CSV.

Both files are read when the adapter is created and again on :meth:`CsvAdapter.reload`;
lookups then answer from memory. **A malformed row fails the load** by default
(``on_bad_row = "fail"``): the load raises ``AdapterError(ADP_BAD_DATA)`` with the path
``file:line:column``, and a failed reload keeps the data already in service. With
``on_bad_row = "skip"`` bad rows are left out, logged (``adapter.csv.row_skipped``) and kept
in :attr:`CsvAdapter.problems`; their intervals then come back as ``missing``, never guessed.
A missing column in the header always fails the load.

Readings: the direction cell holds a short code listed in ``direction_codes`` or an OBIS code
(dotted, reduced, hex or the short ``C.D.E``) for active energy: ``1.8.x`` / ``1.29.x`` import,
``2.8.x`` / ``2.29.x`` export. Values are decimal kWh or Wh (``value_unit``) made integer Wh;
precision finer than 1 Wh is bad data. A blank value or a ``missing`` quality flag gives a
missing interval (any value on it is dropped). Naive timestamps get ``utc_offset_minutes``.
The cell parsers are in :mod:`iesnode.adapters.csv_cells`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import get_args

import structlog

from iesnode.adapters.base import (
    ADP_BAD_DATA,
    ADP_UNAVAILABLE,
    ADP_UNKNOWN_CONSUMER,
    ADP_UNKNOWN_METER,
    AdapterError,
    Consumer,
    Direction,
    Quality,
    Reading,
)
from iesnode.adapters.csv_cells import (
    BadCell,
    Row,
    direction_cell,
    integral,
    length_cell,
    text_cell,
    time_cell,
)
from iesnode.adapters.csv_config import (
    ConsumerColumns,
    ConsumersFile,
    CsvConfig,
    ReadingColumns,
    ReadingsFile,
)
from iesnode.identity.errors import IdentifierError, MappingError, NoMapping
from iesnode.identity.mapping import LegacyIdMap

__all__ = [
    "ConsumerColumns",
    "ConsumersFile",
    "CsvAdapter",
    "CsvConfig",
    "ReadingColumns",
    "ReadingsFile",
]

log = structlog.get_logger(__name__)


@dataclass
class _Data:
    consumers: dict[str, Consumer] = field(default_factory=dict)
    by_meter: dict[str, Consumer] = field(default_factory=dict)
    series: dict[tuple[str, str], list[Reading]] = field(default_factory=dict)
    meters: set[str] = field(default_factory=set)
    problems: list[AdapterError] = field(default_factory=list)


class CsvAdapter:
    """CIS and MDM from CSV files; implements ``CustomerInformation`` and ``MeterData``."""

    name = "csv"

    def __init__(self, config: CsvConfig) -> None:
        self.config = config
        self._data = self._load()

    @property
    def problems(self) -> tuple[AdapterError, ...]:
        """The rows skipped by the last load (always empty with ``on_bad_row = "fail"``)."""
        return tuple(self._data.problems)

    def reload(self) -> None:
        """Read the files again; on failure the data already loaded stays in service."""
        self._data = self._load()

    async def consumer(self, consumer_id: str) -> Consumer:
        """The consumer by CIS number or by its common reference."""
        data = self._need("consumers")
        found = data.consumers.get(consumer_id)
        if found is None:
            raise AdapterError(
                ADP_UNKNOWN_CONSUMER, f"no consumer {consumer_id!r}", path="consumer_id"
            )
        return found

    async def consumer_by_meter(self, meter: str) -> Consumer:
        """The consumer whose meter list holds ``meter``."""
        found = self._need("consumers").by_meter.get(meter)
        if found is None:
            raise AdapterError(ADP_UNKNOWN_METER, f"no consumer has meter {meter!r}", path="meter")
        return found

    async def readings(
        self, meter: str, start: datetime, end: datetime, direction: str = "import"
    ) -> list[Reading]:
        """Intervals overlapping ``[start, end)``, whole; gaps filled with ``missing`` intervals."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ValueError("start and end must be timezone-aware with start < end")
        if direction not in get_args(Direction):
            raise ValueError(f"direction must be import or export, not {direction!r}")
        data = self._need("readings")
        if meter not in data.meters:
            raise AdapterError(ADP_UNKNOWN_METER, f"no meter {meter!r}", path="meter")
        series = data.series.get((meter, direction), [])
        found = [r for r in series if r.end > start and r.start < end]
        step = series[0].end - series[0].start if series else self._default_step()
        anchor = series[0].start if series else start
        out: list[Reading] = []
        cursor = start
        for reading in found:
            out.extend(_missing(meter, direction, cursor, reading.start, step, anchor))
            out.append(reading)
            cursor = max(cursor, reading.end)
        out.extend(_missing(meter, direction, cursor, end, step, anchor))
        return out

    def _default_step(self) -> timedelta | None:
        spec = self.config.readings
        minutes = spec.interval_minutes if spec is not None else None
        return timedelta(minutes=minutes) if minutes else None

    def _need(self, what: str) -> _Data:
        if getattr(self.config, what) is None:
            raise AdapterError(ADP_UNAVAILABLE, f"no {what} file is configured", path=what)
        return self._data

    # loading -------------------------------------------------------------------------

    def _load(self) -> _Data:
        data = _Data()
        ids = LegacyIdMap.load(self.config.legacy_ids) if self.config.legacy_ids else None
        if self.config.consumers is not None:
            self._load_consumers(self.config.consumers, ids, data)
        if self.config.readings is not None:
            self._load_readings(self.config.readings, data)
        log.info(
            "adapter.csv.loaded",
            consumers=len({c.consumer_id for c in data.consumers.values()}),
            meters=len(data.meters),
            intervals=sum(len(s) for s in data.series.values()),
            skipped=len(data.problems),
        )
        return data

    def _rows(self, path: Path, needed: list[str], data: _Data) -> Iterator[tuple[int, Row]]:
        """Yield ``(line, row)``; rows with the wrong number of cells are failed or skipped."""
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle, delimiter=self.config.delimiter)
                header = reader.fieldnames or []
                for column in needed:
                    if column not in header:
                        raise AdapterError(
                            ADP_BAD_DATA, f"no column {column!r}", path=f"{path}:1:{column}"
                        )
                for row in reader:
                    short = next((c for c in needed if row[c] is None), None)
                    if None in row:
                        bad = BadCell(str(len(header) + 1), "more cells than the header")
                        self._bad(path, reader.line_num, bad, data)
                    elif short is not None:
                        bad = BadCell(short, "fewer cells than the header")
                        self._bad(path, reader.line_num, bad, data)
                    else:
                        yield reader.line_num, row
        except OSError as exc:
            raise AdapterError(ADP_UNAVAILABLE, f"cannot read: {exc}", path=str(path)) from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise AdapterError(ADP_BAD_DATA, f"not a CSV file: {exc}", path=str(path)) from exc

    def _bad(self, path: Path, line: int, bad: BadCell, data: _Data) -> None:
        error = AdapterError(ADP_BAD_DATA, bad.reason, path=f"{path}:{line}:{bad.column}")
        if self.config.on_bad_row == "fail":
            raise error
        log.warning("adapter.csv.row_skipped", path=error.path, reason=bad.reason)
        data.problems.append(error)

    def _load_consumers(self, spec: ConsumersFile, ids: LegacyIdMap | None, data: _Data) -> None:
        col = spec.columns
        needed = [col.consumer_id, col.connection_id, col.sanctioned_load, col.tariff_category]
        for line, row in self._rows(spec.path, [*needed, col.meters], data):
            try:
                cid, conn, load, tariff = (text_cell(row, c) for c in needed)
                meters = tuple(m.strip() for m in row[col.meters].split(spec.meter_separator))
                meters = tuple(m for m in meters if m)
                if cid in data.consumers:
                    raise BadCell(col.consumer_id, f"consumer {cid!r} appears twice")
                for meter in meters:
                    if meter in data.by_meter or meters.count(meter) > 1:
                        raise BadCell(col.meters, f"meter {meter!r} is listed twice")
                watts = integral(load, 1000 if spec.sanctioned_load_unit == "kW" else 1)
                if watts is None:
                    raise BadCell(col.sanctioned_load, f"not a load in whole watts: {load!r}")
                consumer = Consumer(cid, conn, watts, tariff, meters, self._ref(cid, ids, col))
            except BadCell as bad:
                self._bad(spec.path, line, bad, data)
                continue
            data.consumers[cid] = consumer
            if consumer.reference is not None:
                data.consumers.setdefault(consumer.reference, consumer)
            data.by_meter.update(dict.fromkeys(meters, consumer))
            data.meters.update(meters)

    def _ref(self, cid: str, ids: LegacyIdMap | None, col: ConsumerColumns) -> str | None:
        if ids is None:
            return None
        try:
            return ids.map_forward(cid, scheme=self.config.legacy_id_scheme)
        except NoMapping:
            return None
        except (MappingError, IdentifierError) as exc:
            raise BadCell(col.consumer_id, f"legacy-ID mapping: {exc}") from exc

    def _load_readings(self, spec: ReadingsFile, data: _Data) -> None:
        col = spec.columns
        needed = [c for c in (col.meter, col.start, col.end, col.length, col.value) if c]
        needed += [c for c in (col.direction, col.quality) if c]
        seen: dict[tuple[str, str], dict[datetime, Reading]] = {}
        for line, row in self._rows(spec.path, needed, data):
            try:
                reading = self._reading(spec, row)
                starts = seen.setdefault((reading.meter, reading.direction), {})
                if reading.start in starts:
                    raise BadCell(col.start, "interval appears twice for this meter")
            except BadCell as bad:
                self._bad(spec.path, line, bad, data)
                continue
            starts[reading.start] = reading
            data.meters.add(reading.meter)
        for key, starts in seen.items():
            data.series[key] = [starts[s] for s in sorted(starts)]

    def _reading(self, spec: ReadingsFile, row: Row) -> Reading:
        col = spec.columns
        meter = text_cell(row, col.meter)
        start = time_cell(row, col.start, self.config.utc_offset_minutes)
        if col.end is not None:
            end = time_cell(row, col.end, self.config.utc_offset_minutes)
        elif col.length is not None:
            end = start + length_cell(row, col.length)
        else:
            end = start + timedelta(minutes=spec.interval_minutes or 0)
        if end <= start:
            raise BadCell(col.end or col.length or col.start, "interval ends before it starts")
        direction, obis = spec.default_direction, None
        if col.direction is not None:
            direction, obis = direction_cell(row[col.direction].strip(), spec, col.direction)
        quality: Quality = "actual"
        if col.quality is not None:
            flags = {k.upper(): v for k, v in spec.quality_codes.items()}
            flag = row[col.quality].strip().upper()
            if flag not in flags:
                raise BadCell(col.quality, f"unknown quality flag {flag!r}")
            quality = flags[flag]
        raw = row[col.value].strip()
        if not raw or quality == "missing":
            return Reading(meter, start, end, None, direction, obis, "missing")
        wh = integral(raw, 1000 if spec.value_unit == "kWh" else 1)
        if wh is None:
            raise BadCell(col.value, f"not an energy in whole Wh: {raw!r}")
        return Reading(meter, start, end, wh, direction, obis, quality)


def _missing(
    meter: str, direction: str, a: datetime, b: datetime, step: timedelta | None, anchor: datetime
) -> Iterator[Reading]:
    """Missing intervals covering ``[a, b)`` on the grid ``anchor + k * step``."""
    dir_: Direction = "export" if direction == "export" else "import"
    while a < b:
        nxt = b if step is None else min(anchor + ((a - anchor) // step + 1) * step, b)
        yield Reading(meter, a, nxt, None, dir_, None, "missing")
        a = nxt
