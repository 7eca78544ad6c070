"""One P2P trading day on loopback: publish, trade, deliver, allocate, settle.

What ``iesnode demo p2p`` runs (``research/energy-domain.md`` §2.2 phases 1-6, scenarios
S4 and S6): every role of the :class:`~.scenario.DayScenario` (by default
``examples/p2p_trading/day.toml``) as a real node in this process, every message signed
and verified - a gateway, the seller and buyer platforms, each DISCOM's ledger provider
(a SQLite ledger in a temporary directory) and meter-data BPP (the CSV adapter over the
DISCOM's MDM export). On a simulated clock: the evening before delivery the sellers
publish and the buyers discover and trade; a seller DISCOM curtails a trade; after
midnight every DISCOM runs its seller round, then every DISCOM its buyer round, then all
settle. Then the day is checked: every trade settled, both DISCOMs, the seller platform
and the buyer's ledger agree on every FINAL_ALLOC, both DISCOMs compute the same money,
every trade's flows net to zero and both ledgers' digest chains are intact.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from iesnode.usecases.p2p.allocation_run import DayReport, TradeOutcome
from iesnode.usecases.p2p.buyer import BuyerPlatform, BuyerTrade
from iesnode.usecases.p2p.cluster import DATA_NETWORK, P2PCluster, SimulatedClock
from iesnode.usecases.p2p.config import LedgerProviderConfig, MeterBppConfig, whole
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.ledger_view import allocated_wh, read_records, view_columns
from iesnode.usecases.p2p.offers import Filters
from iesnode.usecases.p2p.scenario import DayScenario, at, mdm_adapter
from iesnode.usecases.p2p.series import read_wh

__all__ = ["DayResult", "run_day"]


@dataclass
class DayResult:
    """Everything the day produced, and every disagreement found."""

    scenario: DayScenario
    trades: dict[str, BuyerTrade] = field(default_factory=dict)
    reports: dict[str, DayReport] = field(default_factory=dict)
    views: dict[str, dict[str, dict[str, int | None]]] = field(default_factory=dict)
    """Trade label -> viewer -> order item -> FINAL_ALLOC in Wh as that viewer sees it."""
    curtailments: dict[str, int] = field(default_factory=dict)
    """Trade label -> Wh curtailed, as the buyer heard it from the seller platform."""
    chains: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def outcomes(self, label: str) -> dict[str, TradeOutcome]:
        """The trade's outcomes by DISCOM, from every ledger that holds it."""
        txn = self.trades[label].transaction_id
        return {
            discom: outcome
            for discom, report in self.reports.items()
            for outcome in report.trades
            if outcome.record.transaction_id == txn
        }

    @property
    def ok(self) -> bool:
        """Every trade settled, every party agrees, every flow nets to zero, chains intact."""
        return not self.problems


@dataclass
class _World:
    lps: dict[str, LedgerProvider]
    buyers: dict[str, BuyerPlatform]


async def _start(cluster: P2PCluster, scenario: DayScenario, ledgers: Path) -> _World:
    await cluster.gateway()
    lps: dict[str, LedgerProvider] = {}
    for discom, spec in scenario.discoms.items():
        meters = MeterBppConfig(readers=(discom,))
        await cluster.meter_bpp(spec.meter_bpp, meters, mdm_adapter(spec.data))
        config = LedgerProviderConfig(
            discom_id=discom,
            ledger_path=ledgers / f"{spec.data.name}.sqlite",
            meter_bpp=spec.meter_bpp,
            meter_network_id=DATA_NETWORK,
            tariffs=scenario.tariffs,
            penalty_paise_per_kwh=scenario.penalty_paise_per_kwh,
        )
        lps[discom] = await cluster.ledger_provider(config)
    for name, seller in scenario.sellers.items():
        await cluster.seller_platform(name, seller)
    buyers = {
        name: await cluster.buyer_platform(name, buyer) for name, buyer in scenario.buyers.items()
    }
    return _World(lps, buyers)


async def run_day(scenario: DayScenario | None = None) -> DayResult:
    """Run the whole day; the result says what happened and whether everything agrees."""
    scenario = scenario or DayScenario.load()
    clock = SimulatedClock(scenario.trading_at.timestamp())
    result = DayResult(scenario)
    with tempfile.TemporaryDirectory(prefix="iesnode-p2p-") as tmp:
        async with P2PCluster(clock) as cluster:
            world = await _start(cluster, scenario, Path(tmp))
            await _trade(world, result)
            await _curtail(world, result)
            clock.jump(scenario.allocate_at.timestamp())
            await _allocate(world, result)
            await _views(world, result)
            for discom, lp in world.lps.items():
                chain = await lp.ledger.verify()
                result.chains[discom] = chain.ok
                if not chain.ok:
                    result.problems.append(f"{discom} ledger chain broken: {chain.reason}")
    _check(result)
    return result


