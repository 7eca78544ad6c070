"""P2P trading between real nodes: the seller platform's blocking ledger write, repeated
confirms, refused writes and reads at the ledger provider, discovery filters, curtailment."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from iesnode.errors import CallbackError, NackReceived
from iesnode.model.subscriber import Subscriber, SubscriberQuery
from iesnode.settings import NodeRole
from iesnode.usecases.p2p.buyer import BuyerTrade, Found
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger import TradeDetail, TradeStatus
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.offers import Filters
from iesnode.usecases.p2p.peers import bap_client
from iesnode.usecases.p2p.scenario import at
from tests.integration.p2p_world import World, world
from tests.log_capture import all_logs


async def offer(w: World) -> Found:
    """The seller's offer, found through discovery at the seller platform."""
    found = await w.buyer.discover(to=w.peer("sunshare.test"), ttl=5, sellers=1)
    return found[0]


async def buy(w: World, meter: str, wh_by_start: dict[datetime, int]) -> BuyerTrade:
    """The buyer platform buys for ``meter``."""
    found = await offer(w)
    contract = await w.buyer.order(found, meter, wh_by_start)
    return await w.buyer.buy(found.seller, contract)


async def test_on_confirm_follows_the_seller_ledger_write() -> None:
    """on_confirm carries the seller ledger's records; both DISCOM ledgers hold the trade."""
    async with world() as w:
        trade = await buy(w, "TEST_METER_B1", {at(10): 10_000})
        seller_side = await w.lps["BESCOM-KA"].ledger.get(reader="BESCOM-KA")
        buyer_side = await w.lps["HESCOM-KA"].ledger.get(reader="HESCOM-KA")
    assert [r.record_id for r in trade.seller_records] == [r.record_id for r in seller_side]
    assert [r.record_id for r in trade.ledger_records] == [r.record_id for r in buyer_side]
    record = seller_side[0]
    assert (record.platform_id_buyer, record.platform_id_seller) == (
        "powerbuy.test",
        "sunshare.test",
    )
    assert (record.buyer_id, record.seller_id, record.requested_wh) == (
        "TEST_METER_B1",
        "TEST_METER_S1",
        10_000,
    )
    assert record.price_paise_per_kwh == 650
    assert record.status_seller_discom is TradeStatus.CONFIRMED


async def test_repeated_confirm_answers_the_same_contract_and_writes_once() -> None:
    """A second confirm of the same trade gets the same on_confirm; the ledger has one row."""
    async with world() as w:
        found = await offer(w)
        contract = await w.buyer.order(found, "TEST_METER_B1", {at(10): 10_000})
        bap = bap_client(w.node("powerbuy.test"))
        on_init = await bap.init(found.seller, {"contract": contract.to_wire()}, ttl=10)
        message = {"contract": on_init.message["contract"]}
        first = await bap.confirm(on_init, copy.deepcopy(message), ttl=10)
        second = await bap.confirm(on_init, copy.deepcopy(message), ttl=10)
        rows = (await w.lps["BESCOM-KA"].ledger.verify()).rows
    assert first.message == second.message
    assert [r.version for r in read_records(second.message)] == [1]
    assert rows == 1


async def test_confirm_fails_and_releases_energy_when_the_ledger_is_down() -> None:
    """No ledger write, no trade: the buyer gets an error and the energy is on offer again."""
    async with world() as w:
        await w.node("BESCOM-KA").aclose()
        with pytest.raises(CallbackError) as refused:
            await buy(w, "TEST_METER_B1", {at(10): 10_000})
        again = await offer(w)
    assert refused.value.code == "P2P_LEDGER_UNAVAILABLE"
    assert w.seller.trades == {}
    slot = again.offer.slot(at(10))
    assert slot is not None
    assert slot.available_wh == 20_000


async def test_contract_with_a_conflicting_second_interval_leaves_nothing_in_the_ledger() -> None:
    """The ledger holds the 11:00 item with other content: 10:00 is not written either."""
    async with world() as w:
        found = await offer(w)
        contract = await w.buyer.order(found, "TEST_METER_B1", {at(10): 4_000, at(11): 4_000})
        bap = bap_client(w.node("powerbuy.test"))
        on_init = await bap.init(found.seller, {"contract": contract.to_wire()}, ttl=10)
        txn = on_init.context.transaction_id
        quoted = read_contract(on_init.message["contract"])
        second = quoted.trade_inputs(txn, at(9))[1]
        ledger = w.lps["BESCOM-KA"].ledger
        other = replace(second, trade_details=(TradeDetail(trade_qty_wh=3_000),))
        await ledger.put(other, writer="sunshare.test")
        with pytest.raises(CallbackError) as refused:
            await bap.confirm(on_init, {"contract": on_init.message["contract"]}, ttl=10)
        held = await ledger.get(reader="BESCOM-KA", transaction_id=txn)
        again = await offer(w)
    assert refused.value.code == "LEDGER_CONFLICT"
    assert [(r.order_item_id, r.requested_wh) for r in held] == [(second.order_item_id, 3_000)]
    assert [s.available_wh for s in again.offer.slots if s.start in (at(10), at(11))] == [
        20_000,
        20_000,
    ]


