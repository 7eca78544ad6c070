"""A DISCOM's meter-data BPP: per-interval actual import/export for its ledger provider.

Each DISCOM runs a thin BPP that answers its ledger provider's daily meter-data pull
(``research/energy-domain.md`` §2.2, phase 5: "each LP sends ``status`` to its DISCOM,
receives metered actuals"). It reads the DISCOM's MDM through an
:class:`~iesnode.adapters.MeterData` adapter (the node's ``[adapters.<name>]``) and sums
the MDM's intervals onto the asked grid (e.g. ``PT1H``) in integer Wh. Data is never
invented: a grid interval with any missing (or malformed, skipped) MDM interval is
``missing`` with no value, one with any estimated interval is flagged ``estimated``.
An adapter failure (unknown meter, system down, bad data) becomes the ``on_status``
error with the request path that caused it.

Request (``status``): ``contract.contractAttributes`` of ``@type MeterDataRequest`` with
``intervalPeriod {start, duration}``, ``intervalCount`` and ``meters[] {meterId,
direction}``. Answer (``on_status``): one ``contract.performance[]`` entry per meter with
``performanceAttributes`` of ``@type MeterData``: ``intervals[] {id, wh, quality,
missingParts}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

import structlog

from iesnode.adapters.base import AdapterError, Direction, MeterData, Quality, Reading
from iesnode.errors import BusinessError
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.usecases.p2p.config import MeterBppConfig
from iesnode.usecases.p2p.series import (
    bad,
    items,
    mapping,
    read_duration,
    read_time,
    rfc3339,
    text,
    window_end,
)

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = [
    "METER_NOT_AUTHORISED",
    "IntervalActual",
    "MeterDataBpp",
    "MeterSeries",
    "meter_request",
    "on_grid",
    "read_meter_reply",
]

log = structlog.get_logger(__name__)

METER_NOT_AUTHORISED: Final = "METER_NOT_AUTHORISED"
_PATH = "message.contract.contractAttributes"


@dataclass(frozen=True, slots=True)
class IntervalActual:
    """One grid interval: energy in Wh (None when missing) and its quality."""

    start: datetime
    end: datetime
    wh: int | None
    quality: Quality
    missing_parts: int = 0


@dataclass(frozen=True, slots=True)
class MeterSeries:
    """A meter's actuals in one direction over the asked grid."""

    meter_id: str
    direction: Direction
    intervals: tuple[IntervalActual, ...]

    def known(self) -> dict[datetime, int]:
        """Interval start -> Wh, for the intervals that have a value (actual or estimated)."""
        return {i.start: i.wh for i in self.intervals if i.wh is not None}

    def flagged(self) -> list[IntervalActual]:
        """The intervals that are missing or estimated."""
        return [i for i in self.intervals if i.quality != "actual"]


def meter_request(
    meters: Sequence[tuple[str, Direction]], start: datetime, count: int, duration: str = "PT1H"
) -> dict[str, Any]:
    """The ``status`` message asking for ``count`` intervals of ``duration`` from ``start``."""
    return {
        "contract": {
            "id": f"meter-data/{uuid.uuid4()}",
            "contractAttributes": {
                "@type": "MeterDataRequest",
                "intervalPeriod": {"start": rfc3339(start), "duration": duration},
                "intervalCount": count,
                "meters": [{"meterId": m, "direction": d} for m, d in meters],
            },
        }
    }


def read_meter_reply(message: Mapping[str, Any]) -> list[MeterSeries]:
    """The meter series of an ``on_status`` from a meter-data BPP."""
    contract = mapping(message.get("contract"), "message.contract")
    out = []
    for n, entry in enumerate(items(contract.get("performance"), "message.contract.performance")):
        where = f"message.contract.performance[{n}].performanceAttributes"
        attrs = mapping(entry.get("performanceAttributes"), where)
        direction = attrs.get("direction")
        if direction not in ("import", "export"):
            raise bad(f"{where}.direction", "expected import or export")
        _, step = read_duration(attrs, "duration", where)
        start = read_time(attrs.get("start"), f"{where}.start")
        intervals = []
        for k, row in enumerate(items(attrs.get("intervals"), f"{where}.intervals")):
            number, wh, quality = row.get("id"), row.get("wh"), row.get("quality")
            if not isinstance(number, int) or quality not in ("actual", "estimated", "missing"):
                raise bad(f"{where}.intervals[{k}]", "expected an id and a quality flag")
            if (wh is None) != (quality == "missing") or not (wh is None or isinstance(wh, int)):
                raise bad(f"{where}.intervals[{k}].wh", "whole Wh exactly when not missing")
            begin = window_end(start, number, step, f"{where}.intervals[{k}].id")
            parts = row.get("missingParts", 0)
            intervals.append(
                IntervalActual(
                    begin,
                    window_end(begin, 1, step, f"{where}.intervals[{k}].id"),
                    wh,
                    cast(Quality, quality),
                    parts if isinstance(parts, int) else 0,
                )
            )
        series = MeterSeries(text(attrs, "meterId", where), direction, tuple(intervals))
        out.append(series)
    return out


