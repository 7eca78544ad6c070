"""A DISCOM ledger provider's daily allocation: actuals in, allocations recorded, money out.

The rounds of the DEG allocation note (``research/energy-domain.md`` §2.2, "Allocation
and settlement math"; ``allocation.py`` does the arithmetic):

1. **seller side** - for the trades whose seller it serves, the DISCOM pulls the export
   actuals of the seller meters, shares each meter interval pro rata over its trades
   (a curtailed trade competes only for what the grid let through, its ``AVAILABILITY``)
   and records ``ACTUAL_PUSHED`` (status ``COMPLETED`` unless curtailed);
2. **buyer side** - for the trades whose buyer it serves, it takes the seller side's
   allocation (from its own ledger, or from the seller DISCOM's ledger provider by
   ``status``, mirrored into its own ledger with the verified sender as writer), pulls
   the import actuals and shares them over those allocations: ``ACTUAL_PULLED``;
3. **settle** - it mirrors the buyer side of trades it sold, then every trade with both
   sides gets ``FINAL_ALLOC = min`` and its revenue flows (``settlement.py``).

An interval with no metered value is never invented: its trades are left unrecorded and
reported with the reason. Every round can run again (a repeat records nothing new).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

import structlog

from iesnode.adapters.base import Direction
from iesnode.errors import BusinessError, IesError
from iesnode.interfaces import Clock
from iesnode.usecases.p2p.allocation import Allocation, TradeKey, allocate_side
from iesnode.usecases.p2p.ledger import (
    Side,
    TradeLedger,
    TradeRecord,
    TradeStatus,
    ValidationMetric,
)
from iesnode.usecases.p2p.ledger_view import ALLOC_METRIC, allocated_wh, available_wh
from iesnode.usecases.p2p.meter_bpp import MeterSeries
from iesnode.usecases.p2p.settlement import RevenueFlow, SettlementTerms, settle

__all__ = [
    "AllocationRun",
    "DayReport",
    "FetchActuals",
    "FetchCounterpart",
    "MeterWindow",
    "TradeOutcome",
    "run_daily",
]

log = structlog.get_logger(__name__)

MeterWindow = tuple[str, Direction, datetime, datetime]
"""A meter, a direction and the window ``[start, end)`` of actuals wanted."""
FetchActuals = Callable[[Sequence[MeterWindow]], Awaitable[dict[str, MeterSeries | str]]]
"""Meter windows -> ``meter/direction`` -> its series, or why it could not be read."""
FetchCounterpart = Callable[[str, str], Awaitable[list[TradeRecord] | str]]
"""(counterpart DISCOM, transaction id) -> its ledger's records, or why they are unavailable."""

_OPEN = frozenset({TradeStatus.PENDING, TradeStatus.CONFIRMED})
_DIRECTION: dict[Side, Direction] = {"seller": "export", "buyer": "import"}


@dataclass(frozen=True, slots=True)
class TradeOutcome:
    """One trade after the run: both allocations (None until recorded), flows and flags."""

    record: TradeRecord
    allocation: Allocation | None
    flows: tuple[RevenueFlow, ...]
    flags: tuple[str, ...]

    @property
    def key(self) -> TradeKey:
        """``(transaction_id, order_item_id)``."""
        return (self.record.transaction_id, self.record.order_item_id)


@dataclass(frozen=True, slots=True)
class DayReport:
    """What one ledger provider allocated and settled for one delivery window."""

    discom_id: str
    start: datetime
    end: datetime
    trades: tuple[TradeOutcome, ...]
    flags: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        """Every settled trade's flows sum to exactly zero."""
        return all(sum(f.amount_paise for f in t.flows) == 0 for t in self.trades)


