"""A ledger provider's daily allocation: pro rata with a shortfall penalty (S6), curtailed
trades, missing actuals flagged and never invented, a counterpart ledger without the trade."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from iesnode.adapters import Direction
from iesnode.usecases.p2p.allocation_run import AllocationRun, MeterWindow
from iesnode.usecases.p2p.ledger import (
    MetricType,
    TradeDetail,
    TradeInput,
    TradeRecord,
    TradeStatus,
    ValidationMetric,
)
from iesnode.usecases.p2p.ledger_memory import MemoryLedger
from iesnode.usecases.p2p.ledger_view import allocated_wh
from iesnode.usecases.p2p.meter_bpp import IntervalActual, MeterSeries
from iesnode.usecases.p2p.scenario import DAY, at
from iesnode.usecases.p2p.settlement import SettlementTerms
from tests.integration.p2p_world import world

DISCOM = "BESCOM-KA"
TERMS = SettlementTerms(45, 30, 150)


def trade(txn: str, buyer: str, wh: int, *, buyer_discom: str = DISCOM) -> TradeInput:
    """A 10:00-11:00 trade from TEST_METER_S1 (BESCOM) to ``buyer``."""
    return TradeInput(
        transaction_id=txn,
        order_item_id="c/0",
        platform_id_buyer="powerbuy.test",
        platform_id_seller="sunshare.test",
        discom_id_buyer=buyer_discom,
        discom_id_seller=DISCOM,
        buyer_id=buyer,
        seller_id="TEST_METER_S1",
        trade_time=at(20, DAY - timedelta(days=1)),
        delivery_start=at(10),
        delivery_end=at(11),
        trade_details=(TradeDetail(wh),),
        price_paise_per_kwh=650,
        client_reference=f"{txn}/c/0",
    )


def series(meter: str, direction: Direction, wh: int | None) -> MeterSeries:
    """One hour of actuals (None: missing)."""
    cell = IntervalActual(at(10), at(11), wh, "missing" if wh is None else "actual")
    return MeterSeries(meter, direction, (cell,))


def run(ledger: MemoryLedger, readings: Mapping[str, int | None]) -> AllocationRun:
    """BESCOM's run for the day over ``readings`` (``meter/direction`` -> Wh)."""

    async def actuals(windows: Sequence[MeterWindow]) -> dict[str, MeterSeries | str]:
        found: dict[str, MeterSeries | str] = {}
        for meter, direction, _, _ in windows:
            key = f"{meter}/{direction}"
            found[key] = series(meter, direction, readings[key]) if key in readings else "unknown"
        return found

    async def counterpart(discom: str, txn: str) -> list[TradeRecord] | str:
        return "no counterpart in this test"

    return AllocationRun(
        discom_id=DISCOM,
        ledger=ledger,
        start=at(0),
        end=at(0, DAY + timedelta(days=1)),
        fetch_actuals=actuals,
        fetch_counterpart=counterpart,
        terms_for=lambda _: TERMS,
    )


async def test_seller_short_on_two_trades_shares_pro_rata_with_penalty() -> None:
    """S6: 15 kWh exported for two 10 kWh trades: 7.5 / 7.5, and a 2.5 kWh penalty each."""
    ledger = MemoryLedger()
    for txn, buyer in (("t1", "TEST_METER_B1"), ("t3", "TEST_METER_B2")):
        await ledger.put(trade(txn, buyer, 10_000), writer="sunshare.test")
    readings = {
        "TEST_METER_S1/export": 15_000,
        "TEST_METER_B1/import": 9_000,
        "TEST_METER_B2/import": 12_000,
    }
    day = run(ledger, readings)
    await day.seller_side()
    await day.buyer_side()
    report = await day.settle()
    finals = [o.allocation.final_alloc_wh for o in report.trades if o.allocation]
    seller_discom = {f.role: f.amount_paise for f in report.trades[0].flows}["sellerDiscom"]
    assert finals == [7_500, 7_500]
    assert seller_discom == 225 + 375  # wheeling 7.5 kWh x 30 p, penalty 2.5 kWh x 150 p
    assert report.balanced


async def test_missing_actuals_leave_the_trades_unallocated_and_flagged() -> None:
    """No export reading for the hour: nothing is recorded, the trade says why."""
    ledger = MemoryLedger()
    await ledger.put(trade("t1", "TEST_METER_B1", 10_000), writer="sunshare.test")
    day = run(ledger, {"TEST_METER_S1/export": None})
    await day.seller_side()
    report = await day.settle()
    (outcome,) = report.trades
    assert outcome.allocation is None
    assert outcome.record.status_seller_discom is TradeStatus.CONFIRMED
    assert allocated_wh(outcome.record, "seller") is None
    assert any("no export actual for TEST_METER_S1" in flag for flag in outcome.flags)
    assert any(flag.endswith(": missing") for flag in report.flags)


async def test_curtailed_trade_competes_only_for_what_the_grid_let_through() -> None:
    """Curtailed to 3 of 10 kWh next to a 10 kWh trade, 9 kWh exported: 3 x 9/13 and 10 x 9/13."""
    ledger = MemoryLedger()
    for txn in ("t1", "t2"):
        await ledger.put(trade(txn, f"TEST_METER_{txn}", 10_000), writer="sunshare.test")
    await ledger.record(
        "t1",
        "c/0",
        writer=DISCOM,
        metrics=[ValidationMetric(MetricType.AVAILABILITY, 3_000)],
        status=TradeStatus.CURTAILED_OUTAGE,
        side="seller",
    )
    day = run(ledger, {"TEST_METER_S1/export": 9_000})
    await day.seller_side()
    records = {r.transaction_id: r for r in await day.trades()}
    assert allocated_wh(records["t1"], "seller") == 2_077
    assert allocated_wh(records["t2"], "seller") == 6_923
    assert records["t1"].status_seller_discom is TradeStatus.CURTAILED_OUTAGE


async def test_running_a_round_again_records_nothing_new() -> None:
    """The seller round is idempotent: the ledger's chain does not grow on a repeat."""
    ledger = MemoryLedger()
    await ledger.put(trade("t1", "TEST_METER_B1", 10_000), writer="sunshare.test")
    day = run(ledger, {"TEST_METER_S1/export": 8_000})
    await day.seller_side()
    rows = (await ledger.verify()).rows
    await run(ledger, {"TEST_METER_S1/export": 8_000}).seller_side()
    assert (await ledger.verify()).rows == rows


async def test_counterpart_ledger_without_the_trade_leaves_it_unallocated() -> None:
    """HESCOM holds a trade BESCOM's ledger never saw: BESCOM answers LEDGER_UNKNOWN_TRADE."""
    async with world() as w:
        hescom = w.lps["HESCOM-KA"]
        orphan = trade("orphan", "TEST_METER_B1", 5_000, buyer_discom="HESCOM-KA")
        await hescom.ledger.put(orphan, writer="powerbuy.test")
        day = hescom.allocation_run(DAY)
        await day.buyer_side()
        report = await day.settle()
    (outcome,) = report.trades
    assert outcome.allocation is None
    assert any("LEDGER_UNKNOWN_TRADE" in flag for flag in outcome.flags)
    assert allocated_wh(outcome.record, "buyer") is None