async def test_select_beyond_the_remaining_energy_is_refused() -> None:
    """Once 10 of 20 kWh are sold, asking for 15 kWh of the slot is P2P_INSUFFICIENT_QTY."""
    async with world() as w:
        await buy(w, "TEST_METER_B1", {at(10): 10_000})
        with pytest.raises(CallbackError) as refused:
            await buy(w, "TEST_METER_B2", {at(10): 15_000})
    assert refused.value.code == "P2P_INSUFFICIENT_QTY"
    assert "REQUESTED_QTY" in str(refused.value.path)


async def policy_refusal(w: World, meter: str, wh_by_start: dict[datetime, int]) -> str:
    """The seller's NACK of a select (the buyer node runs no policy): the rules it names."""
    found = await offer(w)
    contract = await w.buyer.order(found, meter, wh_by_start)
    with pytest.raises(NackReceived) as refused:
        await w.buyer.buy(found.seller, contract)
    assert refused.value.code == "POL_VIOLATION"
    return refused.value.message


async def test_trade_after_gate_closure_is_refused_by_the_network_policy() -> None:
    """Two hours before delivery the gate is closed: the seller NACKs gate-closure."""
    async with world(at(8), buyer_policy=False) as w:
        message = await policy_refusal(w, "TEST_METER_B1", {at(10): 5_000})
    assert "gate-closure:" in message


async def test_trade_above_the_hourly_cap_is_refused_by_the_network_policy() -> None:
    """16 kWh in an hour on a 12 kW sanctioned load: the seller NACKs per-hour-cap."""
    async with world(buyer_policy=False) as w:
        message = await policy_refusal(w, "TEST_METER_B1", {at(10): 16_000})
    assert "per-hour-cap:" in message


async def test_self_trade_is_refused_by_the_network_policy() -> None:
    """Buying from one's own meter: the seller NACKs no-self-trade."""
    async with world(buyer_policy=False) as w:
        message = await policy_refusal(w, "TEST_METER_S1", {at(10): 2_000})
    assert "no-self-trade:" in message


async def test_ledger_write_from_a_party_not_in_the_trade_is_refused() -> None:
    """A platform listed in the contract but in no platform role cannot write the trade."""
    async with world() as w:
        trade = await buy(w, "TEST_METER_B1", {at(10): 10_000})
        outsider = await w.cluster.net.add("outsider.test", NodeRole.BAP)
        contract: dict[str, Any] = trade.contract.to_wire()
        attrs = {
            "@type": "EnergyCustomer",
            "meterId": "TEST_METER_Z",
            "utilityCustomerId": "TEST_Z",
        }
        contract["participants"].append({"id": "outsider.test", "participantAttributes": attrs})
        lp = w.peer("BESCOM-KA")
        with pytest.raises(CallbackError) as refused:
            await bap_client(outsider).confirm(
                lp, {"contract": contract}, transaction_id=trade.transaction_id, ttl=10
            )
        rows = (await w.lps["BESCOM-KA"].ledger.verify()).rows
    assert (refused.value.code, refused.value.path) == ("LEDGER_NOT_A_PARTY", "writer")
    assert rows == 1


async def test_ledger_reads_are_filtered_by_the_verified_sender() -> None:
    """The seller platform reads its trade; an outsider asking the transaction gets nothing."""
    async with world() as w:
        trade = await buy(w, "TEST_METER_B1", {at(10): 10_000})
        view = await w.buyer.status(trade)
        outsider = await w.cluster.net.add("outsider.test", NodeRole.BAP)
        lp = w.peer("BESCOM-KA")
        with pytest.raises(CallbackError) as refused:
            await bap_client(outsider).status(
                lp, {"contract": {"id": "x"}}, transaction_id=trade.transaction_id, ttl=10
            )
    assert [r.order_item_id for r in read_records(view.message)] == ["commitment-offer-s1/0"]
    assert refused.value.code == "LEDGER_UNKNOWN_TRADE"


