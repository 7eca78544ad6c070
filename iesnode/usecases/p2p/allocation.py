"""Pro-rata allocation of metered energy to P2P trades, in integer Wh.

From the DEG note on allocation and settlement logic, as summarised in
``research/energy-domain.md`` §2.2 ("Allocation and settlement math") and §5.4 (rollout
rules: seller DISCOM first, then buyer DISCOM, then reconcile):

* per utility, the trades of one meter in one delivery interval share what the meter
  measured: ``a_k = tr_k · min(1, meter / Σ tr)``;
* the seller side runs first, on the requested quantities and the export readings; the
  buyer side then shares the import readings over what the seller side allocated (energy
  that was never delivered is not competed for);
* the settled quantity is ``FINAL_ALLOC = min(buyer allocation, seller allocation)``.

Rounding to whole Wh uses the largest-remainder method: each trade gets the floor of its
exact share, and the Wh left over go one each to the largest remainders (ties to the
earlier trade by transaction and order item id). So ``Σ a_k`` equals the meter reading
when it falls short and never exceeds it, and every ``a_k ≤ tr_k``.

A trade's interval is its ``delivery_start``; readings are keyed ``(meter, interval
start)`` and hold the energy over the trade's delivery window. Trades a DISCOM cancelled
(``CANCELLED_*`` on either side) take no energy and get no allocation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol

from iesnode.errors import BusinessError
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_types import TradeStatus
from iesnode.usecases.p2p.ledger_wire import format_kwh

__all__ = [
    "ALLOC_BAD_INPUT",
    "ALLOC_MISSING_READING",
    "AllocatableTrade",
    "Allocation",
    "AllocationError",
    "MeterInterval",
    "TradeKey",
    "allocate",
    "allocate_side",
    "pro_rata",
]

ALLOC_MISSING_READING: Final = "ALLOC_MISSING_READING"
ALLOC_BAD_INPUT: Final = "ALLOC_BAD_INPUT"

MeterInterval = tuple[str, datetime]
"""``(meter id, interval start)``: the key of a reading."""
TradeKey = tuple[str, str]
"""``(transaction_id, order_item_id)``."""

_CANCELLED: Final = frozenset({TradeStatus.CANCELLED_OUTAGE, TradeStatus.CANCELLED_POL_VIOLATION})


class AllocationError(BusinessError):
    """Allocation cannot run: a reading is missing (never invented) or an input is invalid."""

    def __init__(self, code: str, message: str, *, path: str | None = None) -> None:
        super().__init__(code, message, path=path)


class AllocatableTrade(Protocol):
    """What allocation needs of a trade (a :class:`~.ledger.TradeRecord` or ``TradeInput``)."""

    @property
    def transaction_id(self) -> str: ...
    @property
    def order_item_id(self) -> str: ...
    @property
    def buyer_id(self) -> str: ...
    @property
    def seller_id(self) -> str: ...
    @property
    def delivery_start(self) -> datetime: ...
    @property
    def requested_wh(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Allocation:
    """One trade's allocations in Wh; ``final_alloc_wh ≤ min(seller, buyer) ≤ requested``."""

    requested_wh: int
    seller_alloc_wh: int
    buyer_alloc_wh: int
    final_alloc_wh: int

    def __post_init__(self) -> None:
        values = (self.requested_wh, self.seller_alloc_wh, self.buyer_alloc_wh)
        if min(*values, self.final_alloc_wh) < 0:
            raise AllocationError(ALLOC_BAD_INPUT, "allocations cannot be negative")
        if max(self.seller_alloc_wh, self.buyer_alloc_wh) > self.requested_wh:
            raise AllocationError(ALLOC_BAD_INPUT, "an allocation exceeds the requested quantity")
        if self.final_alloc_wh > min(self.seller_alloc_wh, self.buyer_alloc_wh):
            raise AllocationError(
                ALLOC_BAD_INPUT, "FINAL_ALLOC exceeds min(buyer, seller allocation)"
            )

    @classmethod
    def of(cls, requested_wh: int, seller_alloc_wh: int, buyer_alloc_wh: int) -> Allocation:
        """The allocation settled at the minimum of the two sides."""
        final = min(seller_alloc_wh, buyer_alloc_wh)
        return cls(requested_wh, seller_alloc_wh, buyer_alloc_wh, final)

    @property
    def shortfall_wh(self) -> int:
        """``(REQUESTED - FINAL)⁺``: what the trade did not deliver."""
        return max(0, self.requested_wh - self.final_alloc_wh)

    def payloads(self) -> dict[str, str]:
        """The DEG time-series columns in kWh: ``REQUESTED_QTY`` ... ``FINAL_ALLOC``."""
        return {
            "REQUESTED_QTY": format_kwh(self.requested_wh),
            "SELLER_DISCOM_ALLOC": format_kwh(self.seller_alloc_wh),
            "BUYER_DISCOM_ALLOC": format_kwh(self.buyer_alloc_wh),
            "FINAL_ALLOC": format_kwh(self.final_alloc_wh),
        }


