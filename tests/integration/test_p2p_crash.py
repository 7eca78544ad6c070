"""A seller platform process that dies around its blocking ledger write leaves no orphan trade.

The seller platform runs as a real process with Redis (its ``confirm`` job is durable) and
a SQLite trade journal; the seller DISCOM's ledger provider runs as another process on a
SQLite ledger; the buyer is a node in the test. ``IES_FAULT`` (:mod:`iesnode.faults`)
ends the seller process right after the ledger's ``on_confirm`` (or right before the
write); the restarted process takes the job over and the buyer hears exactly once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from iesnode.faults import FAULT_EXIT
from iesnode.node import Node
from iesnode.protocol.roles.bap import Callback, Peer
from iesnode.protocol.roles.bpp import IncomingRequest
from iesnode.storage.sqlite import SqliteRecordStore
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.cluster import P2PCluster
from iesnode.usecases.p2p.config import (
    LedgerProviderConfig,
    SellerPlatformConfig,
)
from iesnode.usecases.p2p.ledger_sqlite import SqliteLedger
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.peers import bap_client
from iesnode.usecases.p2p.trade_journal import KIND, PlatformTrade
from tests.integration.p2p_crash_net import LP, SLOT, Network, buyer_config, role, seller_table


async def quoted(buyer: BuyerPlatform, node: Node, seller: Peer, wh: int) -> Callback:
    """select -> init for ``wh`` of the slot; the seller's ``on_init``."""
    found = (await buyer.discover(to=seller, ttl=10, sellers=1))[0]
    contract = await buyer.order(found, "TEST_METER_B1", {SLOT: wh})
    bap = bap_client(node)
    on_select = await bap.select(seller, {"contract": contract.to_wire()}, ttl=10)
    return await bap.init(on_select, {"contract": on_select.message["contract"]}, ttl=10)


async def on_confirms(node: Node, on_init: Callback, quiet: float) -> list[Callback]:
    """Confirm; every on_confirm that arrives until ``quiet`` seconds after the first."""
    bap = bap_client(node)
    message = {"contract": on_init.message["contract"]}
    sent = await bap.send(
        "confirm", message, to=on_init.peer, transaction_id=on_init.context.transaction_id, ttl=90
    )
    stream = bap.callbacks(sent)
    got = [await asyncio.wait_for(anext(stream), timeout=60)]
    if quiet > 0:
        try:
            async with asyncio.timeout(quiet):
                async for callback in stream:
                    got.append(callback)
        except TimeoutError:
            pass
    await stream.aclose()
    return got


async def left_wh(buyer: BuyerPlatform, seller: Peer) -> int:
    """Wh of the slot the seller's catalog still shows."""
    found = await buyer.discover(to=seller, ttl=10, sellers=1)
    slot = found[0].offer.slot(SLOT) if found else None
    return 0 if slot is None else slot.available_wh


async def crash_and_recover(net: Network, point: str) -> tuple[list[Callback], int, int, int]:
    """Trade 3 kWh and stop the seller; trade 5 kWh with it crashing at ``point``; restart.

    Returns the second trade's on_confirms, the ledger rows while the seller was down,
    the Wh the catalog shows after recovery, and the crashed process's exit status.
    """
    seller = Peer(net.seller.subscriber_id, net.seller.url)
    fault = f"{point}@{net.tmp / 'crashed'}"
    buyer = BuyerPlatform(buyer_config())
    node = net.buyer_node()
    with role(net.lp_file(), net.tmp / "lp.log"):
        async with node:
            await buyer.start(node)
            with role(net.seller_file(), net.tmp / "seller.log"):
                first = await on_confirms(node, await quoted(buyer, node, seller, 3_000), 0)
                assert first[0].error is None
            with role(net.seller_file(), net.tmp / "seller.log", fault) as crashing:
                on_init = await quoted(buyer, node, seller, 5_000)
                confirming = asyncio.create_task(on_confirms(node, on_init, quiet=4.0))
                status = await asyncio.to_thread(crashing.wait, 60)
                rows_while_down = net.ledger_rows()
            with role(net.seller_file(), net.tmp / "seller.log", fault):
                got = await confirming
                left = await left_wh(buyer, seller)
    return got, rows_while_down, left, status


