"""TradeLedger.put_many: a contract's trades are written all or nothing, in memory and SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from iesnode.usecases.p2p import (
    LEDGER_BAD_INPUT,
    LEDGER_CONFLICT,
    LEDGER_NOT_A_PARTY,
    LedgerError,
    SqliteLedger,
    TradeDetail,
    TradeInput,
    TradeLedger,
)
from tests.unit.p2p_trades import (
    BUYER_PLATFORM,
    LEDGER_KINDS,
    SELLER_PLATFORM,
    make_trade,
    open_ledger,
)


def items(*numbers: int, **overrides: Any) -> list[TradeInput]:
    """Order items ``item-<n>`` of txn-1, each with its own client reference."""
    return [
        make_trade(order_item_id=f"item-{n}", client_reference=f"txn-1/item-{n}", **overrides)
        for n in numbers
    ]


@pytest.fixture(params=LEDGER_KINDS)
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TradeLedger]:
    """Each ledger implementation, fresh per test, on a frozen clock."""
    async with open_ledger(request.param, tmp_path) as impl:
        yield impl


async def stored_items(ledger: TradeLedger) -> list[str]:
    """Order items of txn-1 the ledger holds."""
    return [
        r.order_item_id for r in await ledger.get(reader=SELLER_PLATFORM, transaction_id="txn-1")
    ]


async def test_batch_writes_every_item_in_order(ledger: TradeLedger) -> None:
    """Three new items: three version-1 records in the batch's order, three chained rows."""
    records = await ledger.put_many(items(1, 2, 3), writer=SELLER_PLATFORM)
    report = await ledger.verify()
    assert [(r.order_item_id, r.version) for r in records] == [
        ("item-1", 1),
        ("item-2", 1),
        ("item-3", 1),
    ]
    assert (report.ok, report.rows) == (True, 3)


async def test_conflict_on_the_second_item_leaves_nothing_of_the_batch(ledger: TradeLedger) -> None:
    """item-2's reference already names other content: item-1 is not written either."""
    await ledger.put(items(2)[0], writer=SELLER_PLATFORM)
    changed = items(1, 2, 3, trade_details=(TradeDetail(trade_qty_wh=12_000),))
    with pytest.raises(LedgerError) as caught:
        await ledger.put_many(changed, writer=SELLER_PLATFORM)
    assert (caught.value.code, caught.value.path) == (LEDGER_CONFLICT, "clientReference")
    assert "'item-2'" in caught.value.message
    assert await stored_items(ledger) == ["item-2"]
    assert (await ledger.verify()).rows == 1


async def test_a_later_item_the_writer_is_no_party_of_leaves_nothing(ledger: TradeLedger) -> None:
    """The third item names other platforms: LEDGER_NOT_A_PARTY and an empty ledger."""
    batch = [*items(1, 2), *items(3, platform_id_seller="other.example.com")]
    with pytest.raises(LedgerError) as caught:
        await ledger.put_many(batch, writer=SELLER_PLATFORM)
    assert caught.value.code == LEDGER_NOT_A_PARTY
    assert await stored_items(ledger) == []
    assert (await ledger.verify()).rows == 0


async def test_repeated_batch_returns_the_same_records_and_adds_no_row(
    ledger: TradeLedger,
) -> None:
    """The same batch again (a repeated confirm) is answered from the ledger, no new rows."""
    first = await ledger.put_many(items(1, 2), writer=SELLER_PLATFORM)
    again = await ledger.put_many(items(1, 2), writer=SELLER_PLATFORM)
    assert again == first
    assert (await ledger.verify()).rows == 2


async def test_batch_with_an_already_written_item_adds_only_the_new_ones(
    ledger: TradeLedger,
) -> None:
    """item-1 stored identically before: it comes back unchanged; item-2 and item-3 are new."""
    before = await ledger.put(items(1)[0], writer=SELLER_PLATFORM)
    records = await ledger.put_many(items(1, 2, 3), writer=SELLER_PLATFORM)
    assert records[0] == before
    assert [r.version for r in records] == [1, 1, 1]
    assert (await ledger.verify()).rows == 3