async def _trade(world: _World, result: DayResult) -> None:
    day = result.scenario.day
    window = Filters(delivery_from=at(0, day), delivery_to=at(0, day + timedelta(days=1)))
    for purchase in result.scenario.purchases:
        buyer = world.buyers[purchase.buyer_platform]
        sellers = len(result.scenario.sellers)
        found = {f.offer.offer_id: f for f in await buyer.discover(window, ttl=3, sellers=sellers)}
        offer = found[purchase.offer_id]
        contract = await buyer.order(offer, purchase.meter_id, purchase.wh_by_start())
        trade = await buyer.buy(offer.seller, contract)
        if trade.ledger_error:
            result.problems.append(f"{purchase.label}: buyer ledger write: {trade.ledger_error}")
        result.trades[purchase.label] = trade


async def _curtail(world: _World, result: DayResult) -> None:
    cut = result.scenario.curtailment
    if cut is None:
        return
    purchase = result.scenario.purchase(cut.purchase)
    trade = result.trades[cut.purchase]
    lp = world.lps[trade.contract.seller.discom_id]
    for commitment, line in trade.contract.lines:
        wh = whole(cut.kwh, 1000, "curtailed kWh")
        await lp.curtail(trade.transaction_id, commitment.item_id(line), curtailed_wh=wh)
    seller = trade.seller.subscriber_id
    buyer = world.buyers[purchase.buyer_platform]
    heard = await buyer.updates(trade, wait=2, sender=seller, count=len(trade.contract.lines))
    for update in heard:
        for c in update.message["contract"].get("commitments", []):
            for entry in c.get("curtailment", []):
                quantity = entry["curtailedQuantity"]["unitQuantity"]
                result.curtailments[cut.purchase] = read_wh(quantity, "curtailedQuantity")
    if cut.purchase not in result.curtailments:
        result.problems.append(f"{cut.purchase}: the buyer heard of no curtailment")


async def _allocate(world: _World, result: DayResult) -> None:
    runs = {discom: lp.allocation_run(result.scenario.day) for discom, lp in world.lps.items()}
    for run in runs.values():
        await run.seller_side()
    for run in runs.values():
        await run.buyer_side()
    for discom, run in runs.items():
        result.reports[discom] = await run.settle()


async def _views(world: _World, result: DayResult) -> None:
    for purchase in result.scenario.purchases:
        buyer = world.buyers[purchase.buyer_platform]
        trade = result.trades[purchase.label]
        seller_view = await buyer.status(trade)
        own_ledger = await buyer.ledger(trade)
        finals: dict[str, int | None] = {}
        for item, columns in view_columns(seller_view.message["contract"]).items():
            final = columns.get("FINAL_ALLOC")
            finals[item] = None if final is None else read_wh(final, "FINAL_ALLOC")
        result.views[purchase.label] = {
            "seller platform": finals,
            "buyer's DISCOM ledger": {
                r.order_item_id: _final(r) for r in read_records(own_ledger.message)
            },
        }


def _final(record: TradeRecord) -> int | None:
    seller, buyer = allocated_wh(record, "seller"), allocated_wh(record, "buyer")
    return None if seller is None or buyer is None else min(seller, buyer)


def _check(result: DayResult) -> None:
    for label in result.trades:
        outcomes = result.outcomes(label)
        allocations = {discom: o.allocation for discom, o in outcomes.items()}
        if not allocations or any(a is None for a in allocations.values()):
            result.problems.append(f"{label}: not settled in {sorted(allocations)}")
            continue
        if len(set(allocations.values())) != 1:
            result.problems.append(f"{label}: the DISCOMs disagree on the allocation")
        if len({o.flows for o in outcomes.values()}) != 1:
            result.problems.append(f"{label}: the DISCOMs disagree on the money")
        for o in outcomes.values():
            if sum(f.amount_paise for f in o.flows) != 0:
                result.problems.append(f"{label}: flows of {o.key} do not net to zero")
            expected = o.allocation.final_alloc_wh if o.allocation else None
            for viewer, finals in result.views.get(label, {}).items():
                if finals.get(o.record.order_item_id) != expected:
                    result.problems.append(f"{label}: the {viewer} disagrees on FINAL_ALLOC")
