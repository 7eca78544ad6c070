"""Numbers, times and ``TimeSeries`` blocks of the DEG wave-2 P2P messages.

A commitment's ``commitmentAttributes`` (and an offer's ``inputs``) is a Beckn
``TimeSeries``: ``intervalPeriod {start, duration}``, ``payloadDescriptors[]`` and
``intervals[] {id, payloads[] {type, values[]}}`` (``research/energy-domain.md`` §2.2,
"Contract shape"). Interval ``n`` covers ``[start + n·duration, start + (n+1)·duration)``.

Quantities travel as JSON numbers in kWh and prices in INR per kWh, as the DEG examples
and the network policy pack read them; inside iesnode they are integer Wh and paise,
converted exactly through :class:`~decimal.Decimal` (a value finer than 1 Wh or 1 paisa
is refused, never rounded, and so is one of 10^15 units or more, which the ledger could not
store). Times and windows must lie within the calendar (years 1 to 9999). Every refusal is
a ``P2P_BAD_MESSAGE`` :class:`~iesnode.errors.BusinessError` naming the JSON path. (Text
UTF-8 cannot carry, a lone surrogate escape, never gets here: the node refuses it at the
edge, :mod:`iesnode.protocol.ijson`.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from iesnode.errors import BusinessError
from iesnode.protocol.duration import parse_duration

__all__ = [
    "P2P_BAD_MESSAGE",
    "TIME_SERIES_CONTEXT",
    "Row",
    "Series",
    "bad",
    "items",
    "json_number",
    "mapping",
    "read_duration",
    "read_paise",
    "read_time",
    "read_wh",
    "rfc3339",
    "text",
    "window_end",
]

P2P_BAD_MESSAGE: Final = "P2P_BAD_MESSAGE"
TIME_SERIES_CONTEXT: Final = "https://schema.nfh.global/BecknTimeSeries/v1.0/context.jsonld"
_TOO_LARGE: Final = Decimal(10) ** 15
"""Quantities and prices are below 10^15 of their unit (the ledger's wire limit)."""


def bad(path: str, message: str) -> BusinessError:
    """A ``P2P_BAD_MESSAGE`` error for the field at ``path``."""
    return BusinessError(P2P_BAD_MESSAGE, f"{path}: {message}", path=path)


def json_number(milli: int) -> int | float:
    """Thousandths (Wh, or paise·10) as a JSON number of the unit: 7500 -> 7.5, 3000 -> 3.

    The float is only a carrier for the JSON text; its shortest repr is the exact decimal.
    """
    value = Decimal(milli).scaleb(-3)
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad(path, f"expected a number, got {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad(path, f"not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise bad(path, f"not a non-negative number: {value!r}")
    if number >= _TOO_LARGE:
        raise bad(path, f"not a number below 10^15: {value!r}")
    return number


def _scaled(value: object, places: int, path: str, unit: str) -> int:
    scaled = _decimal(value, path).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise bad(path, f"{value!r} is finer than one {unit}")
    return int(scaled)


def read_wh(value: object, path: str) -> int:
    """A kWh number as integer Wh."""
    return _scaled(value, 3, path, "Wh")


def read_paise(value: object, path: str) -> int:
    """An INR amount (or INR per kWh) as integer paise."""
    return _scaled(value, 2, path, "paisa")


def rfc3339(moment: datetime) -> str:
    """``2026-05-15T04:30:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def read_time(value: object, path: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as an aware UTC datetime."""
    if not isinstance(value, str):
        raise bad(path, "expected an RFC 3339 timestamp")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad(path, f"not an RFC 3339 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise bad(path, "the timestamp has no UTC offset")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise bad(path, f"{value!r} is outside the years 1 to 9999 in UTC") from None


def read_duration(doc: Mapping[str, Any], key: str, path: str) -> tuple[str, timedelta]:
    """``doc[key]`` as an ISO 8601 duration and its positive length."""
    text_value = text(doc, key, path)
    try:
        step = timedelta(seconds=parse_duration(text_value))
    except ValueError as exc:
        raise bad(f"{path}.{key}", str(exc)) from None
    except OverflowError:
        raise bad(f"{path}.{key}", f"{text_value!r} is longer than the calendar") from None
    if step <= timedelta(0):
        raise bad(f"{path}.{key}", "the interval length must be positive")
    return text_value, step


def window_end(start: datetime, steps: int, step: timedelta, path: str) -> datetime:
    """``start + steps·step``; ``P2P_BAD_MESSAGE`` at ``path`` past the year 9999."""
    try:
        return start + steps * step
    except OverflowError:
        raise bad(path, "the window ends after the year 9999") from None


def mapping(value: object, path: str) -> Mapping[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, Mapping):
        raise bad(path, "expected an object")
    return value


def items(value: object, path: str, *, required: bool = True) -> list[Mapping[str, Any]]:
    """``value`` as a list of JSON objects (non-empty when ``required``)."""
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise bad(path, "expected a non-empty list" if required else "expected a list")
    return [mapping(item, f"{path}[{index}]") for index, item in enumerate(value)]


def text(doc: Mapping[str, Any], key: str, path: str) -> str:
    """``doc[key]`` as a non-empty string."""
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{path}.{key}", "expected a non-empty string")
    return value


@dataclass(frozen=True, slots=True)
class Row:
    """One interval of a series: its id, window and payload values by type."""

    interval_id: int
    start: datetime
    end: datetime
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Series:
    """A ``TimeSeries``: descriptors by payload type and the interval rows."""

    duration: str
    descriptors: Mapping[str, Mapping[str, str]]
    rows: tuple[Row, ...]

    @property
    def step(self) -> timedelta:
        """The interval length."""
        return timedelta(seconds=parse_duration(self.duration))

    def to_wire(self) -> dict[str, Any]:
        """The ``TimeSeries`` object; interval ids count steps from the first row's start."""
        if not self.rows:
            raise ValueError("a time series needs at least one interval")
        first = min(row.start for row in self.rows)
        intervals = [
            {
                "id": row.interval_id,
                "payloads": [
                    {"type": kind, "values": [value]} for kind, value in row.values.items()
                ],
            }
            for row in self.rows
        ]
        return {
            "@context": TIME_SERIES_CONTEXT,
            "@type": "TimeSeries",
            "intervalPeriod": {"start": rfc3339(first), "duration": self.duration},
            "payloadDescriptors": [
                {"payloadType": kind, **extra} for kind, extra in self.descriptors.items()
            ],
            "intervals": intervals,
        }

    @classmethod
    def build(
        cls,
        duration: str,
        descriptors: Mapping[str, Mapping[str, str]],
        windows: Sequence[tuple[datetime, Mapping[str, object]]],
    ) -> Series:
        """A series over ``(start, values)`` windows; ids are steps from the earliest start."""
        step = timedelta(seconds=parse_duration(duration))
        first = min(start for start, _ in windows)
        rows = []
        for start, values in sorted(windows, key=lambda w: w[0]):
            steps, rest = divmod(start - first, step)
            if rest:
                raise ValueError(f"{start.isoformat()} is not on the {duration} grid")
            rows.append(Row(steps, start, start + step, dict(values)))
        return cls(duration, dict(descriptors), tuple(rows))

    @classmethod
    def from_wire(cls, value: object, path: str) -> Series:
        """Read a ``TimeSeries`` (``@type`` checked, interval ids whole non-negative steps)."""
        doc = mapping(value, path)
        if doc.get("@type") != "TimeSeries":
            raise bad(f"{path}.@type", "expected a TimeSeries")
        period = mapping(doc.get("intervalPeriod"), f"{path}.intervalPeriod")
        start = read_time(period.get("start"), f"{path}.intervalPeriod.start")
        duration, step = read_duration(period, "duration", f"{path}.intervalPeriod")
        window_end(start, 1, step, f"{path}.intervalPeriod")
        descriptors: dict[str, Mapping[str, str]] = {}
        for index, item in enumerate(
            items(doc.get("payloadDescriptors"), f"{path}.payloadDescriptors")
        ):
            kind = text(item, "payloadType", f"{path}.payloadDescriptors[{index}]")
            descriptors[kind] = {k: v for k, v in item.items() if k != "payloadType"}
        rows = []
        seen: set[int] = set()
        for index, item in enumerate(items(doc.get("intervals"), f"{path}.intervals")):
            where = f"{path}.intervals[{index}]"
            number = item.get("id")
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise bad(f"{where}.id", "an interval id is a whole number of steps >= 0")
            if number in seen:
                raise bad(f"{where}.id", f"interval {number} appears twice")
            seen.add(number)
            values: dict[str, object] = {}
            for n, payload in enumerate(items(item.get("payloads"), f"{where}.payloads")):
                kind = text(payload, "type", f"{where}.payloads[{n}]")
                found = payload.get("values")
                if not isinstance(found, list) or len(found) != 1:
                    raise bad(f"{where}.payloads[{n}].values", "expected exactly one value")
                if kind not in descriptors:
                    raise bad(f"{where}.payloads[{n}].type", f"{kind} is not declared")
                values[kind] = found[0]
            begin = window_end(start, number, step, f"{where}.id")
            rows.append(Row(number, begin, window_end(begin, 1, step, f"{where}.id"), values))
        return cls(duration, descriptors, tuple(sorted(rows, key=lambda r: r.interval_id)))
