"""The buyer trading platform (a BAP): discover, select, init, confirm, then its own ledger write.

The buyer TP of IES wave-2 (``research/energy-domain.md`` §2.2, phases 1-3 and S4):
it discovers offers (through the gateway, or at one seller platform), writes the full
contract at ``select`` (its consumer as ``buyerPlatform`` with meter and sanctioned load,
the seller and the seller DISCOM's ledger provider from the offer, its own DISCOM's
ledger provider), takes the seller's quote through ``init``, ``confirm``\\ s, and then does
its own **blocking ledger write**: a ``confirm`` of the confirmed contract to the buyer
DISCOM's ledger provider, retried (``ledger_retry_delays``) while that provider cannot be
reached or answers 5xx; the write is idempotent by client reference, so a retry after a lost
answer records nothing twice. Afterwards it can ask the seller platform and its own ledger for
the trade's status, and it hears curtailments as unsolicited ``on_update``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from iesnode.errors import (
    BusinessError,
    CallbackTimeout,
    ClientError,
    NackReceived,
    TransportError,
)
from iesnode.protocol.actions import canonical
from iesnode.protocol.duration import parse_duration
from iesnode.protocol.roles.bap import Callback, Peer
from iesnode.protocol.roles.bpp import HandlerRegistry
from iesnode.usecases.p2p.config import BuyerPlatformConfig, whole
from iesnode.usecases.p2p.contract import Commitment, Line, Party, TradeContract
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.offers import Filters, Offer, read_catalog
from iesnode.usecases.p2p.peers import bap_client, follow, peer

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["BuyerPlatform", "BuyerTrade", "Found"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Found:
    """An offer found by discovery, and the seller platform to trade with."""

    seller: Peer
    offer: Offer


@dataclass
class BuyerTrade:
    """A trade confirmed by the seller platform, and the buyer's own ledger write."""

    transaction_id: str
    seller: Peer
    contract: TradeContract
    seller_records: list[TradeRecord]
    ledger_records: list[TradeRecord] = field(default_factory=list)
    ledger_error: str | None = None
    """Why the buyer DISCOM's ledger write failed, if it did (after its retries)."""