@dataclass
class AllocationRun:
    """One DISCOM's rounds over the trades delivered in ``[start, end)``."""

    discom_id: str
    ledger: TradeLedger
    start: datetime
    end: datetime
    fetch_actuals: FetchActuals
    fetch_counterpart: FetchCounterpart
    terms_for: Callable[[TradeRecord], SettlementTerms]
    flags: list[str] = field(default_factory=list)
    _trade_flags: dict[TradeKey, list[str]] = field(default_factory=dict)

    async def trades(self) -> list[TradeRecord]:
        """The window's trades this DISCOM serves, as its ledger holds them now."""
        return await self.ledger.get(
            reader=self.discom_id,
            discom_id=self.discom_id,
            delivery_from=self.start,
            delivery_to=self.end,
        )

    def _flag(self, trade: TradeRecord, why: str) -> None:
        found = self._trade_flags.setdefault((trade.transaction_id, trade.order_item_id), [])
        if why not in found:
            found.append(why)

    async def seller_side(self) -> None:
        """Round 1: share export actuals over the trades this DISCOM sells for."""
        mine = [t for t in await self.trades() if t.discom_id_seller == self.discom_id]
        caps = {(t.transaction_id, t.order_item_id): available_wh(t) for t in mine}
        await self._side("seller", mine, caps)

    async def buyer_side(self) -> None:
        """Round 2: share import actuals over the seller side's allocations."""
        mine = [t for t in await self.trades() if t.discom_id_buyer == self.discom_id]
        await self._mirror(mine, "seller")
        caps: dict[TradeKey, int] = {}
        ready = []
        for trade in [t for t in await self.trades() if t.discom_id_buyer == self.discom_id]:
            seller = allocated_wh(trade, "seller")
            if seller is None:
                self._flag(trade, "the seller DISCOM has not allocated this trade yet")
                continue
            caps[(trade.transaction_id, trade.order_item_id)] = seller
            ready.append(trade)
        await self._side("buyer", ready, caps)

    async def settle(self) -> DayReport:
        """Round 3: mirror the buyer side of trades sold here, then settle what is complete."""
        await self._mirror(
            [t for t in await self.trades() if t.discom_id_seller == self.discom_id], "buyer"
        )
        outcomes = []
        for trade in await self.trades():
            seller, buyer = allocated_wh(trade, "seller"), allocated_wh(trade, "buyer")
            allocation = None
            flows: tuple[RevenueFlow, ...] = ()
            if seller is not None and buyer is not None:
                try:
                    allocation = Allocation.of(available_wh(trade), seller, buyer)
                    flows = tuple(settle(trade, allocation, self.terms_for(trade)))
                except BusinessError as exc:
                    self._flag(trade, f"not settled: {exc.code} {exc.message}")
                    allocation, flows = None, ()
            key = (trade.transaction_id, trade.order_item_id)
            outcomes.append(
                TradeOutcome(trade, allocation, flows, tuple(self._trade_flags.get(key, ())))
            )
        log.info("allocation_settled", discom=self.discom_id, trades=len(outcomes))
        return DayReport(self.discom_id, self.start, self.end, tuple(outcomes), tuple(self.flags))

    async def _side(self, side: Side, trades: list[TradeRecord], caps: dict[TradeKey, int]) -> None:
        live = [t for t in trades if t.status_of(side) not in _CLOSED_BY_DISCOM]
        direction = _DIRECTION[side]
        spans: dict[str, tuple[datetime, datetime]] = {}
        for trade in live:
            meter = trade.seller_id if side == "seller" else trade.buyer_id
            begin, end = spans.get(meter, (trade.delivery_start, trade.delivery_end))
            spans[meter] = (min(begin, trade.delivery_start), max(end, trade.delivery_end))
        meters = sorted(spans)
        windows = [(m, direction, *spans[m]) for m in meters]
        found = await self.fetch_actuals(windows) if windows else {}
        readings: dict[tuple[str, datetime], int] = {}
        for meter in meters:
            series = found.get(f"{meter}/{direction}")
            if isinstance(series, str) or series is None:
                self.flags.append(f"{meter} {direction}: {series or 'no answer'}")
                continue
            for interval in series.flagged():
                local = interval.start.astimezone(self.start.tzinfo).isoformat()
                self.flags.append(f"{meter} {direction} {local}: {interval.quality}")
            readings.update({(meter, start): wh for start, wh in series.known().items()})
        ready = []
        for trade in live:
            meter = trade.seller_id if side == "seller" else trade.buyer_id
            if (meter, trade.delivery_start) not in readings:
                self._flag(trade, f"no {direction} actual for {meter}: not allocated")
            else:
                ready.append(trade)
        shares = allocate_side(ready, readings, side, caps=caps)
        for trade in ready:
            await self._record(trade, side, shares[(trade.transaction_id, trade.order_item_id)])

    async def _record(self, trade: TradeRecord, side: Side, wh: int) -> None:
        status = TradeStatus.COMPLETED if trade.status_of(side) in _OPEN else None
        metric = ValidationMetric(ALLOC_METRIC[side], wh)
        try:
            await self.ledger.record(
                trade.transaction_id,
                trade.order_item_id,
                writer=self.discom_id,
                metrics=[metric],
                status=status,
                side=side,
            )
        except BusinessError as exc:
            self._flag(trade, f"{side} side not recorded: {exc.code} {exc.message}")

    async def _mirror(self, trades: Sequence[TradeRecord], side: Side) -> None:
        """Copy ``side`` of trades served by another DISCOM from that DISCOM's ledger."""
        wanted: dict[tuple[str, str], list[TradeRecord]] = {}
        for trade in trades:
            owner = trade.discom_id_seller if side == "seller" else trade.discom_id_buyer
            if owner != self.discom_id and allocated_wh(trade, side) is None:
                wanted.setdefault((owner, trade.transaction_id), []).append(trade)
        for (owner, transaction_id), ours in wanted.items():
            theirs = await self.fetch_counterpart(owner, transaction_id)
            if isinstance(theirs, str):
                for trade in ours:
                    self._flag(trade, f"{owner} ledger: {theirs}")
                continue
            by_item = {r.order_item_id: r for r in theirs}
            for trade in ours:
                other = by_item.get(trade.order_item_id)
                if other is None or allocated_wh(other, side) is None:
                    self._flag(trade, f"{owner} has not recorded the {side} side yet")
                    continue
                try:
                    await self.ledger.record(
                        trade.transaction_id,
                        trade.order_item_id,
                        writer=owner,
                        metrics=other.metrics_of(side),
                        status=other.status_of(side),
                        side=side,
                    )
                except BusinessError as exc:
                    self._flag(trade, f"{side} side from {owner} refused: {exc.code}")


_CLOSED_BY_DISCOM = frozenset({TradeStatus.CANCELLED_OUTAGE, TradeStatus.CANCELLED_POL_VIOLATION})


async def run_daily(
    make_run: Callable[[date], AllocationRun],
    clock: Clock,
    *,
    at: time,
    zone: tzinfo,
    gap: timedelta,
) -> None:
    """Every day at ``at`` (local): the rounds over the previous day, ``gap`` apart.

    Runs until cancelled; a failed run is logged and the next day runs as usual.
    """
    while True:
        now = datetime.fromtimestamp(clock.now(), zone)
        due = datetime.combine(now.date(), at, zone)
        if due <= now:
            due += timedelta(days=1)
        await asyncio.sleep((due - now).total_seconds())
        run = make_run(due.date() - timedelta(days=1))
        try:
            await run.seller_side()
            await asyncio.sleep(gap.total_seconds())
            await run.buyer_side()
            await asyncio.sleep(gap.total_seconds())
            report = await run.settle()
        except IesError as exc:
            log.error("allocation_failed", day=str(due.date()), error=str(exc))
            continue
        settled = sum(1 for t in report.trades if t.allocation is not None)
        log.info("allocation_day_done", trades=len(report.trades), settled=settled)
