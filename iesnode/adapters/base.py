"""The adapter seam: what a legacy CIS or MDM system looks like to the node.

A BPP handler asks a :class:`CustomerInformation` for consumers and a :class:`MeterData`
for interval readings; an adapter (CSV files, an HTTP API, a database) implements one or
both. Quantities are integer watts and watt-hours, never floats. Every failure is an
:class:`AdapterError`, a :class:`~iesnode.errors.BusinessError` a handler may let
through so the BAP gets an error callback naming the field, row or column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from iesnode.errors import BusinessError

__all__ = [
    "ADP_BAD_DATA",
    "ADP_UNAVAILABLE",
    "ADP_UNKNOWN_CONSUMER",
    "ADP_UNKNOWN_METER",
    "AdapterError",
    "Consumer",
    "CustomerInformation",
    "Direction",
    "MeterData",
    "Quality",
    "Reading",
]

ADP_UNAVAILABLE = "ADP_UNAVAILABLE"
ADP_UNKNOWN_METER = "ADP_UNKNOWN_METER"
ADP_UNKNOWN_CONSUMER = "ADP_UNKNOWN_CONSUMER"
ADP_BAD_DATA = "ADP_BAD_DATA"

_LEGACY_CODES = {
    ADP_UNAVAILABLE: "31002",
    ADP_UNKNOWN_METER: "30004",
    ADP_UNKNOWN_CONSUMER: "30004",
    ADP_BAD_DATA: "31001",
}

Direction = Literal["import", "export"]
Quality = Literal["actual", "estimated", "missing"]


class AdapterError(BusinessError):
    """A legacy system could not answer: down, unknown meter/consumer, or malformed data.

    ``code`` is one of ``ADP_UNAVAILABLE`` (legacy ``31002``), ``ADP_UNKNOWN_METER`` /
    ``ADP_UNKNOWN_CONSUMER`` (``30004``) or ``ADP_BAD_DATA`` (``31001``); ``path`` names the
    field, or ``file:line:column`` for a malformed row.
    """

    def __init__(self, code: str, message: str, *, path: str) -> None:
        if code not in _LEGACY_CODES:
            raise ValueError(f"unknown adapter error code {code!r}")
        super().__init__(code, message, path=path, legacy_code=_LEGACY_CODES[code])


@dataclass(frozen=True, slots=True)
class Consumer:
    """One CIS consumer: legacy numbers kept verbatim, plus the common reference if mapped."""

    consumer_id: str
    connection_id: str
    sanctioned_load_w: int
    tariff_category: str
    meters: tuple[str, ...]
    reference: str | None


@dataclass(frozen=True, slots=True)
class Reading:
    """One interval ``[start, end)``; ``wh`` is None exactly when ``quality`` is ``missing``."""

    meter: str
    start: datetime
    end: datetime
    wh: int | None
    direction: Direction
    obis: str | None
    quality: Quality


@runtime_checkable
class CustomerInformation(Protocol):
    """A customer information system (CIS): consumers by number or by meter."""

    async def consumer(self, consumer_id: str) -> Consumer:
        """The consumer, or ``AdapterError(ADP_UNKNOWN_CONSUMER)``."""
        ...

    async def consumer_by_meter(self, meter: str) -> Consumer:
        """The consumer the meter is installed for, or ``AdapterError(ADP_UNKNOWN_METER)``."""
        ...


@runtime_checkable
class MeterData(Protocol):
    """A meter data management system (MDM): interval readings of one meter."""

    async def readings(
        self, meter: str, start: datetime, end: datetime, direction: str = "import"
    ) -> list[Reading]:
        """Readings covering ``[start, end)`` in order; gaps come back as ``missing``."""
        ...