class BuyerPlatform:
    """The BAP side of a buyer trading platform (no BPP handlers)."""

    def __init__(self, config: BuyerPlatformConfig) -> None:
        self.config = config
        self.handlers = HandlerRegistry()
        self._node: Node | None = None

    async def start(self, node: Node) -> None:
        """Bind the node."""
        self._node = node

    async def aclose(self) -> None:
        """Nothing to release."""

    def consumer(self, meter_id: str) -> Party:
        """The platform's consumer on ``meter_id``."""
        for c in self.config.consumers:
            if c.meter_id == meter_id:
                load = whole(c.sanctioned_load_kw, 1000, "sanctioned load")
                me = self._bound().signer.subscriber_id
                return Party(me, c.meter_id, c.customer_id, c.discom_id, load)
        raise KeyError(f"no consumer with meter {meter_id}")

    async def discover(
        self,
        filters: Filters | None = None,
        *,
        to: Peer | None = None,
        ttl: float = 2.0,
        sellers: int | None = None,
    ) -> list[Found]:
        """Offers matching ``filters``: from ``to``, or every seller the gateway reaches.

        Waits ``ttl`` seconds, or until ``sellers`` platforms have answered.
        """
        message = (filters or Filters()).to_intent()
        found: list[Found] = []
        answered = 0
        async for callback in bap_client(self._bound()).discover(message, ttl=ttl, to=to):
            answered += 1
            try:
                offers = read_catalog(callback.message, callback.sender)
            except BusinessError as exc:
                log.warning("catalog_unreadable", seller=callback.sender, code=exc.code)
                continue
            found.extend(Found(callback.peer, offer) for offer in offers)
            if sellers is not None and answered >= sellers:
                break
        return found

    async def order(
        self, found: Found, meter_id: str, quantities: Mapping[datetime, int]
    ) -> TradeContract:
        """The contract to ``select``: ``quantities`` (Wh by slot start) from ``found``."""
        offer = found.offer
        buyer = self.consumer(meter_id)
        for start in quantities:
            if offer.slot(start) is None:
                raise KeyError(f"{offer.offer_id} has no slot at {start.isoformat()}")
        step = timedelta(seconds=parse_duration(offer.duration))
        first = min(quantities)
        lines = []
        for start, wh in sorted(quantities.items()):
            steps, rest = divmod(start - first, step)
            if rest:
                raise ValueError(f"{start.isoformat()} is not on the {offer.duration} grid")
            lines.append(Line(steps, start, start + step, wh))
        ledger = await peer(self._bound(), buyer.discom_id)
        return TradeContract(
            contract_id="",
            status="DRAFT",
            buyer=buyer,
            seller=offer.seller,
            ledger_uris={buyer.discom_id: ledger.uri, offer.seller.discom_id: offer.ledger_uri},
            commitments=(
                Commitment(
                    f"commitment-{offer.offer_id}",
                    offer.offer_id,
                    offer.source_type,
                    offer.duration,
                    tuple(lines),
                ),
            ),
        )

    async def buy(self, seller: Peer, contract: TradeContract) -> BuyerTrade:
        """select -> init -> confirm with ``seller``, then write the buyer DISCOM's ledger."""
        node = self._bound()
        bap = bap_client(node)
        ttl = self.config.request_ttl
        on_select = await bap.select(seller, {"contract": contract.to_wire()}, ttl=ttl)
        quote = _same_order(contract, on_select)
        on_init = await bap.init(on_select, {"contract": quote.to_wire()}, ttl=ttl)
        quote = _same_order(contract, on_init)
        on_confirm = await bap.confirm(on_init, {"contract": quote.to_wire()}, ttl=ttl)
        confirmed = _same_order(contract, on_confirm)
        txn = on_confirm.context.transaction_id
        trade = BuyerTrade(txn, on_confirm.peer, confirmed, read_records(on_confirm.message))
        await follow(node, txn, max(line.end for _, line in confirmed.lines).timestamp())
        await self._write_ledger(trade, on_confirm.message["contract"])
        return trade

    async def _write_ledger(self, trade: BuyerTrade, contract: Mapping[str, Any]) -> None:
        """The buyer DISCOM's ledger write, retried while its provider is unreachable."""
        txn = trade.transaction_id
        for attempt, delay in enumerate((0.0, *self.config.ledger_retry_delays), start=1):
            await asyncio.sleep(delay)
            try:
                trade.ledger_records = await self._ledger_confirm(trade, contract)
                trade.ledger_error = None
                return
            except (ClientError, BusinessError) as exc:
                trade.ledger_error = str(exc)
                if not _transient(exc):
                    break
                log.warning("buyer_ledger_write_unreachable", transaction=txn, attempt=attempt)
        log.warning("buyer_ledger_write_failed", transaction=txn)

    async def _ledger_confirm(
        self, trade: BuyerTrade, contract: Mapping[str, Any]
    ) -> list[TradeRecord]:
        node = self._bound()
        lp = trade.contract.buyer.discom_id
        answer = await bap_client(node).confirm(
            await peer(node, lp),
            {"contract": dict(contract)},
            transaction_id=trade.transaction_id,
            ttl=self.config.ledger_ttl,
        )
        if answer.sender != lp:
            raise ClientError(f"{answer.sender} answered for ledger {lp}")
        return read_records(answer.message)

    async def status(self, trade: BuyerTrade) -> Callback:
        """The seller platform's view of the trade (allocations and flows once settled)."""
        message = {"contract": {"id": trade.contract.contract_id}}
        return await bap_client(self._bound()).status(
            trade.seller, message, transaction_id=trade.transaction_id, ttl=self.config.ledger_ttl
        )

    async def ledger(self, trade: BuyerTrade) -> Callback:
        """The buyer DISCOM's ledger's view of the trade (``status`` to its provider)."""
        node = self._bound()
        message = {"contract": {"id": trade.contract.contract_id}}
        target = await peer(node, trade.contract.buyer.discom_id)
        return await bap_client(node).status(
            target, message, transaction_id=trade.transaction_id, ttl=self.config.ledger_ttl
        )

    async def updates(
        self, trade: BuyerTrade, *, wait: float, sender: str | None = None, count: int | None = None
    ) -> list[Callback]:
        """The trade's unsolicited ``on_update``\\ s (from ``sender`` if given).

        Waits up to ``wait`` seconds, or until ``count`` of them have arrived.
        """
        node = self._bound()
        found: list[Callback] = []
        until = node.clock.now() + wait
        async for callback in bap_client(node).updates(trade.transaction_id, until):
            if canonical(callback.context.action) != "on_update":
                continue
            if sender is None or callback.sender == sender:
                found.append(callback)
            if count is not None and len(found) >= count:
                break
        return found

    def _bound(self) -> Node:
        if self._node is None:
            raise RuntimeError("start the buyer platform first")
        return self._node


def _transient(exc: Exception) -> bool:
    """Worth retrying: unreachable, no answer in time, or a 5xx NACK (never a refusal)."""
    if isinstance(exc, NackReceived):
        return exc.status >= 500
    return isinstance(exc, TransportError | CallbackTimeout)


def _same_order(asked: TradeContract, callback: Callback) -> TradeContract:
    """The contract a seller answered, refused unless it keeps what the buyer asked for."""
    answered = read_contract(callback.message.get("contract"))
    wanted = [(c.offer_id, line.start, line.requested_wh) for c, line in asked.lines]
    got = [(c.offer_id, line.start, line.requested_wh) for c, line in answered.lines]
    if wanted != got or answered.buyer != asked.buyer:
        raise ClientError(f"{callback.sender} changed the order in {callback.context.action}")
    return answered