def on_grid(readings: Sequence[Reading], start: datetime, end: datetime) -> IntervalActual:
    """Sum the MDM ``readings`` lying in ``[start, end)``; never fills a gap."""
    inside = [r for r in readings if r.start < end and r.end > start]
    covered = sum((r.end - r.start for r in inside), timedelta(0))
    aligned = all(r.start >= start and r.end <= end for r in inside)
    missing = sum(1 for r in inside if r.wh is None)
    if not aligned or covered != end - start or missing:
        return IntervalActual(start, end, None, "missing", max(missing, 1))
    quality: Quality = "estimated" if any(r.quality == "estimated" for r in inside) else "actual"
    return IntervalActual(start, end, sum(r.wh or 0 for r in inside), quality)


class MeterDataBpp:
    """The ``status`` handler of a DISCOM meter-data BPP over a ``MeterData`` adapter."""

    def __init__(self, config: MeterBppConfig, meter_data: MeterData | None = None) -> None:
        self.config = config
        self._meter_data = meter_data
        self.handlers = HandlerRegistry()
        self.handlers.on("status")(self._status)

    async def start(self, node: Node) -> None:
        """Take the configured adapter from the node unless one was given."""
        if self._meter_data is None:
            adapter = node.adapters.get(self.config.adapter)
            if not isinstance(adapter, MeterData):
                raise RuntimeError(f"adapter {self.config.adapter!r} is not a MeterData adapter")
            self._meter_data = adapter

    async def aclose(self) -> None:
        """Nothing to release (the node closes its adapters)."""

    async def _status(self, req: IncomingRequest) -> dict[str, Any]:
        if self.config.readers and req.sender not in self.config.readers:
            raise BusinessError(
                METER_NOT_AUTHORISED,
                f"{req.sender} may not read this DISCOM's meter data",
                path="context.bapId",
            )
        contract = mapping(req.message.get("contract"), "message.contract")
        attrs = mapping(contract.get("contractAttributes"), _PATH)
        if attrs.get("@type") != "MeterDataRequest":
            raise bad(f"{_PATH}.@type", "expected a MeterDataRequest")
        period = mapping(attrs.get("intervalPeriod"), f"{_PATH}.intervalPeriod")
        start = read_time(period.get("start"), f"{_PATH}.intervalPeriod.start")
        duration, step = read_duration(period, "duration", f"{_PATH}.intervalPeriod")
        count = attrs.get("intervalCount")
        if not isinstance(count, int) or not 0 < count <= self.config.max_intervals:
            limit = self.config.max_intervals
            raise bad(f"{_PATH}.intervalCount", f"expected 1 to {limit} intervals")
        window_end(start, count, step, f"{_PATH}.intervalPeriod")
        performance = []
        for n, meter in enumerate(items(attrs.get("meters"), f"{_PATH}.meters")):
            where = f"{_PATH}.meters[{n}]"
            meter_id = text(meter, "meterId", where)
            direction = meter.get("direction")
            if direction not in ("import", "export"):
                raise bad(f"{where}.direction", "expected import or export")
            cells = await self._series(meter_id, direction, start, step, count, where)
            performance.append(_performance(meter_id, direction, start, duration, cells))
        log.info("meter_data_served", reader=req.sender, meters=len(performance), intervals=count)
        return {
            "contract": {
                "id": text(contract, "id", "message.contract"),
                "status": {"code": "COMPLETED"},
                "performance": performance,
            }
        }

    async def _series(
        self, meter: str, direction: str, start: datetime, step: timedelta, count: int, at: str
    ) -> list[IntervalActual]:
        assert self._meter_data is not None, "start() the meter-data BPP first"
        end = start + count * step
        try:
            readings = await self._meter_data.readings(meter, start, end, direction)
        except AdapterError as exc:
            where = f"{at}.meterId" if exc.path == "meter" else f"{at} ({exc.path})"
            raise AdapterError(exc.code, exc.message, path=where) from None
        return [on_grid(readings, start + k * step, start + (k + 1) * step) for k in range(count)]


def _performance(
    meter: str, direction: str, start: datetime, duration: str, cells: Sequence[IntervalActual]
) -> dict[str, Any]:
    rows = []
    for n, cell in enumerate(cells):
        row: dict[str, Any] = {"id": n, "wh": cell.wh, "quality": cell.quality}
        if cell.missing_parts:
            row["missingParts"] = cell.missing_parts
        rows.append(row)
    return {
        "id": f"{meter}/{direction}",
        "performanceAttributes": {
            "@type": "MeterData",
            "meterId": meter,
            "direction": direction,
            "unit": "WH",
            "start": rfc3339(start),
            "duration": duration,
            "intervals": rows,
        },
    }
