"""A DISCOM's ledger provider (LP): trade writes by ``confirm``, reads by ``status``.

IES wave-2 runs one regulated ledger provider per DISCOM (``research/energy-domain.md``
§2.2, "Roles"); wave-2 replaces the ledger REST API with Beckn ``confirm``/``on_confirm``
to the ledger (beckn/DEG#265). Here:

* ``confirm`` carrying a P2P contract is the platform's **ledger write**
  (:mod:`.ledger_confirm`: one trade per interval, all or none, refused once the
  confirm's ttl has run out), with the *verified* sender as writer, so a party that is
  not one of the trade's platforms is refused by the ledger (``LEDGER_NOT_A_PARTY`` in
  the ``on_confirm`` error). A repeated confirm (same contract) writes nothing new and
  answers the same records; ``on_confirm`` carries them as ``ledgerRecords``.
* ``status`` is a read filtered by the verified sender: the records of the request's
  transaction that the sender is a platform or DISCOM of, plus the revenue flows of
  those already settled.
* :meth:`LedgerProvider.run_allocation` is the daily run (:mod:`.allocation_run`): meter
  actuals by ``status`` from the DISCOM's meter-data BPP, the counterpart DISCOM's side
  by ``status`` to its ledger provider.
* :meth:`LedgerProvider.curtail` records a curtailment and tells the trade's platforms
  with an unsolicited ``on_update``.

The LP's subscriber id is the DISCOM id its ledger records (and the DISCOM's participant
id in contracts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

import structlog

from iesnode.adapters.base import Direction
from iesnode.errors import BusinessError, ClientError
from iesnode.model.envelope import Context
from iesnode.protocol.duration import parse_duration
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.usecases.p2p.allocation import Allocation
from iesnode.usecases.p2p.allocation_run import AllocationRun, DayReport, MeterWindow, run_daily
from iesnode.usecases.p2p.config import LedgerProviderConfig
from iesnode.usecases.p2p.contract import contract_id_for
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.curtailment import curtailment_message, record_curtailment
from iesnode.usecases.p2p.ledger import (
    LEDGER_UNKNOWN_TRADE,
    LedgerError,
    TradeLedger,
    TradeRecord,
)
from iesnode.usecases.p2p.ledger_confirm import write_contract
from iesnode.usecases.p2p.ledger_memory import MemoryLedger
from iesnode.usecases.p2p.ledger_sqlite import SqliteLedger
from iesnode.usecases.p2p.ledger_view import (
    allocated_wh,
    available_wh,
    flows_wire,
    read_records,
    records_wire,
)
from iesnode.usecases.p2p.meter_bpp import MeterSeries, meter_request, read_meter_reply
from iesnode.usecases.p2p.peers import bap_client, peer
from iesnode.usecases.p2p.settlement import RevenueFlow, SettlementTerms, settle

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["LP_FOREIGN_TRADE", "LedgerProvider"]

log = structlog.get_logger(__name__)

LP_FOREIGN_TRADE = "LP_FOREIGN_TRADE"


class LedgerProvider:
    """The BPP handlers and the daily run of one DISCOM's ledger provider."""

    def __init__(self, config: LedgerProviderConfig, ledger: TradeLedger | None = None) -> None:
        self.config = config
        self.discom_id = config.discom_id
        self._ledger = ledger
        self._owned = ledger is None
        self._node: Node | None = None
        self._writers: dict[str, dict[str, Context]] = {}
        self._daily: asyncio.Task[None] | None = None
        self.handlers = HandlerRegistry()
        self.handlers.on("confirm")(self._confirm)
        self.handlers.on("status")(self._status)

    @property
    def ledger(self) -> TradeLedger:
        """The DISCOM's trade ledger."""
        if self._ledger is None:
            raise RuntimeError("start the ledger provider first")
        return self._ledger

    async def start(self, node: Node) -> None:
        """Open the ledger (SQLite at ``ledger_path``, else in memory) and bind the node."""
        if node.signer.subscriber_id != self.discom_id:
            raise RuntimeError(f"a ledger provider for {self.discom_id} must run as that id")
        self._node = node
        if self._ledger is None:
            path = self.config.ledger_path
            self._ledger = (
                await SqliteLedger.open(path, clock=node.clock)
                if path is not None
                else MemoryLedger(clock=node.clock)
            )
        if self.config.allocate_at is not None:
            zone = timezone(timedelta(minutes=self.config.utc_offset_minutes))
            daily = run_daily(
                self.allocation_run,
                node.clock,
                at=self.config.allocate_at,
                zone=zone,
                gap=timedelta(minutes=self.config.round_gap_minutes),
            )
            self._daily = asyncio.create_task(daily, name=f"p2p-allocation-{self.discom_id}")

    async def aclose(self) -> None:
        """Stop the daily run; close the ledger if this provider opened it."""
        if self._daily is not None:
            self._daily.cancel()
            await asyncio.gather(self._daily, return_exceptions=True)
        if self._ledger is not None and self._owned:
            await self._ledger.aclose()

    # handlers ----------------------------------------------------------------------------

    async def _confirm(self, req: IncomingRequest) -> dict[str, Any]:
        contract = read_contract(req.message.get("contract"))
        if self.discom_id not in (contract.buyer.discom_id, contract.seller.discom_id):
            raise BusinessError(
                LP_FOREIGN_TRADE,
                f"{self.discom_id} is neither DISCOM of this trade",
                path="message.contract.contractAttributes.roles",
            )
        transaction_id = req.context.transaction_id
        clock = self._bound().clock
        records = await write_contract(
            self.ledger, contract, req.context, writer=req.sender, clock=clock
        )
        self._writers.setdefault(transaction_id, {})[req.sender] = req.context
        log.info("ledger_write", transaction=transaction_id, writer=req.sender, trades=len(records))
        return {"contract": req.message["contract"], "ledgerRecords": records_wire(records)}

    async def _status(self, req: IncomingRequest) -> dict[str, Any]:
        transaction_id = req.context.transaction_id
        records = await self.ledger.get(reader=req.sender, transaction_id=transaction_id)
        if not records:
            raise LedgerError(
                LEDGER_UNKNOWN_TRADE,
                "no trade of this transaction is in this ledger for you",
                path="context.transactionId",
            )
        settled = {r.order_item_id: self.flows(r) for r in records}
        return {
            "contract": {"id": contract_id_for(transaction_id), "status": {"code": "ACTIVE"}},
            "ledgerRecords": records_wire(records),
            "revenueFlows": flows_wire({k: v for k, v in settled.items() if v}),
        }

    # settlement --------------------------------------------------------------------------

    def terms_for(self, trade: TradeRecord) -> SettlementTerms:
        """The trade's charges: buyer DISCOM's buyer rate, seller DISCOM's seller rate."""
        tariffs = self.config.tariffs
        for discom in (trade.discom_id_buyer, trade.discom_id_seller):
            if discom not in tariffs:
                raise BusinessError("LP_NO_TARIFF", f"no wheeling rates for {discom}")
        buyer, seller = tariffs[trade.discom_id_buyer], tariffs[trade.discom_id_seller]
        return SettlementTerms(
            wheeling_buyer_paise_per_kwh=buyer.buyer_wheeling_paise_per_kwh,
            wheeling_seller_paise_per_kwh=seller.seller_wheeling_paise_per_kwh,
            penalty_paise_per_kwh=self.config.penalty_paise_per_kwh,
        )

    def flows(self, trade: TradeRecord) -> list[RevenueFlow]:
        """The revenue flows of a trade both sides have allocated; empty before (or unpriced)."""
        seller, buyer = allocated_wh(trade, "seller"), allocated_wh(trade, "buyer")
        if seller is None or buyer is None:
            return []
        try:
            allocation = Allocation.of(available_wh(trade), seller, buyer)
            return settle(trade, allocation, self.terms_for(trade))
        except BusinessError as exc:
            log.warning("trade_not_settled", transaction=trade.transaction_id, code=exc.code)
            return []

    # the daily run -----------------------------------------------------------------------

    def day_window(self, day: date) -> tuple[datetime, datetime]:
        """``[00:00, 24:00)`` of ``day`` in the DISCOM's time zone."""
        zone = timezone(timedelta(minutes=self.config.utc_offset_minutes))
        start = datetime.combine(day, time(0), zone)
        return start, start + timedelta(days=1)

    def allocation_run(self, day: date) -> AllocationRun:
        """The rounds for ``day``; run ``seller_side``, ``buyer_side`` and ``settle`` in order."""
        start, end = self.day_window(day)
        return AllocationRun(
            discom_id=self.discom_id,
            ledger=self.ledger,
            start=start,
            end=end,
            fetch_actuals=self._actuals,
            fetch_counterpart=self._counterpart,
            terms_for=self.terms_for,
        )

    async def run_allocation(self, day: date) -> DayReport:
        """All three rounds for ``day`` (counterpart DISCOMs must have run theirs first)."""
        run = self.allocation_run(day)
        await run.seller_side()
        await run.buyer_side()
        return await run.settle()

    async def _actuals(self, windows: Sequence[MeterWindow]) -> dict[str, MeterSeries | str]:
        node = self._bound()
        step = timedelta(seconds=parse_duration(self.config.interval))
        client = bap_client(node, network_id=self.config.meter_network_id)
        target = await peer(node, self.config.meter_bpp)

        async def one(
            meter: str, direction: Direction, start: datetime, end: datetime
        ) -> MeterSeries | str:
            count = -(-(end - start) // step)
            message = meter_request([(meter, direction)], start, count, self.config.interval)
            try:
                answer = await client.status(target, message, ttl=self.config.request_ttl)
                if answer.sender != self.config.meter_bpp:
                    return f"answered by {answer.sender}, not {self.config.meter_bpp}"
                series = read_meter_reply(answer.message)[0]
                if (series.meter_id, series.direction) != (meter, direction):
                    return f"answered for {series.meter_id}/{series.direction}, not {meter}"
                return series
            except (ClientError, BusinessError) as exc:
                return str(exc)

        found = await asyncio.gather(*(one(*window) for window in windows))
        return {f"{w[0]}/{w[1]}": series for w, series in zip(windows, found, strict=True)}

    async def _counterpart(self, discom: str, transaction_id: str) -> list[TradeRecord] | str:
        node = self._bound()
        message = {"contract": {"id": contract_id_for(transaction_id)}}
        try:
            answer = await bap_client(node).status(
                await peer(node, discom),
                message,
                transaction_id=transaction_id,
                ttl=self.config.request_ttl,
            )
            if answer.sender != discom:
                return f"answered by {answer.sender}, not {discom}"
            return read_records(answer.message)
        except (ClientError, BusinessError) as exc:
            return str(exc)

    # curtailment -------------------------------------------------------------------------

    async def curtail(
        self,
        transaction_id: str,
        order_item_id: str,
        *,
        curtailed_wh: int,
        reason: str = "GRID_OUTAGE",
    ) -> TradeRecord:
        """Record that the grid lets only ``requested - curtailed_wh`` through (seller side).

        The seller side becomes ``CURTAILED_OUTAGE`` with an ``AVAILABILITY`` metric; the
        platforms that wrote the trade here get an unsolicited ``on_update``.
        """
        record = await record_curtailment(
            self.ledger,
            discom_id=self.discom_id,
            transaction_id=transaction_id,
            order_item_id=order_item_id,
            curtailed_wh=curtailed_wh,
        )
        log.info("trade_curtailed", transaction=transaction_id, item=order_item_id, reason=reason)
        node = self._bound()
        for context in self._writers.get(transaction_id, {}).values():
            await node.push(context, "on_update", curtailment_message(record, reason))
        return record

    def _bound(self) -> Node:
        if self._node is None:
            raise RuntimeError("start the ledger provider first")
        return self._node
