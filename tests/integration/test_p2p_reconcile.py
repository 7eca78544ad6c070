"""Reservations a ledger write left unresolved are settled against the seller DISCOM's ledger.

Real nodes on loopback (:class:`~iesnode.usecases.p2p.cluster.P2PCluster`): the seller
DISCOM's ledger provider, a seller platform with a SQLite trade journal and a 1 s
``ledger_ttl``, and a buyer. Guards on the ledger provider make its answers come too late:
either after it wrote the trade (the ledger holds a trade the seller thinks pending) or
without writing it. The seller's reconciliation rounds then confirm (telling the buyer
with an unsolicited ``on_status``) or release the reservation; a silent ledger leaves it
for the next round; a restarted seller settles a journaled reservation at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iesnode.errors import CallbackError, CallbackTimeout
from iesnode.node import Node
from iesnode.protocol.actions import canonical
from iesnode.protocol.roles.bpp import IncomingRequest
from iesnode.storage.sqlite import SqliteRecordStore
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.cluster import P2PCluster
from iesnode.usecases.p2p.config import LedgerProviderConfig, SellerPlatformConfig
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger_confirm import write_contract
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.peers import bap_client, peer
from iesnode.usecases.p2p.platform import SellerPlatform
from iesnode.usecases.p2p.trade_journal import KIND, PlatformTrade
from tests.integration.p2p_crash_net import LP, SLOT, buyer_config, seller_table

SELLER, BUYER = "sunshare.test", "powerbuy.test"


@dataclass
class Trading:
    """The running roles."""

    cluster: P2PCluster
    lp: LedgerProvider
    seller: SellerPlatform
    buyer: BuyerPlatform
    journal: Path

    def node(self, subscriber_id: str) -> Node:
        """The running node of ``subscriber_id``."""
        return next(n for n in self.cluster.net.nodes if n.signer.subscriber_id == subscriber_id)

    async def restart_seller(self, **config: Any) -> SellerPlatform:
        """Stop the seller platform and its node; start a new one on the same journal."""
        await self.seller.aclose()
        self.cluster.roles.remove(self.seller)
        node = self.node(SELLER)
        await node.aclose()
        self.cluster.net.nodes.remove(node)
        self.seller = await self.cluster.seller_platform(
            SELLER, seller_config(self.journal, **config)
        )
        return self.seller


def seller_config(journal: Path, **extra: Any) -> SellerPlatformConfig:
    """20 kWh in SLOT, a 1 s ledger ttl, due 1.2 s after the write, rounds every 0.2 s."""
    table = seller_table(ledger_ttl=1, reconcile_grace=0.2, reconcile_every=0.2, state_path=journal)
    return SellerPlatformConfig.model_validate({**table, **extra})


@asynccontextmanager
async def trading(tmp_path: Path, **config: Any) -> AsyncIterator[Trading]:
    """Ledger provider (in memory), seller platform (``config`` over the defaults), buyer."""
    async with P2PCluster(network_policy=False) as cluster:
        lp = await cluster.ledger_provider(LedgerProviderConfig(discom_id=LP, meter_bpp="mdm"))
        journal = tmp_path / "seller-journal.sqlite"
        seller = await cluster.seller_platform(SELLER, seller_config(journal, **config))
        buyer = await cluster.buyer_platform(BUYER, buyer_config())
        yield Trading(cluster, lp, seller, buyer, journal)


def answer_late(t: Trading, *, write: bool) -> None:
    """The ledger provider's first confirm answers after the seller's ttl; written if ``write``."""
    calls = [1]

    @t.lp.handlers.guard("confirm")
    async def late(req: IncomingRequest) -> None:
        if not calls:
            return
        calls.pop()
        if write:
            contract = read_contract(req.message["contract"])
            node = t.node(LP)
            await write_contract(
                t.lp.ledger, contract, req.context, writer=req.sender, clock=node.clock
            )
        await asyncio.sleep(1.5)


async def buy(t: Trading, wh: int = 5_000) -> tuple[str, str | None]:
    """The buyer quotes and confirms ``wh`` of SLOT: the transaction and the error code."""
    node = t.node(BUYER)
    seller = await peer(node, SELLER)
    found = (await t.buyer.discover(to=seller, ttl=5, sellers=1))[0]
    contract = await t.buyer.order(found, "TEST_METER_B1", {SLOT: wh})
    bap = bap_client(node)
    on_init = await bap.init(found.seller, {"contract": contract.to_wire()}, ttl=10)
    txn = on_init.context.transaction_id
    try:
        await bap.confirm(on_init, {"contract": on_init.message["contract"]}, ttl=10)
    except CallbackError as exc:
        return txn, exc.code
    return txn, None


async def left_wh(t: Trading) -> int:
    """Wh of SLOT the seller's catalog still shows."""
    found = await t.buyer.discover(to=await peer(t.node(BUYER), SELLER), ttl=5, sellers=1)
    slot = found[0].offer.slot(SLOT) if found else None
    return 0 if slot is None else slot.available_wh


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def journaled(journal: Path, txn: str) -> list[str]:
    """Every state the seller's journal recorded for the trade, oldest first."""
    store = await SqliteRecordStore.open(journal)
    try:
        return [PlatformTrade.from_json(v.data).state.value for v in await store.history(KIND, txn)]
    finally:
        await store.aclose()


