"""Vocabulary of the DEG trade ledger: enums, the ledger error, trade details and metrics.

The enums are those of the DEG contract ledger API v0.3.0 (``deg_contract_ledger.yaml``),
as summarised in ``research/energy-domain.md`` §2.2 ("Ledger API"). Quantities are held
as integers in thousandths of the trade unit (Wh for ``KWH``, W for ``KW``); the wire
shows them in the unit itself as decimal strings (see :mod:`.ledger_wire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from iesnode.errors import BusinessError

__all__ = [
    "LEDGER_BAD_INPUT",
    "LEDGER_CONFLICT",
    "LEDGER_NOT_A_PARTY",
    "LEDGER_TAMPERED",
    "LEDGER_UNKNOWN_TRADE",
    "OPEN_STATUSES",
    "WIRE_LIMIT",
    "ChainReport",
    "LedgerError",
    "MetricType",
    "TradeDetail",
    "TradeStatus",
    "TradeType",
    "TradeUnit",
    "ValidationMetric",
]

LEDGER_NOT_A_PARTY: Final = "LEDGER_NOT_A_PARTY"
LEDGER_UNKNOWN_TRADE: Final = "LEDGER_UNKNOWN_TRADE"
LEDGER_CONFLICT: Final = "LEDGER_CONFLICT"
LEDGER_BAD_INPUT: Final = "LEDGER_BAD_INPUT"
LEDGER_TAMPERED: Final = "LEDGER_TAMPERED"
_CODES: Final = frozenset(
    {LEDGER_NOT_A_PARTY, LEDGER_UNKNOWN_TRADE, LEDGER_CONFLICT, LEDGER_BAD_INPUT, LEDGER_TAMPERED}
)
WIRE_LIMIT: Final = 10**15
"""Wire quantities (kWh) and prices (INR) are below this; a stored value must read back."""


class LedgerError(BusinessError):
    """A ledger write or read was refused; ``code`` is one of the ``LEDGER_*`` constants.

    ``path`` names the failing field in the DEG wire vocabulary (``deliveryEndTime``,
    ``tradeDetails[0].tradeQty``), the writer (``writer``) or the stored row (``rows[7]``).
    """

    def __init__(self, code: str, message: str, *, path: str | None = None) -> None:
        if code not in _CODES:
            raise ValueError(f"unknown ledger error code {code!r}")
        super().__init__(code, message, path=path)


class TradeStatus(StrEnum):
    """A DISCOM's view of a trade (``tradeStatus``)."""

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED_OUTAGE = "CANCELLED_OUTAGE"
    CANCELLED_POL_VIOLATION = "CANCELLED_POL_VIOLATION"
    CURTAILED_OUTAGE = "CURTAILED_OUTAGE"
    CURTAILED_POL_VIOLATION = "CURTAILED_POL_VIOLATION"
    COMPLETED = "COMPLETED"


OPEN_STATUSES: Final = frozenset({TradeStatus.PENDING, TradeStatus.CONFIRMED})
"""Statuses in which platforms may still change a trade."""


class TradeType(StrEnum):
    """What is traded (``tradeType``)."""

    ENERGY = "ENERGY"
    RAISE_CAPACITY = "RAISE_CAPACITY"
    LOWER_CAPACITY = "LOWER_CAPACITY"
    PFR = "PFR"
    SFR = "SFR"
    TC = "TC"
    BDR = "BDR"


class TradeUnit(StrEnum):
    """Unit of a trade quantity (``tradeUnit``)."""

    KWH = "KWH"
    KW = "KW"


class MetricType(StrEnum):
    """A fulfilment validation metric a DISCOM records (``validationMetricType``)."""

    ACTUAL_PUSHED = "ACTUAL_PUSHED"
    ACTUAL_PULLED = "ACTUAL_PULLED"
    SETPOINT_FOLLOWING_ERROR = "SETPOINT_FOLLOWING_ERROR"
    ACTUAL_RAISE_CAPACITY = "ACTUAL_RAISE_CAPACITY"
    ACTUAL_LOWER_CAPACITY = "ACTUAL_LOWER_CAPACITY"
    FREQUENCY_RESPONSE_ERROR = "FREQUENCY_RESPONSE_ERROR"
    ACTUAL_DEMAND_REDUCTION = "ACTUAL_DEMAND_REDUCTION"
    AVAILABILITY = "AVAILABILITY"


def bad_input(path: str, message: str) -> LedgerError:
    """A ``LEDGER_BAD_INPUT`` error naming the wire field ``path``."""
    return LedgerError(LEDGER_BAD_INPUT, message, path=path)


def is_int(value: object) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class TradeDetail:
    """One traded quantity: ``trade_qty_wh`` thousandths of ``trade_unit`` (Wh for KWH), > 0."""

    trade_qty_wh: int
    trade_type: TradeType = TradeType.ENERGY
    trade_unit: TradeUnit = TradeUnit.KWH

    def __post_init__(self) -> None:
        if not is_int(self.trade_qty_wh) or self.trade_qty_wh <= 0:
            raise bad_input("tradeQty", f"trade quantity must be positive, not {self.trade_qty_wh}")
        if self.trade_qty_wh >= WIRE_LIMIT * 1000:
            raise bad_input("tradeQty", f"trade quantity must be below {WIRE_LIMIT} units")
        try:
            object.__setattr__(self, "trade_type", TradeType(self.trade_type))
        except ValueError:
            raise bad_input("tradeType", f"unknown trade type {self.trade_type!r}") from None
        try:
            object.__setattr__(self, "trade_unit", TradeUnit(self.trade_unit))
        except ValueError:
            raise bad_input("tradeUnit", f"unknown trade unit {self.trade_unit!r}") from None

    @property
    def is_energy(self) -> bool:
        """True for an ``ENERGY`` quantity in ``KWH`` (what allocation counts)."""
        return self.trade_type is TradeType.ENERGY and self.trade_unit is TradeUnit.KWH


@dataclass(frozen=True, slots=True)
class ValidationMetric:
    """One metered fact a DISCOM records: ``value_wh`` thousandths of the unit (Wh), >= 0."""

    metric_type: MetricType
    value_wh: int

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "metric_type", MetricType(self.metric_type))
        except ValueError:
            raise bad_input(
                "validationMetricType", f"unknown metric type {self.metric_type!r}"
            ) from None
        if not is_int(self.value_wh) or not 0 <= self.value_wh < WIRE_LIMIT * 1000:
            raise bad_input(
                "validationMetricValue",
                f"metric value must be >= 0 and below {WIRE_LIMIT} units, not {self.value_wh}",
            )


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking the ledger's digest chain.

    ``rows`` counts the rows that checked out before the first problem (all of them when
    ``ok``); ``first_bad_row`` is the ``seq`` of the first row that failed; ``reason`` says
    why (empty when ``ok``).
    """

    ok: bool
    rows: int
    first_bad_row: int | None = None
    reason: str = ""
