"""TradeLedger rules, the same in memory and in SQLite: who writes what, idempotency, reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from iesnode.usecases.p2p import (
    LEDGER_BAD_INPUT,
    LEDGER_CONFLICT,
    LEDGER_NOT_A_PARTY,
    LEDGER_UNKNOWN_TRADE,
    LedgerError,
    MetricType,
    TradeDetail,
    TradeLedger,
    TradeStatus,
    ValidationMetric,
)
from tests.unit.p2p_trades import (
    BUYER_DISCOM,
    BUYER_PLATFORM,
    DELIVERY,
    LEDGER_KINDS,
    SELLER_DISCOM,
    SELLER_PLATFORM,
    make_trade,
    open_ledger,
)

PUSHED = ValidationMetric(MetricType.ACTUAL_PUSHED, 7_500)
PULLED = ValidationMetric(MetricType.ACTUAL_PULLED, 9_000)


@pytest.fixture(params=LEDGER_KINDS)
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TradeLedger]:
    """Each ledger implementation, fresh per test, on a frozen clock."""
    async with open_ledger(request.param, tmp_path) as impl:
        yield impl


async def test_put_stores_a_confirmed_first_version(ledger: TradeLedger) -> None:
    """A new trade is version 1, CONFIRMED on both sides, with a 64-hex row digest."""
    record = await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    assert (record.version, record.status_buyer_discom, record.status_seller_discom) == (
        1,
        TradeStatus.CONFIRMED,
        TradeStatus.CONFIRMED,
    )
    assert len(record.row_digest) == 64
    assert record.trade_input() == make_trade()


async def test_repeat_put_with_same_reference_returns_the_same_record(ledger: TradeLedger) -> None:
    """Same client reference and content: the stored record comes back and no row is added."""
    first = await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    again = await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    assert again == first
    assert (await ledger.verify()).rows == 1


async def test_same_reference_with_other_content_is_a_conflict(ledger: TradeLedger) -> None:
    """Reusing a client reference for different content is LEDGER_CONFLICT."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    changed = make_trade(trade_details=(TradeDetail(trade_qty_wh=12_000),))
    with pytest.raises(LedgerError) as caught:
        await ledger.put(changed, writer=SELLER_PLATFORM)
    assert (caught.value.code, caught.value.path) == (LEDGER_CONFLICT, "clientReference")


async def test_reference_reused_for_another_trade_is_a_conflict(ledger: TradeLedger) -> None:
    """A client reference names one write in the whole ledger."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    with pytest.raises(LedgerError) as caught:
        await ledger.put(make_trade(order_item_id="item-2"), writer=SELLER_PLATFORM)
    assert caught.value.code == LEDGER_CONFLICT


async def test_other_platform_writing_the_same_trade_adds_no_row(ledger: TradeLedger) -> None:
    """The buyer platform's put of the identical trade (own reference) returns the record."""
    first = await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    second = await ledger.put(make_trade(client_reference="ref-b"), writer=BUYER_PLATFORM)
    assert second == first
    assert (await ledger.verify()).rows == 1


async def test_changed_trade_appends_a_new_version(ledger: TradeLedger) -> None:
    """A platform change under a new reference is version 2 with the same record id."""
    first = await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    changed = make_trade(client_reference="ref-2", price_paise_per_kwh=1300)
    second = await ledger.put(changed, writer=BUYER_PLATFORM)
    assert (second.version, second.record_id, second.price_paise_per_kwh) == (
        2,
        first.record_id,
        1300,
    )


@pytest.mark.parametrize("writer", [BUYER_DISCOM, SELLER_DISCOM, "someone.else.example.com"])
async def test_put_by_a_non_platform_is_refused(ledger: TradeLedger, writer: str) -> None:
    """Only the trade's platforms may put it; DISCOMs and strangers get LEDGER_NOT_A_PARTY."""
    with pytest.raises(LedgerError) as caught:
        await ledger.put(make_trade(), writer=writer)
    assert (caught.value.code, caught.value.path) == (LEDGER_NOT_A_PARTY, "writer")
    assert (await ledger.verify()).rows == 0


async def test_buyer_discom_records_the_buyer_side(ledger: TradeLedger) -> None:
    """The buyer DISCOM's metrics and status land on the buyer side only."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    record = await ledger.record(
        "txn-1", "item-1", writer=BUYER_DISCOM, metrics=[PULLED], status=TradeStatus.COMPLETED
    )
    assert (record.buyer_metrics, record.status_buyer_discom) == ((PULLED,), TradeStatus.COMPLETED)
    assert (record.seller_metrics, record.status_seller_discom) == ((), TradeStatus.CONFIRMED)


async def test_seller_discom_records_the_seller_side(ledger: TradeLedger) -> None:
    """The seller DISCOM's metrics land on the seller side only."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    record = await ledger.record("txn-1", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED])
    assert (record.seller_metrics, record.buyer_metrics, record.version) == ((PUSHED,), (), 2)