async def test_items_of_one_batch_see_the_earlier_ones(ledger: TradeLedger) -> None:
    """One key twice with other content: the second is version 2 of the first."""
    second = make_trade(order_item_id="item-1", client_reference="ref-2", price_paise_per_kwh=900)
    records = await ledger.put_many([items(1)[0], second], writer=SELLER_PLATFORM)
    assert [(r.version, r.price_paise_per_kwh) for r in records] == [(1, 1250), (2, 900)]
    assert records[0].record_id == records[1].record_id


async def test_chain_verifies_after_batches_and_a_refused_one(ledger: TradeLedger) -> None:
    """Batches, a refused batch between them and single puts: the chain continues soundly."""
    await ledger.put_many(items(1, 2), writer=SELLER_PLATFORM)
    with pytest.raises(LedgerError):
        await ledger.put_many(items(3, 2, price_paise_per_kwh=1), writer=SELLER_PLATFORM)
    await ledger.put_many(items(4, 5), writer=BUYER_PLATFORM)
    await ledger.put(
        make_trade(transaction_id="txn-2", client_reference="r"), writer=BUYER_PLATFORM
    )
    report = await ledger.verify()
    assert (report.ok, report.rows, report.first_bad_row) == (True, 5, None)
    assert await stored_items(ledger) == ["item-1", "item-2", "item-4", "item-5"]


async def test_concurrent_identical_batches_make_one_set(ledger: TradeLedger) -> None:
    """Two identical batches at once (a confirm and its retry): one set of records."""
    first, second = await asyncio.gather(
        ledger.put_many(items(1, 2, 3), writer=SELLER_PLATFORM),
        ledger.put_many(items(1, 2, 3), writer=SELLER_PLATFORM),
    )
    assert first == second
    assert (await ledger.verify()).rows == 3


async def test_an_item_that_is_not_a_trade_is_bad_input(ledger: TradeLedger) -> None:
    """A batch holding something else is LEDGER_BAD_INPUT naming its index; nothing stored."""
    batch: list[Any] = [*items(1), {"transactionId": "txn-1"}]
    with pytest.raises(LedgerError) as caught:
        await ledger.put_many(batch, writer=SELLER_PLATFORM)
    assert (caught.value.code, caught.value.path) == (LEDGER_BAD_INPUT, "trades[1]")
    assert (await ledger.verify()).rows == 0


async def test_empty_batch_writes_nothing(ledger: TradeLedger) -> None:
    """put_many([]) answers [] and adds no row."""
    assert await ledger.put_many([], writer=SELLER_PLATFORM) == []
    assert (await ledger.verify()).rows == 0


async def test_sqlite_failure_mid_batch_rolls_back_the_earlier_items(tmp_path: Path) -> None:
    """A database error on the second item's reference undoes the first item's row too."""
    path = tmp_path / "ledger.db"
    ledger = await SqliteLedger.open(path)
    try:
        with closing(sqlite3.connect(path)) as connection, connection:
            connection.execute(
                "CREATE TRIGGER fail_ref BEFORE INSERT ON ledger_client_refs"
                " WHEN NEW.client_reference = 'txn-1/item-2'"
                " BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        with pytest.raises(sqlite3.IntegrityError):
            await ledger.put_many(items(1, 2), writer=SELLER_PLATFORM)
        assert await stored_items(ledger) == []
        await ledger.put_many(items(3), writer=SELLER_PLATFORM)
        report = await ledger.verify()
    finally:
        await ledger.aclose()
    assert (report.ok, report.rows) == (True, 1)


async def test_two_connections_racing_identical_batches_make_one_set(tmp_path: Path) -> None:
    """Two SqliteLedgers on one file (two processes' worth) put the same batch: one set."""
    path = tmp_path / "ledger.db"
    first, second = await SqliteLedger.open(path), await SqliteLedger.open(path)
    try:
        results = await asyncio.gather(
            *(
                ledger.put_many(items(1, 2, 3), writer=writer)
                for ledger, writer in [(first, SELLER_PLATFORM), (second, BUYER_PLATFORM)] * 3
            )
        )
        report = await first.verify()
    finally:
        await first.aclose()
        await second.aclose()
    assert all(result == results[0] for result in results)
    assert (report.ok, report.rows) == (True, 3)