async def journaled_states(net: Network, transaction_id: str) -> list[str]:
    """Every state the seller's journal recorded for the trade, oldest first."""
    store = await SqliteRecordStore.open(net.tmp / "seller-journal.sqlite")
    try:
        history = await store.history(KIND, transaction_id)
    finally:
        await store.aclose()
    return [PlatformTrade.from_json(v.data).state.value for v in history]


async def ledger_after(net: Network) -> tuple[list[Any], Any]:
    """The seller DISCOM's records and chain report, read from the file after the run."""
    ledger = await SqliteLedger.open(net.ledger_path)
    try:
        return await ledger.get(reader=LP), await ledger.verify()
    finally:
        await ledger.aclose()


async def test_crash_after_the_ledger_write_gives_one_on_confirm_and_one_record(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """Killed after the ledger's on_confirm: restarted, one on_confirm, one ledger row."""
    net = Network.new(tmp_path, redis_url)
    got, rows_while_down, left, status = await crash_and_recover(net, "p2p.after_ledger_write")
    records, chain = await ledger_after(net)
    assert status == FAULT_EXIT
    assert rows_while_down == 2  # the first trade and the crashed one: written, unanswered
    assert len(got) == 1
    assert got[0].error is None
    sent = read_records(got[0].message)
    second = [r for r in records if r.transaction_id == got[0].context.transaction_id]
    assert [(r.record_id, r.row_digest) for r in sent] == [
        (r.record_id, r.row_digest) for r in second
    ]
    assert (len(records), chain.ok, chain.rows) == (2, True, 2)
    assert left == 20_000 - 3_000 - 5_000
    txn = got[0].context.transaction_id
    assert await journaled_states(net, txn) == ["RESERVED", "CONFIRMED"]  # reserved once


async def test_crash_before_the_ledger_write_leaves_no_record_until_the_retry(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """Killed before the write: no ledger row; the retried job writes one and answers once."""
    net = Network.new(tmp_path, redis_url)
    got, rows_while_down, left, status = await crash_and_recover(net, "p2p.before_ledger_write")
    records, chain = await ledger_after(net)
    assert status == FAULT_EXIT
    assert rows_while_down == 1  # only the first trade
    assert len(got) == 1
    assert got[0].error is None
    assert [r.record_id for r in read_records(got[0].message)] == [
        r.record_id for r in records if r.transaction_id == got[0].context.transaction_id
    ]
    assert (len(records), chain.ok, chain.rows) == (2, True, 2)
    assert left == 20_000 - 3_000 - 5_000
    txn = got[0].context.transaction_id
    assert await journaled_states(net, txn) == ["RESERVED", "CONFIRMED"]  # reserved once


async def test_a_ledger_answer_too_late_keeps_the_energy_until_the_buyer_confirms_again() -> None:
    """The ledger ACKs but answers after ledger_ttl: energy stays off; a new confirm finishes."""
    async with P2PCluster(network_policy=False) as cluster:
        lp = await cluster.ledger_provider(LedgerProviderConfig(discom_id=LP, meter_bpp="mdm"))
        table = seller_table(ledger_ttl=1)
        await cluster.seller_platform("sunshare.test", SellerPlatformConfig.model_validate(table))
        buyer = await cluster.buyer_platform("powerbuy.test", buyer_config())
        delays = [2.0]

        @lp.handlers.guard("confirm")
        async def late(_req: IncomingRequest) -> None:
            if delays:
                await asyncio.sleep(delays.pop())

        node = cluster.net.nodes[-1]
        seller = Peer("sunshare.test", cluster.net.nodes[-2].public_url)
        on_init = await quoted(buyer, node, seller, 5_000)
        first = await on_confirms(node, on_init, 0)
        left = await left_wh(buyer, seller)
        await asyncio.sleep(1.5)  # the first confirm reaches the ledger expired: not written
        second = await on_confirms(node, on_init, 0)
        records = await lp.ledger.get(reader=LP)
        chain = await lp.ledger.verify()
    assert first[0].error is not None
    assert first[0].error.code == "P2P_LEDGER_UNAVAILABLE"
    assert left == 15_000
    assert second[0].error is None
    assert [r.record_id for r in read_records(second[0].message)] == [r.record_id for r in records]
    assert (chain.ok, chain.rows) == (True, 1)