async def test_record_by_a_platform_is_refused(ledger: TradeLedger) -> None:
    """Platforms cannot record actuals: LEDGER_NOT_A_PARTY."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    with pytest.raises(LedgerError) as caught:
        await ledger.record("txn-1", "item-1", writer=SELLER_PLATFORM, metrics=[PUSHED])
    assert caught.value.code == LEDGER_NOT_A_PARTY


async def test_actuals_for_an_unknown_trade_are_refused(ledger: TradeLedger) -> None:
    """Recording on a trade the ledger never saw is LEDGER_UNKNOWN_TRADE."""
    with pytest.raises(LedgerError) as caught:
        await ledger.record("txn-404", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED])
    assert (caught.value.code, caught.value.path) == (LEDGER_UNKNOWN_TRADE, "transactionId")


async def test_intra_discom_record_must_name_the_side(ledger: TradeLedger) -> None:
    """A DISCOM serving both sides must say which side it records (LEDGER_BAD_INPUT at side)."""
    await ledger.put(make_trade(discom_id_buyer=SELLER_DISCOM), writer=SELLER_PLATFORM)
    with pytest.raises(LedgerError) as caught:
        await ledger.record("txn-1", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED])
    assert (caught.value.code, caught.value.path) == (LEDGER_BAD_INPUT, "side")
    record = await ledger.record(
        "txn-1", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED], side="seller"
    )
    assert record.seller_metrics == (PUSHED,)


async def test_completed_side_refuses_changes_but_accepts_a_repeat(ledger: TradeLedger) -> None:
    """After COMPLETED, the same record is answered as stored; a different one is a conflict."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    done = await ledger.record(
        "txn-1", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED], status=TradeStatus.COMPLETED
    )
    repeat = await ledger.record("txn-1", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED])
    assert repeat == done
    with pytest.raises(LedgerError) as caught:
        await ledger.record(
            "txn-1",
            "item-1",
            writer=SELLER_DISCOM,
            metrics=[ValidationMetric(PUSHED.metric_type, 1)],
        )
    assert caught.value.code == LEDGER_CONFLICT


async def test_platform_change_after_a_discom_status_is_a_conflict(ledger: TradeLedger) -> None:
    """Once a DISCOM moved the trade out of PENDING/CONFIRMED, platforms cannot change it."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    await ledger.record(
        "txn-1", "item-1", writer=SELLER_DISCOM, metrics=[], status=TradeStatus.CURTAILED_OUTAGE
    )
    with pytest.raises(LedgerError) as caught:
        await ledger.put(
            make_trade(client_reference="r2", price_paise_per_kwh=1), writer=BUYER_PLATFORM
        )
    assert caught.value.code == LEDGER_CONFLICT


async def test_reads_show_a_trade_only_to_its_parties(ledger: TradeLedger) -> None:
    """Each platform and DISCOM of the trade sees it; anyone else sees nothing."""
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    other = make_trade(
        transaction_id="txn-2", client_reference="ref-x", platform_id_buyer="other.example.com"
    )
    await ledger.put(other, writer="other.example.com")
    for party in (BUYER_PLATFORM, SELLER_PLATFORM, BUYER_DISCOM, SELLER_DISCOM):
        seen = {record.transaction_id for record in await ledger.get(reader=party)}
        assert seen == ({"txn-1"} if party == BUYER_PLATFORM else {"txn-1", "txn-2"})
    assert await ledger.get(reader="stranger.example.com") == []


async def test_reads_filter_by_transaction_discom_and_delivery(ledger: TradeLedger) -> None:
    """transaction_id, discom_id and [delivery_from, delivery_to) narrow what a party sees."""
    later = DELIVERY + timedelta(hours=1)
    await ledger.put(make_trade(), writer=SELLER_PLATFORM)
    await ledger.put(
        make_trade(
            transaction_id="txn-2",
            client_reference="ref-2",
            delivery_start=later,
            delivery_end=later + timedelta(hours=1),
            discom_id_buyer="TEST_DISCOM_OTHER",
        ),
        writer=SELLER_PLATFORM,
    )

    async def ids(**filters: object) -> list[str]:
        found = await ledger.get(reader=SELLER_DISCOM, **filters)  # type: ignore[arg-type]
        return [record.transaction_id for record in found]

    assert await ids() == ["txn-1", "txn-2"]
    assert await ids(transaction_id="txn-2") == ["txn-2"]
    assert await ids(discom_id=BUYER_DISCOM) == ["txn-1"]
    assert await ids(delivery_from=later) == ["txn-2"]
    assert await ids(delivery_to=later) == ["txn-1"]


async def test_concurrent_puts_of_one_trade_make_one_record(ledger: TradeLedger) -> None:
    """Two tasks putting the same trade at once get the same record and one row."""
    first, second = await asyncio.gather(
        ledger.put(make_trade(), writer=SELLER_PLATFORM),
        ledger.put(make_trade(client_reference="ref-b"), writer=BUYER_PLATFORM),
    )
    assert first == second
    assert (await ledger.verify()).rows == 1


async def test_a_chain_of_writes_verifies(ledger: TradeLedger) -> None:
    """After puts and records on several trades, verify walks every row and finds it sound."""
    for index in range(3):
        trade = make_trade(transaction_id=f"txn-{index}", client_reference=f"ref-{index}")
        await ledger.put(trade, writer=SELLER_PLATFORM)
        await ledger.record(trade.transaction_id, "item-1", writer=SELLER_DISCOM, metrics=[PUSHED])
    report = await ledger.verify()
    assert (report.ok, report.rows, report.first_bad_row, report.reason) == (True, 6, None, "")