async def test_discover_filters_slots_by_window_price_source_and_quantity() -> None:
    """Filters keep matching slots only; an offer with none left is not shown."""
    async with world() as w:
        seller = w.peer("sunshare.test")

        async def slots(filters: Filters) -> list[int]:
            found = await w.buyer.discover(filters, to=seller, ttl=5, sellers=1)
            return [s.start.astimezone(at(0).tzinfo).hour for f in found for s in f.offer.slots]

        late = await slots(Filters(delivery_from=at(11)))
        cheap = await slots(Filters(max_price_paise_per_kwh=600))
        battery = await slots(Filters(source_type="BATTERY"))
        big = await slots(Filters(min_available_wh=20_001))
        solar = await slots(Filters(source_type="solar", min_available_wh=20_000))
    assert (late, cheap, battery, big) == ([11, 15], [], [], [])
    assert solar == [9, 10, 11, 15]


async def test_curtailment_reaches_the_buyer_as_an_unsolicited_on_update() -> None:
    """The seller DISCOM curtails; the seller platform tells the buyer (CURTAILED_OUTAGE, 2 kWh)."""
    async with world() as w:
        trade = await buy(w, "TEST_METER_B1", {at(15): 5_000})
        commitment, line = trade.contract.lines[0]
        await w.lps["BESCOM-KA"].curtail(
            trade.transaction_id, commitment.item_id(line), curtailed_wh=2_000
        )
        heard = await w.buyer.updates(trade, wait=5, sender="sunshare.test", count=1)
    assert len(heard) == 1
    contract = heard[0].message["contract"]
    assert contract["commitments"][0]["curtailment"][0]["curtailedQuantity"]["unitQuantity"] == 2
    records = read_records(heard[0].message)
    assert records[0].status_seller_discom is TradeStatus.CURTAILED_OUTAGE


def quick_retries(w: World) -> None:
    """The buyer retries its ledger write after 0.3 s, twice."""
    w.buyer.config = w.buyer.config.model_copy(update={"ledger_retry_delays": (0.3, 0.3)})


class HangUp:
    """A TCP server in the buyer DISCOM ledger's place that closes every connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.called = asyncio.Event()

    async def __call__(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.called.set()
        writer.close()


async def ledger_hangs_up(w: World, hang_up: HangUp) -> tuple[asyncio.Server, Subscriber]:
    """List ``hang_up``'s server as HESCOM-KA's ledger; return it and the real listing."""
    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    [listed] = await w.cluster.net.directory.find(SubscriberQuery(subscriber_id="HESCOM-KA"))
    port = server.sockets[0].getsockname()[1]
    w.cluster.net.directory.put(listed.model_copy(update={"url": f"http://127.0.0.1:{port}"}))
    return server, listed


async def test_buyer_ledger_write_is_retried_until_its_provider_is_back() -> None:
    """The buyer DISCOM's ledger unreachable at first: retried, written once, no error left."""
    async with world() as w:
        quick_retries(w)
        hang_up = HangUp()
        server, listed = await ledger_hangs_up(w, hang_up)
        async with server:
            buying = asyncio.create_task(buy(w, "TEST_METER_B1", {at(10): 10_000}))
            await asyncio.wait_for(hang_up.called.wait(), 15)
            w.cluster.net.directory.put(listed)
            trade = await buying
        buyer_side = await w.lps["HESCOM-KA"].ledger.get(reader="HESCOM-KA")
    assert trade.ledger_error is None
    assert [r.record_id for r in trade.ledger_records] == [r.record_id for r in buyer_side]
    assert len(buyer_side) == 1


async def test_buyer_ledger_write_gives_up_after_its_retries() -> None:
    """The buyer DISCOM's ledger unreachable throughout: three attempts, then ledger_error."""
    async with world() as w:
        quick_retries(w)
        hang_up = HangUp()
        server, _ = await ledger_hangs_up(w, hang_up)
        async with server:
            with all_logs() as logs:
                trade = await buy(w, "TEST_METER_B1", {at(10): 10_000})
    retries = [e for e in logs if e["event"] == "buyer_ledger_write_unreachable"]
    assert [e["attempt"] for e in retries] == [1, 2, 3]
    assert trade.ledger_error is not None
    assert trade.ledger_records == []


async def test_buyer_ledger_refusal_is_not_retried() -> None:
    """A ledger provider's refusal (another DISCOM answers) is final: one attempt."""
    async with world() as w:
        quick_retries(w)
        directory = w.cluster.net.directory
        [bescom] = await directory.find(SubscriberQuery(subscriber_id="BESCOM-KA"))
        [hescom] = await directory.find(SubscriberQuery(subscriber_id="HESCOM-KA"))
        directory.put(hescom.model_copy(update={"url": bescom.url}))
        with all_logs() as logs:
            trade = await buy(w, "TEST_METER_B1", {at(10): 10_000})
    assert trade.ledger_error is not None
    assert not [e for e in logs if e["event"] == "buyer_ledger_write_unreachable"]