def pro_rata(requests: Sequence[int], available_wh: int) -> list[int]:
    """Share ``available_wh`` over ``requests`` pro rata, by largest remainder (see module)."""
    if available_wh < 0 or any(request < 0 for request in requests):
        raise AllocationError(ALLOC_BAD_INPUT, "quantities cannot be negative")
    total = sum(requests)
    if available_wh >= total:
        return list(requests)
    shares = [divmod(request * available_wh, total) for request in requests]
    result = [whole for whole, _ in shares]
    left = available_wh - sum(result)
    by_remainder = sorted(range(len(shares)), key=lambda index: (-shares[index][1], index))
    for index in by_remainder[:left]:
        result[index] += 1
    return result


def allocate_side(
    trades: Sequence[AllocatableTrade],
    actual_wh: Mapping[MeterInterval, int],
    side: Literal["seller", "buyer"],
    *,
    caps: Mapping[TradeKey, int] | None = None,
) -> dict[TradeKey, int]:
    """One utility round: share each ``(meter, interval)`` reading over its trades.

    ``side`` picks the meter (``seller_id`` with export readings, ``buyer_id`` with
    import readings); ``caps`` replaces a trade's requested quantity (the buyer round
    passes the seller allocations). A missing reading is ``ALLOC_MISSING_READING``.
    """
    groups: dict[MeterInterval, list[AllocatableTrade]] = defaultdict(list)
    for trade in _live(trades):
        meter = trade.seller_id if side == "seller" else trade.buyer_id
        groups[(meter, trade.delivery_start)].append(trade)
    result: dict[TradeKey, int] = {}
    for (meter, start), members in groups.items():
        if (meter, start) not in actual_wh:
            raise AllocationError(
                ALLOC_MISSING_READING,
                f"no {side} reading for meter {meter} at {start.isoformat()}",
                path=f"{side}:{meter}@{start.isoformat()}",
            )
        keys = [_key(trade) for trade in members]
        wanted = [trade.requested_wh if caps is None else caps[_key(trade)] for trade in members]
        for key, share in zip(keys, pro_rata(wanted, actual_wh[(meter, start)]), strict=True):
            result[key] = share
    return result


def allocate(
    trades: Sequence[AllocatableTrade],
    actual_export_wh: Mapping[MeterInterval, int],
    actual_import_wh: Mapping[MeterInterval, int],
) -> dict[TradeKey, Allocation]:
    """Seller round on export readings, buyer round on import readings, then the minimum."""
    live = _live(trades)
    seller = allocate_side(live, actual_export_wh, "seller")
    buyer = allocate_side(live, actual_import_wh, "buyer", caps=seller)
    return {
        _key(trade): Allocation.of(trade.requested_wh, seller[_key(trade)], buyer[_key(trade)])
        for trade in live
    }


def _key(trade: AllocatableTrade) -> TradeKey:
    return (trade.transaction_id, trade.order_item_id)


def _live(trades: Sequence[AllocatableTrade]) -> list[AllocatableTrade]:
    """The trades not cancelled, in key order (the tie-break order); duplicates refused."""
    seen: set[TradeKey] = set()
    live = []
    for trade in trades:
        key = _key(trade)
        if key in seen:
            raise AllocationError(ALLOC_BAD_INPUT, f"trade {key} is given twice", path=key[0])
        seen.add(key)
        if isinstance(trade, TradeRecord) and (
            trade.status_buyer_discom in _CANCELLED or trade.status_seller_discom in _CANCELLED
        ):
            continue
        live.append(trade)
    return sorted(live, key=_key)
