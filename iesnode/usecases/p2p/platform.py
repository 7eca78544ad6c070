"""The seller trading platform (a BPP): offers, quotes, confirmed trades, curtailments.

The seller TP of IES wave-2 (``research/energy-domain.md`` §2.2, phases 1-3 and S4/S6):

* ``discover`` answers with the platform's catalog of energy offers, filtered
  (:class:`~.offers.Filters`), showing what is still available per slot;
* ``select`` / ``init`` answer with the quoted contract: the seller's price and
  availability per interval, the seller and its DISCOM's ledger provider, and a quote of
  the energy and both DISCOMs' wheeling charges;
* ``confirm`` reserves the energy and does the **blocking ledger write**: a signed
  ``confirm`` to the seller DISCOM's ledger provider, and only after its ``on_confirm``
  the ``on_confirm`` to the buyer. A refused write releases the energy and becomes the
  buyer's ``on_confirm`` error. A repeated confirm of the same trade answers the same
  contract without a second write;
* ``status`` answers the contract as the seller DISCOM's ledger sees it (allocations,
  statuses, revenue flows), read from the ledger provider at that moment;
* a curtailment the ledger provider announces (unsolicited ``on_update``) is passed on
  to the buyer as an unsolicited ``on_update``.

The platform runs as a node with roles ``["bpp", "bap"]``: its BAP face talks to the
ledger provider. A handler waiting for the ledger's callback does not block the node:
handler jobs run as separate tasks and callbacks go straight to the inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from iesnode.errors import BusinessError, CallbackError, ClientError, NackReceived
from iesnode.model.envelope import Context
from iesnode.protocol.actions import canonical
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.usecases.p2p.book import OfferBook
from iesnode.usecases.p2p.config import OfferConfig, SellerPlatformConfig, whole
from iesnode.usecases.p2p.contract import Party, TradeContract
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_view import ledger_view, read_flows, read_records, records_wire
from iesnode.usecases.p2p.offers import Filters, Offer, Slot, catalog_wire
from iesnode.usecases.p2p.peers import bap_client, follow, peer

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["SellerPlatform"]

log = structlog.get_logger(__name__)


@dataclass
class _Trade:
    contract: TradeContract
    buyer_context: Context
    records: list[TradeRecord] = field(default_factory=list)


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
        self._trades: dict[str, _Trade] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._node: Node | None = None

    @property
    def trades(self) -> Mapping[str, TradeContract]:
        """Confirmed trades by transaction id."""
        return {txn: trade.contract for txn, trade in self._trades.items()}

    async def start(self, node: Node) -> None:
        """Bind the node and publish the configured offers."""
        self._node = node
        for offer in self.config.offers:
            await self.publish(offer)

    async def aclose(self) -> None:
        """Stop following trades."""
        for task in list(self._watchers):
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)

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
        async with self._locks.setdefault(txn, asyncio.Lock()):
            known = self._trades.get(txn)
            if known is not None:
                asked = read_contract(req.message.get("contract"))
                if req.sender != known.contract.buyer.platform_id:
                    raise BusinessError(
                        "P2P_WRONG_PARTIES", "the trade is not yours", path="context.bapId"
                    )
                if _terms(asked) != _terms(known.contract):
                    raise BusinessError(
                        "P2P_ALREADY_CONFIRMED",
                        "this transaction was confirmed with other quantities",
                        path="message.contract.commitments",
                    )
                log.info("confirm_repeated", transaction=txn)
                return _confirmed(known)
            contract = self._quote(req, "ACTIVE")
            self.book.reserve(contract)
            try:
                records = await self._write_ledger(contract, txn)
            except BusinessError:
                self.book.reserve(contract, +1)
                raise
            trade = _Trade(contract, req.context, records)
            self._trades[txn] = trade
            await self._follow(txn, trade)
            log.info("trade_confirmed", transaction=txn, items=len(records))
            return _confirmed(trade)

    async def _status(self, req: IncomingRequest) -> dict[str, Any]:
        txn = req.context.transaction_id
        trade = self._trades.get(txn)
        if trade is None or req.sender != trade.contract.buyer.platform_id:
            raise BusinessError(
                "P2P_UNKNOWN_TRADE", "no trade of yours in this transaction", path="context"
            )
        node = self._bound()
        lp = trade.contract.seller.discom_id
        try:
            answer = await bap_client(node).status(
                await peer(node, lp),
                {"contract": {"id": trade.contract.contract_id}},
                transaction_id=txn,
                ttl=self.config.ledger_ttl,
            )
        except ClientError as exc:
            raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"ledger {lp}: {exc}") from None
        trade.records = read_records(answer.message)
        flows = read_flows(answer.message)
        view = ledger_view(trade.contract, trade.records, [f for fs in flows.values() for f in fs])
        return {
            "contract": view,
            "ledgerRecords": records_wire(trade.records),
            "revenueFlows": answer.message.get("revenueFlows", []),
        }

    # quoting and the ledger write --------------------------------------------------------

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

    async def _write_ledger(self, contract: TradeContract, txn: str) -> list[TradeRecord]:
        """The blocking write to the seller DISCOM's ledger provider."""
        node = self._bound()
        lp = contract.seller.discom_id
        try:
            answer = await bap_client(node).confirm(
                await peer(node, lp),
                {"contract": contract.to_wire()},
                transaction_id=txn,
                ttl=self.config.ledger_ttl,
            )
        except CallbackError as exc:
            raise BusinessError(
                exc.code, f"ledger {lp} refused: {exc.message}", path=exc.path
            ) from None
        except NackReceived as exc:
            code = exc.code or "P2P_LEDGER_REFUSED"
            raise BusinessError(
                code, f"ledger {lp} refused: {exc.message}", path=exc.path
            ) from None
        except ClientError as exc:
            raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"ledger {lp}: {exc}") from None
        if answer.sender != lp:
            raise BusinessError("P2P_LEDGER_UNAVAILABLE", f"{answer.sender} answered for {lp}")
        log.info("ledger_written", transaction=txn, ledger=lp)
        return read_records(answer.message)

    # curtailment -------------------------------------------------------------------------

    async def _follow(self, txn: str, trade: _Trade) -> None:
        node = self._bound()
        until = max(line.end for _, line in trade.contract.lines).timestamp()
        await follow(node, txn, until)
        task = asyncio.create_task(self._watch(txn, trade, until), name=f"p2p-follow-{txn}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _watch(self, txn: str, trade: _Trade, until: float) -> None:
        node = self._bound()
        lp = trade.contract.seller.discom_id
        async for update in bap_client(node).updates(txn, until):
            if update.sender != lp or canonical(update.context.action) != "on_update":
                continue
            try:
                trade.records = read_records(update.message)
            except BusinessError as exc:
                log.warning("ledger_update_unreadable", transaction=txn, code=exc.code)
                continue
            message = {
                "contract": ledger_view(trade.contract, trade.records),
                "ledgerRecords": records_wire(trade.records),
            }
            await node.push(trade.buyer_context, "on_update", message)
            log.info("curtailment_forwarded", transaction=txn)

    def _bound(self) -> Node:
        if self._node is None:
            raise RuntimeError("start the seller platform first")
        return self._node


def _terms(contract: TradeContract) -> list[tuple[str, str, Any, int]]:
    return [
        (c.commitment_id, c.offer_id, line.start, line.requested_wh) for c, line in contract.lines
    ] + [("buyer", contract.buyer.meter_id, contract.buyer.platform_id, 0)]


def _confirmed(trade: _Trade) -> dict[str, Any]:
    return {"contract": trade.contract.to_wire(), "ledgerRecords": records_wire(trade.records)}
