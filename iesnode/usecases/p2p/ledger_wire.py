"""Wire forms of ledger values: kWh decimal strings, INR prices, UTC timestamps, field reads.

The DEG ledger API (``research/energy-domain.md`` §2.2, "Ledger API") carries quantities
in the trade unit (kWh) and times as RFC 3339. Inside iesnode quantities are integer Wh
and prices integer paise, so this module converts exactly through :class:`~decimal.Decimal`:
a wire value that is not a whole number of Wh (or paise) is refused rather than
rounded. Written values are decimal *strings* (``"7.5"``, ``"12.50"``) so that any JSON
encoder can emit them without floats; numbers are accepted when reading.
Every refusal is a ``LEDGER_BAD_INPUT`` :class:`~.ledger_types.LedgerError` naming the
field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from iesnode.usecases.p2p.ledger_types import (
    LEDGER_BAD_INPUT,
    WIRE_LIMIT,
    LedgerError,
    MetricType,
    TradeDetail,
    TradeType,
    TradeUnit,
    ValidationMetric,
    bad_input,
)

__all__ = [
    "aware_utc",
    "format_kwh",
    "format_rupees",
    "format_time",
    "parse_details",
    "parse_metrics",
    "parse_milli",
    "parse_time",
    "require_text",
    "within",
]

_TOO_LARGE = Decimal(WIRE_LIMIT)


def within(prefix: str, error: LedgerError) -> LedgerError:
    """``error`` with ``prefix`` put in front of its path (``tradeDetails[0].`` + ``tradeQty``)."""
    if error.code != LEDGER_BAD_INPUT:
        return error
    path = prefix if not error.path else f"{prefix}.{error.path}"
    return LedgerError(error.code, error.message, path=path)


def format_kwh(milli: int) -> str:
    """Thousandths as a plain decimal string without trailing zeros: 7500 -> ``"7.5"``."""
    text = f"{Decimal(milli).scaleb(-3):.3f}"
    return text.rstrip("0").rstrip(".")


def format_rupees(paise: int) -> str:
    """Paise as rupees with two places: 43715 -> ``"437.15"``, -5 -> ``"-0.05"``."""
    return f"{Decimal(paise).scaleb(-2):.2f}"


def _decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise bad_input(path, f"expected a decimal number, not {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad_input(path, f"not a decimal number: {value!r}") from None
    if not number.is_finite() or abs(number) >= _TOO_LARGE:
        raise bad_input(path, f"not a finite number below 10^15: {value!r}")
    return number


def parse_milli(value: object, path: str, *, places: int = 3) -> int:
    """A decimal in the unit as an integer of ``10**-places`` units; refuses finer values."""
    scaled = _decimal(value, path).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise bad_input(path, f"{value!r} has more than {places} decimal places")
    return int(scaled)


def aware_utc(value: object, path: str) -> datetime:
    """An aware datetime converted to UTC; naive or non-datetime values are refused."""
    if not isinstance(value, datetime):
        raise bad_input(path, f"expected a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise bad_input(path, "datetime must carry a time zone (naive datetimes are refused)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise bad_input(path, "the time in UTC lies outside the years 1 to 9999") from None


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: ``2026-04-26T04:30:00Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: object, path: str) -> datetime:
    """An RFC 3339 string with an offset (or ``Z``) as an aware UTC datetime."""
    if not isinstance(value, str):
        raise bad_input(path, f"expected an RFC 3339 string, not {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_input(path, f"not an RFC 3339 time: {value!r}") from None
    return aware_utc(parsed, path)


def require_text(doc: Mapping[str, Any], name: str, prefix: str = "") -> str:
    """``doc[name]`` as a non-empty string."""
    value = doc.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_input(prefix + name, f"{name} must be a non-empty string")
    return value


def _items(doc: Mapping[str, Any], name: str, *, required: bool) -> list[Mapping[str, Any]]:
    value = doc.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise bad_input(name, f"{name} must be a {'non-empty ' if required else ''}list")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise bad_input(f"{name}[{index}]", "expected an object")
    return value


def parse_details(doc: Mapping[str, Any]) -> tuple[TradeDetail, ...]:
    """``tradeDetails[]`` (``{tradeQty, tradeType, tradeUnit}``, type/unit default ENERGY/KWH)."""
    details = []
    for index, item in enumerate(_items(doc, "tradeDetails", required=True)):
        try:
            details.append(
                TradeDetail(
                    trade_qty_wh=parse_milli(item.get("tradeQty"), "tradeQty"),
                    trade_type=item.get("tradeType", TradeType.ENERGY),
                    trade_unit=item.get("tradeUnit", TradeUnit.KWH),
                )
            )
        except LedgerError as error:
            raise within(f"tradeDetails[{index}]", error) from None
    return tuple(details)


def parse_metrics(doc: Mapping[str, Any], name: str) -> tuple[ValidationMetric, ...]:
    """The ``{validationMetricType, validationMetricValue}`` list ``doc[name]`` (may be absent)."""
    metrics = []
    for index, item in enumerate(_items(doc, name, required=False)):
        prefix = f"{name}[{index}]"
        try:
            kind = MetricType(str(item.get("validationMetricType")))
        except ValueError:
            raise bad_input(f"{prefix}.validationMetricType", "unknown metric type") from None
        try:
            value = parse_milli(item.get("validationMetricValue"), "validationMetricValue")
            metrics.append(ValidationMetric(metric_type=kind, value_wh=value))
        except LedgerError as error:
            raise within(prefix, error) from None
    return tuple(metrics)