async def test_a_reservation_the_ledger_holds_is_confirmed_and_the_buyer_told(
    tmp_path: Path,
) -> None:
    """Written but answered too late: a round confirms it; the buyer hears an on_status."""
    async with trading(tmp_path) as t:
        answer_late(t, write=True)
        txn, code = await buy(t)
        await eventually(lambda: txn in t.seller.trades)
        until = t.node(BUYER).clock.now() + 5
        told = await anext(bap_client(t.node(BUYER)).updates(txn, until))
        held = await t.lp.ledger.get(reader=LP, transaction_id=txn)
        left = await left_wh(t)
    assert code == "P2P_LEDGER_UNAVAILABLE"
    assert canonical(told.context.action) == "on_status"
    assert told.message["contract"]["status"]["code"] == "ACTIVE"
    assert [r.record_id for r in read_records(told.message)] == [r.record_id for r in held]
    assert left == 15_000
    assert await journaled(t.journal, txn) == ["RESERVED", "CONFIRMED"]


async def test_a_reservation_the_ledger_never_got_is_released(tmp_path: Path) -> None:
    """Not written (the late confirm expires at the ledger): a round releases the energy."""
    async with trading(tmp_path) as t:
        answer_late(t, write=False)
        txn, code = await buy(t)
        await eventually(lambda: not t.seller.reserved())
        left = await left_wh(t)
        await asyncio.sleep(1.0)  # the ledger provider's late confirm has run out by now
        held = await t.lp.ledger.get(reader=LP, transaction_id=txn)
    assert code == "P2P_LEDGER_UNAVAILABLE"
    assert left == 20_000
    assert held == []
    assert txn not in t.seller.trades
    assert await journaled(t.journal, txn) == ["RESERVED", "RELEASED"]


async def test_a_silent_ledger_leaves_the_reservation_for_the_next_round(tmp_path: Path) -> None:
    """The first status read times out: the trade stays reserved; the next round confirms."""
    async with trading(tmp_path, reconcile_every=0) as t:
        answer_late(t, write=True)
        silent = [1]

        @t.lp.handlers.guard("status")
        async def quiet(_req: IncomingRequest) -> None:
            if silent:
                silent.pop()
                await asyncio.sleep(1.5)

        txn, _ = await buy(t)
        reconciler = t.seller.reconciler
        assert reconciler is not None
        await asyncio.sleep(0.5)  # due 1.2 s after the write, which took 1 s
        first = await reconciler.round()
        reserved = [trade.transaction_id for trade in t.seller.reserved()]
        second = await reconciler.round()
    assert (first.left, first.confirmed, reserved) == ([txn], [], [txn])
    assert (second.confirmed, second.left) == ([txn], [])
    assert await journaled(t.journal, txn) == ["RESERVED", "CONFIRMED"]


async def test_a_restarted_seller_confirms_a_journaled_reservation_the_ledger_holds(
    tmp_path: Path,
) -> None:
    """RESERVED in the journal, held by the ledger: CONFIRMED by the round at start."""
    async with trading(tmp_path, reconcile_every=0, reconcile_grace=30) as t:
        answer_late(t, write=True)
        txn, code = await buy(t)
        reserved = [trade.transaction_id for trade in t.seller.reserved()]
        seller = await t.restart_seller(reconcile_every=0, reconcile_grace=0)
        assert seller.reconciler is not None
        await seller.reconciler.started()
        confirmed = txn in seller.trades
        left = await left_wh(t)
    assert (code, reserved) == ("P2P_LEDGER_UNAVAILABLE", [txn])
    assert confirmed
    assert left == 15_000
    assert await journaled(t.journal, txn) == ["RESERVED", "CONFIRMED"]


async def test_the_ledger_provider_writes_nothing_for_an_expired_confirm(tmp_path: Path) -> None:
    """A confirm that reaches the ledger write after its ttl is refused and stores nothing."""
    async with trading(tmp_path) as t:
        reached = asyncio.Event()

        @t.lp.handlers.guard("confirm")
        async def slow(_req: IncomingRequest) -> None:
            await asyncio.sleep(1.2)
            reached.set()

        node = t.node(BUYER)
        found = (await t.buyer.discover(to=await peer(node, SELLER), ttl=5, sellers=1))[0]
        contract = await t.buyer.order(found, "TEST_METER_B1", {SLOT: 5_000})
        bap = bap_client(node)
        on_init = await bap.init(found.seller, {"contract": contract.to_wire()}, ttl=10)
        message = {"contract": on_init.message["contract"]}
        lp = await peer(node, LP)
        with pytest.raises(CallbackTimeout):
            await bap.confirm(lp, message, transaction_id="txn-late", ttl=1)
        await reached.wait()
        await asyncio.sleep(0.3)
        held = await t.lp.ledger.get(reader=LP)
    assert held == []
