"""The seller trading platform (a BPP): offers, quotes, confirmed trades, curtailments.

The seller TP of IES wave-2 (``research/energy-domain.md`` §2.2, phases 1-3 and S4/S6):

* ``discover`` answers the platform's catalog of offers, filtered (:class:`~.offers.Filters`);
* ``select`` / ``init`` answer the quoted contract: price and availability per interval,
  the seller and its DISCOM's ledger provider, energy and both DISCOMs' wheeling charges;
* ``confirm`` reserves the energy and does the **blocking ledger write**: a signed
  ``confirm`` to the seller DISCOM's ledger provider (:mod:`.seller_ledger`), and only
  after its ``on_confirm`` the ``on_confirm`` to the buyer. A refused write releases the
  energy (the buyer's ``on_confirm`` error); a write the ledger ACKed but did not answer
  in time keeps it reserved until the buyer's next confirm finishes the trade or the
  ledger, asked later, settles it (:mod:`.seller_reconcile`). A repeated confirm of a
  confirmed trade answers the same contract without a second write;
* ``status`` answers the contract as the seller DISCOM's ledger sees it now;
* a curtailment the ledger provider announces (unsolicited ``on_update``) is passed on
  to the buyer as an unsolicited ``on_update`` (:mod:`.seller_follow`).

Reservations and confirmed trades are journaled (:mod:`.trade_journal`) and restored at
start. A ``confirm`` whose process died (the durable job queue hands it to the next
process) resumes the journaled trade: the energy stays reserved once and the repeated
write gets the same records and no new row, so a crash between the ledger write and the
buyer's ``on_confirm`` leaves no trade the buyer does not hear of (crash points around
the write: :mod:`iesnode.faults`). Reservations nobody resolves are settled against the
ledger at start and every ``reconcile_every`` seconds (:mod:`.seller_reconcile`).

The platform runs as a node with roles ``["bpp", "bap"]``: its BAP face talks to the
ledger provider; handler jobs run as separate tasks and callbacks go straight to the inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from iesnode.errors import BusinessError
from iesnode.faults import crash_point
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.usecases.p2p.book import OfferBook
from iesnode.usecases.p2p.config import OfferConfig, SellerPlatformConfig, whole
from iesnode.usecases.p2p.contract import Party, TradeContract
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_view import ledger_view, read_flows, read_records, records_wire
from iesnode.usecases.p2p.offers import Filters, Offer, Slot, catalog_wire
from iesnode.usecases.p2p.peers import peer
from iesnode.usecases.p2p.seller_follow import CurtailmentWatch
from iesnode.usecases.p2p.seller_ledger import LedgerInDoubt, read_trade, write_trade
from iesnode.usecases.p2p.seller_reconcile import Reconciler
from iesnode.usecases.p2p.trade_journal import PlatformTrade, TradeJournal, TradeState, restore

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["SellerPlatform"]

log = structlog.get_logger(__name__)


class SellerPlatform:
    """The BPP handlers of a seller trading platform."""

    def __init__(self, config: SellerPlatformConfig) -> None:
        self.config = config
        self.handlers = HandlerRegistry()
        for action, handler in (
            ("discover", self._discover),
            ("select", self._select),
            ("init", self._init),
            ("confirm", self._confirm),
            ("status", self._status),
        ):
            self.handlers.on(action)(handler)
        self.book = OfferBook()
        self._trades: dict[str, PlatformTrade] = {}
        """Trades holding energy (reserved or confirmed) by transaction id."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._watch: CurtailmentWatch | None = None
        self._journal: TradeJournal | None = None
        self._node: Node | None = None
        self.reconciler: Reconciler | None = None
        """Settles reservations the ledger write left unresolved (set by :meth:`start`)."""

    @property
    def trades(self) -> Mapping[str, TradeContract]:
        """Confirmed trades by transaction id."""
        return {
            txn: trade.contract
            for txn, trade in self._trades.items()
            if trade.state is TradeState.CONFIRMED
        }

    async def start(self, node: Node) -> None:
        """Bind the node, publish the configured offers and restore the journaled trades."""
        self._node = node
        self._watch = CurtailmentWatch(node, self._save)
        self._journal = await TradeJournal.open(
            self.config.state_path, writer=node.signer.subscriber_id, clock=node.clock
        )
        for offer in self.config.offers:
            await self.publish(offer)
        for trade in await self._journal.load():
            if trade.holds_energy and restore(self.book, trade):
                self._trades[trade.transaction_id] = trade
                if trade.state is TradeState.CONFIRMED:
                    await self._watch.add(trade)
        log.info("seller_trades_restored", trades=len(self._trades))
        self.reconciler = Reconciler(node, self, self.config)
        self.reconciler.start()

    async def aclose(self) -> None:
        """Stop reconciling and following trades; close the journal."""
        if self.reconciler is not None:
            await self.reconciler.aclose()
        if self._watch is not None:
            await self._watch.aclose()
        if self._journal is not None:
            await self._journal.aclose()
            self._journal = None

    async def publish(self, config: OfferConfig) -> Offer:
        """Add (or replace) an offer; its slots become available."""
        node = self._bound()
        prosumer = next((p for p in self.config.prosumers if p.meter_id == config.meter_id), None)
        if prosumer is None:
            raise ValueError(f"offer {config.offer_id}: no prosumer with meter {config.meter_id}")
        seller = Party(
            platform_id=node.signer.subscriber_id,
            meter_id=prosumer.meter_id,
            customer_id=prosumer.customer_id,
            discom_id=prosumer.discom_id,
            capacity_w=whole(prosumer.installed_capacity_kw, 1000, "installed capacity"),
        )
        slots = tuple(
            Slot(
                s.start,
                whole(s.price_inr_per_kwh, 100, "price"),
                whole(s.available_kwh, 1000, "available energy"),
            )
            for s in config.slots
        )
        ledger = await peer(node, prosumer.discom_id)
        offer = Offer(
            config.offer_id, seller, config.source_type, config.duration, slots, ledger.uri
        )
        self.book.add(offer)
        log.info("offer_published", offer=offer.offer_id, slots=len(slots))
        return offer

    # handlers ----------------------------------------------------------------------------

    async def _discover(self, req: IncomingRequest) -> dict[str, Any]:
        shown = self.book.shown(Filters.from_message(req.message))
        me = self._bound().signer.subscriber_id
        return {"catalogs": [catalog_wire(me, self.config.name, shown)] if shown else []}

    async def _select(self, req: IncomingRequest) -> dict[str, Any]:
        return {"contract": self._quote(req, "DRAFT").to_wire()}

    async def _init(self, req: IncomingRequest) -> dict[str, Any]:
        return {"contract": self._quote(req, "DRAFT").to_wire()}

    async def _confirm(self, req: IncomingRequest) -> dict[str, Any]:
        txn = req.context.transaction_id
        now = self._bound().clock.now()
        async with self.lock(txn):
            trade = self._trades.get(txn)
            if trade is not None:
                self._same_trade(req, trade)
                if trade.state is TradeState.CONFIRMED:
                    log.info("confirm_repeated", transaction=txn)
                    return trade.answer()
                log.info("confirm_resumed", transaction=txn)  # its process died mid-way
                trade.reserved_at = now  # a new write attempt (not journaled: reserved once)
            else:
                quote = self._quote(req, "ACTIVE")
                trade = PlatformTrade(txn, quote, req.context, TradeState.RESERVED, reserved_at=now)
                self.book.reserve(trade.contract)
                self._trades[txn] = trade
                await self._save(trade)
            crash_point("p2p.before_ledger_write")
            try:
                records = await write_trade(
                    self._bound(), trade.contract, txn, ttl=self.config.ledger_ttl
                )
            except LedgerInDoubt:
                log.warning("ledger_write_in_doubt", transaction=txn)  # stays RESERVED
                raise
            except BusinessError:
                await self.release(trade)
                raise
            crash_point("p2p.after_ledger_write")
            await self.mark_confirmed(trade, records)
            log.info("trade_confirmed", transaction=txn, items=len(trade.records))
            return trade.answer()

    async def _status(self, req: IncomingRequest) -> dict[str, Any]:
        txn = req.context.transaction_id
        trade = self._trades.get(txn)
        if (
            trade is None
            or trade.state is not TradeState.CONFIRMED
            or req.sender != trade.contract.buyer.platform_id
        ):
            raise BusinessError(
                "P2P_UNKNOWN_TRADE", "no trade of yours in this transaction", path="context"
            )
        answer = await read_trade(self._bound(), trade.contract, txn, ttl=self.config.ledger_ttl)
        trade.records = read_records(answer.message)
        flows = read_flows(answer.message)
        view = ledger_view(trade.contract, trade.records, [f for fs in flows.values() for f in fs])
        return {
            "contract": view,
            "ledgerRecords": records_wire(trade.records),
            "revenueFlows": answer.message.get("revenueFlows", []),
        }

    # reservations (:class:`~.seller_reconcile.Reservations`) --------------------------

    def reserved(self) -> list[PlatformTrade]:
        """Trades whose energy is reserved and whose ledger write has not been answered."""
        return [t for t in self._trades.values() if t.state is TradeState.RESERVED]

    def lock(self, transaction_id: str) -> asyncio.Lock:
        """The lock held by every change of the transaction's trade."""
        return self._locks.setdefault(transaction_id, asyncio.Lock())

    async def mark_confirmed(self, trade: PlatformTrade, records: list[TradeRecord]) -> None:
        """The ledger holds ``trade``: journal it CONFIRMED and follow it (lock held)."""
        trade.records = records
        trade.state = TradeState.CONFIRMED
        await self._save(trade)
        if self._watch is not None:
            await self._watch.add(trade)

    async def release(self, trade: PlatformTrade) -> None:
        """The ledger has no ``trade``: energy back on the book, journal RELEASED (lock held)."""
        self.book.reserve(trade.contract, +1)
        if self._trades.get(trade.transaction_id) is trade:
            del self._trades[trade.transaction_id]
        trade.state = TradeState.RELEASED
        await self._save(trade)

    # quoting, the journal and curtailments ---------------------------------------------

    def _quote(self, req: IncomingRequest, status: str) -> TradeContract:
        contract = read_contract(req.message.get("contract"))
        me = self._bound().signer.subscriber_id
        if contract.seller.platform_id != me or req.sender != contract.buyer.platform_id:
            raise BusinessError(
                "P2P_WRONG_PARTIES",
                "the sellerPlatform must be this platform and the buyerPlatform the sender",
                path="message.contract.contractAttributes.roles",
            )
        return self.book.quote(
            contract,
            transaction_id=req.context.transaction_id,
            status=status,
            tariffs=self.config.tariffs,
            policy=self.config.policy,
        )

    def _same_trade(self, req: IncomingRequest, trade: PlatformTrade) -> None:
        """Refuse a confirm of a known transaction by another buyer or with other terms."""
        if req.sender != trade.contract.buyer.platform_id:
            raise BusinessError("P2P_WRONG_PARTIES", "the trade is not yours", path="context.bapId")
        if _terms(read_contract(req.message.get("contract"))) != _terms(trade.contract):
            raise BusinessError(
                "P2P_ALREADY_CONFIRMED",
                "this transaction was confirmed with other quantities",
                path="message.contract.commitments",
            )

    async def _save(self, trade: PlatformTrade) -> None:
        if self._journal is None:
            raise RuntimeError("start the seller platform first")
        await self._journal.save(trade)

    def _bound(self) -> Node:
        if self._node is None:
            raise RuntimeError("start the seller platform first")
        return self._node


def _terms(contract: TradeContract) -> list[tuple[str, str, Any, int]]:
    return [
        (c.commitment_id, c.offer_id, line.start, line.requested_wh) for c, line in contract.lines
    ] + [("buyer", contract.buyer.meter_id, contract.buyer.platform_id, 0)]
