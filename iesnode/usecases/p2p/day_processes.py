"""One P2P trading day across role processes, driven from the buyer platforms.

What ``examples/p2p_trading/run.py`` runs and the scenario tests inspect
(``research/energy-domain.md`` §2.2 phases 1-6, §11 S4 and S6): the steps of :mod:`.day`,
but every role except the buyer platforms runs as its own process (:mod:`.processes`) on
the real clock and every message between them is signed HTTP. The buyer platforms - a
library API, :class:`~.buyer.BuyerPlatform` - are hosted here as real nodes built from
their role files. What a DISCOM does by itself goes through its ledger provider's
control socket (:mod:`.control`): the curtailment before delivery, and the allocation
rounds after it, asked for now rather than waiting for the ``allocate_at`` schedule
(every seller round, then every buyer round, then every settlement). The outcome is a
:class:`~.day.DayResult`, checked as the in-process day is and printed by :mod:`.daybook`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from iesnode.errors import ClientError
from iesnode.node import Node, build
from iesnode.policy.decisions import DecisionLog
from iesnode.policy.network import NetworkPolicy
from iesnode.protocol.roles.bap import Callback
from iesnode.settings import PolicySettings
from iesnode.usecases.p2p.buyer import BuyerPlatform, BuyerTrade
from iesnode.usecases.p2p.control import ask
from iesnode.usecases.p2p.day import DayResult
from iesnode.usecases.p2p.day import _check as check_agreement
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_view import allocated_wh, read_records, view_columns
from iesnode.usecases.p2p.offers import Filters
from iesnode.usecases.p2p.process import load_role
from iesnode.usecases.p2p.report_wire import read_report
from iesnode.usecases.p2p.runfiles import RunLayout
from iesnode.usecases.p2p.scenario import Purchase, at
from iesnode.usecases.p2p.series import read_wh

__all__ = ["ProcessDay"]


class ProcessDay:
    """The day over running role processes (``async with`` hosts and closes the buyers)."""

    def __init__(self, layout: RunLayout, *, buyer_policy: bool = True) -> None:
        self.layout = layout
        self.scenario = layout.scenario
        self.result = DayResult(layout.scenario)
        self.buyers: dict[str, BuyerPlatform] = {}
        self.nodes: dict[str, Node] = {}
        self.updates: dict[str, list[Callback]] = {}
        """Purchase label -> the unsolicited ``on_update``\\ s its buyer heard."""
        self.seller_views: dict[str, Callback] = {}
        self.ledger_views: dict[str, Callback] = {}
        self._buyer_policy = buyer_policy

    async def __aenter__(self) -> ProcessDay:
        try:
            await self._host_buyers()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def _host_buyers(self) -> None:
        shared: NetworkPolicy | None = None
        for role in self.layout.of("buyer_platform"):
            settings, platform = load_role(role.path)
            if not isinstance(platform, BuyerPlatform):
                raise TypeError(f"{role.path} is not a buyer platform")
            if shared is not None or not self._buyer_policy:
                settings = settings.model_copy(update={"policy": PolicySettings()})
            node = build(settings, handlers=platform.handlers)
            if shared is not None:  # the pack is installed (and tested) once per process
                node.network_policy = NetworkPolicy(
                    shared.registry, DecisionLog(), node.clock, role="bap"
                )
            shared = shared or node.network_policy
            self.nodes[role.subscriber_id] = node
            await node.start()
            await platform.start(node)
            self.buyers[role.subscriber_id] = platform

    async def __aexit__(self, *exc: object) -> None:
        for name, node in self.nodes.items():
            if name in self.buyers:
                await self.buyers[name].aclose()
            await node.aclose()

    async def run(self) -> DayResult:
        """Trade, curtail, allocate, read every party's view, verify the ledgers, check."""
        await self.trade()
        await self.curtail()
        await self.allocate()
        await self.views()
        await self.verify()
        check_agreement(self.result)
        return self.result

    async def control(self, subscriber_id: str, command: str, **arguments: object) -> Any:
        """A command to a role process's control socket."""
        socket = self.layout.role(subscriber_id).control
        if socket is None:
            raise ClientError(f"{subscriber_id} has no control socket")
        return await ask(socket, command, arguments)

    async def buy(self, purchase: Purchase) -> BuyerTrade:
        """Discover through the gateway, order and buy one purchase."""
        buyer = self.buyers[purchase.buyer_platform]
        day = self.scenario.day
        window = Filters(delivery_from=at(0, day), delivery_to=at(0, day + timedelta(days=1)))
        sellers = len(self.scenario.sellers)
        found = {f.offer.offer_id: f for f in await buyer.discover(window, ttl=5, sellers=sellers)}
        if purchase.offer_id not in found:
            raise ClientError(f"{purchase.label}: discovery did not find {purchase.offer_id}")
        offer = found[purchase.offer_id]
        contract = await buyer.order(offer, purchase.meter_id, purchase.wh_by_start())
        return await buyer.buy(offer.seller, contract)

    async def trade(self) -> None:
        """Every purchase of the scenario."""
        for purchase in self.scenario.purchases:
            trade = await self.buy(purchase)
            if trade.ledger_error:
                self.result.problems.append(
                    f"{purchase.label}: buyer ledger write: {trade.ledger_error}"
                )
            self.result.trades[purchase.label] = trade

    async def curtail(self) -> None:
        """The seller DISCOM's curtailment, and the buyer hearing of it."""
        cut = self.scenario.curtailment
        if cut is None:
            return
        trade = self.result.trades[cut.purchase]
        for commitment, line in trade.contract.lines:
            await self.control(
                trade.contract.seller.discom_id,
                "curtail",
                transaction_id=trade.transaction_id,
                order_item_id=commitment.item_id(line),
                curtailed_kwh=str(cut.kwh),
                reason=cut.reason,
            )
        buyer = self.buyers[self.scenario.purchase(cut.purchase).buyer_platform]
        heard = await buyer.updates(
            trade, wait=10, sender=trade.seller.subscriber_id, count=len(trade.contract.lines)
        )
        self.updates[cut.purchase] = heard
        for update in heard:
            for c in update.message["contract"].get("commitments", []):
                for entry in c.get("curtailment", []):
                    quantity = entry["curtailedQuantity"]["unitQuantity"]
                    self.result.curtailments[cut.purchase] = read_wh(quantity, "curtailedQuantity")
        if cut.purchase not in self.result.curtailments:
            self.result.problems.append(f"{cut.purchase}: the buyer heard of no curtailment")

    async def allocate(self) -> None:
        """Every DISCOM's seller round, then every buyer round, then every settlement."""
        day = self.scenario.day.isoformat()
        for step in ("seller", "buyer"):
            for discom in self.scenario.discoms:
                await self.control(discom, "allocate", day=day, round=step)
        for discom in self.scenario.discoms:
            report = await self.control(discom, "allocate", day=day, round="settle")
            self.result.reports[discom] = read_report(report)

    async def views(self) -> None:
        """FINAL_ALLOC as the seller platform and the buyer's DISCOM ledger answer it."""
        for purchase in self.scenario.purchases:
            buyer = self.buyers[purchase.buyer_platform]
            trade = self.result.trades[purchase.label]
            seller_view = self.seller_views[purchase.label] = await buyer.status(trade)
            own = self.ledger_views[purchase.label] = await buyer.ledger(trade)
            finals: dict[str, int | None] = {}
            for item, columns in view_columns(seller_view.message["contract"]).items():
                final = columns.get("FINAL_ALLOC")
                finals[item] = None if final is None else read_wh(final, "FINAL_ALLOC")
            self.result.views[purchase.label] = {
                "seller platform": finals,
                "buyer's DISCOM ledger": {
                    r.order_item_id: _final(r) for r in read_records(own.message)
                },
            }

    async def verify(self) -> None:
        """Each DISCOM's ledger walks its digest chain."""
        for discom in self.scenario.discoms:
            chain = await self.control(discom, "verify")
            self.result.chains[discom] = bool(chain["ok"])
            if not chain["ok"]:
                self.result.problems.append(f"{discom} ledger chain broken: {chain['reason']}")


def _final(record: TradeRecord) -> int | None:
    seller, buyer = allocated_wh(record, "seller"), allocated_wh(record, "buyer")
    return None if seller is None or buyer is None else min(seller, buyer)
