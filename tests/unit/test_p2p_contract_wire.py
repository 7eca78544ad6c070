"""The P2P contract on the wire: exact kWh/INR numbers, round trips, the network pack accepts
what the platforms build, ledger views, and meter intervals that are never invented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.adapters.base import Reading
from iesnode.errors import BusinessError
from iesnode.model.envelope import Dialect, Envelope
from iesnode.policy.engine import violations
from iesnode.policy.network import decision_input
from iesnode.policy.packs import PolicyPack
from iesnode.protocol.roles.envelopes import request_context
from iesnode.usecases.p2p.contract import Commitment, Line, Party, TradeContract
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger import MetricType, TradeStatus, ValidationMetric
from iesnode.usecases.p2p.ledger_memory import MemoryLedger
from iesnode.usecases.p2p.ledger_view import ledger_view, view_columns
from iesnode.usecases.p2p.meter_bpp import on_grid
from iesnode.usecases.p2p.series import json_number, read_paise, read_wh

PACK = Path(__file__).resolve().parents[2] / "iesnode/policy/packs/p2p-trading-network"
NETWORK = "indiaenergystack.in/test-ies-p2p-trading-network"
START = datetime(2026, 5, 15, 4, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def contract(status: str = "DRAFT") -> TradeContract:
    """A two-interval trade, B1 (HESCOM) buying from S1 (BESCOM)."""
    lines = (
        Line(0, START, START + HOUR, 10_000, 650, 20_000),
        Line(1, START + HOUR, START + 2 * HOUR, 2_500, 675, 20_000),
    )
    return TradeContract(
        contract_id="contract-1",
        status=status,
        buyer=Party("buyer.test", "TEST_METER_B1", "TEST_CUST_B1", "HESCOM-KA", 12_000),
        seller=Party("seller.test", "TEST_METER_S1", "TEST_CUST_S1", "BESCOM-KA", 20_000),
        ledger_uris={"HESCOM-KA": "http://h.test", "BESCOM-KA": "http://b.test"},
        commitments=(Commitment("commitment-1", "offer-1", "SOLAR", "PT1H", lines),),
    )


@given(st.integers(min_value=0, max_value=10**12))
def test_wire_numbers_are_exact(wh: int) -> None:
    """Wh -> a JSON kWh number -> Wh gives the same integer."""
    assert read_wh(json_number(wh), "q") == wh


def test_finer_than_one_wh_is_refused_with_its_path() -> None:
    """0.0005 kWh is not a whole Wh: P2P_BAD_MESSAGE naming the field."""
    with pytest.raises(BusinessError) as refused:
        read_wh(0.0005, "message.contract.x")
    assert (refused.value.code, refused.value.path) == ("P2P_BAD_MESSAGE", "message.contract.x")
    assert read_paise("6.5", "p") == 650


def test_contract_round_trips() -> None:
    """from_wire(to_wire(c)) gives back the contract (quotes are not read back)."""
    built = contract()
    assert read_contract(built.to_wire()) == built


def test_a_contract_without_its_seller_role_names_the_roles_path() -> None:
    """A missing sellerPlatform role is refused at contractAttributes.roles."""
    doc = contract().to_wire()
    roles = doc["contractAttributes"]["roles"]
    doc["contractAttributes"]["roles"] = [r for r in roles if r["role"] != "sellerPlatform"]
    with pytest.raises(BusinessError) as refused:
        read_contract(doc)
    assert refused.value.path == "message.contract.contractAttributes.roles"


def test_one_ledger_trade_per_interval() -> None:
    """Each interval becomes a ledger trade with its own order item and client reference."""
    trades = contract().trade_inputs("txn-1", START - 10 * HOUR)
    assert [(t.order_item_id, t.requested_wh, t.price_paise_per_kwh) for t in trades] == [
        ("commitment-1/0", 10_000, 650),
        ("commitment-1/1", 2_500, 675),
    ]
    assert trades[1].client_reference == "txn-1/commitment-1/1"


def test_the_network_pack_accepts_the_contract_a_platform_builds() -> None:
    """A confirm of the built contract, 10 h before delivery, violates no network rule."""
    now = (START - 10 * HOUR).timestamp()
    ctx = request_context(
        dialect=Dialect.V2, action="confirm", bap_id="buyer.test", bap_uri="http://x.test",
        now=now, ttl=30, bpp_id="seller.test", bpp_uri="http://y.test", network_id=NETWORK,
    )  # fmt: skip
    envelope = Envelope(context=ctx, message={"contract": contract().to_wire()})
    payload = decision_input(envelope, role="bpp", direction="inbound", sender="x", now=now)
    pack = PolicyPack.load(PACK)
    assert violations(pack.compiled.evaluate("ies/p2p/network/violations", payload)) == []


async def test_ledger_view_shows_both_allocations_the_minimum_and_the_curtailment() -> None:
    """FINAL_ALLOC is min(seller, buyer); a curtailed interval says by how much."""
    ledger = MemoryLedger()
    first, second = contract().trade_inputs("txn-1", START - 10 * HOUR)
    for trade in (first, second):
        await ledger.put(trade, writer="seller.test")
    await ledger.record("txn-1", "commitment-1/0", writer="BESCOM-KA",
                        metrics=[ValidationMetric(MetricType.ACTUAL_PUSHED, 7_500)])  # fmt: skip
    await ledger.record("txn-1", "commitment-1/0", writer="HESCOM-KA",
                        metrics=[ValidationMetric(MetricType.ACTUAL_PULLED, 7_000)])  # fmt: skip
    await ledger.record("txn-1", "commitment-1/1", writer="BESCOM-KA",
                        metrics=[ValidationMetric(MetricType.AVAILABILITY, 1_000)],
                        status=TradeStatus.CURTAILED_OUTAGE)  # fmt: skip
    view = ledger_view(contract(), await ledger.get(reader="BESCOM-KA"))
    columns = view_columns(view)
    assert columns["commitment-1/0"]["FINAL_ALLOC"] == 7
    assert columns["commitment-1/1"]["SELLER_DISCOM_STATUS"] == "CURTAILED_OUTAGE"
    curtailed = view["commitments"][0]["curtailment"]
    assert [(c["intervalId"], c["curtailedQuantity"]["unitQuantity"]) for c in curtailed] == [
        (1, 1.5)
    ]


@given(st.lists(st.one_of(st.none(), st.integers(0, 5_000)), min_size=4, max_size=4))
def test_an_hour_has_a_value_only_when_every_quarter_has_one(parts: list[int | None]) -> None:
    """Four 15-minute readings sum to the hour; any missing quarter leaves it missing."""
    quarter = timedelta(minutes=15)
    readings = [
        Reading("M", START + k * quarter, START + (k + 1) * quarter, wh, "import", None,
                "missing" if wh is None else "actual")
        for k, wh in enumerate(parts)
    ]  # fmt: skip
    cell = on_grid(readings, START, START + HOUR)
    if None in parts:
        assert (cell.wh, cell.quality) == (None, "missing")
    else:
        assert (cell.wh, cell.quality) == (sum(p or 0 for p in parts), "actual")


async def test_the_discom_contract_pack_accepts_the_contract_and_nets_its_flows() -> None:
    """The DISCOM contract policy finds no violation in a settled view; its flows net to zero."""
    ledger = MemoryLedger()
    for trade in contract().trade_inputs("txn-1", START - 10 * HOUR):
        await ledger.put(trade, writer="seller.test")
        for writer, kind in (("BESCOM-KA", "ACTUAL_PUSHED"), ("HESCOM-KA", "ACTUAL_PULLED")):
            metric = ValidationMetric(MetricType(kind), trade.requested_wh // 2)
            await ledger.record("txn-1", trade.order_item_id, writer=writer, metrics=[metric])
    view = ledger_view(contract(status="ACTIVE"), await ledger.get(reader="BESCOM-KA"))
    now = (START + 10 * HOUR).timestamp()
    ctx = request_context(
        dialect=Dialect.V2, action="status", bap_id="buyer.test", bap_uri="http://x.test",
        now=now, ttl=30, network_id=NETWORK,
    )  # fmt: skip
    envelope = Envelope(context=ctx, message={"contract": view})
    payload = decision_input(envelope, role="bpp", direction="outbound", sender="x", now=now)
    payload["action"] = "on_status"
    pack = PolicyPack.load(PACK.parent / "discom-contract")
    assert violations(pack.compiled.evaluate("ies/contracts/discom/violations", payload)) == []
    flows = pack.compiled.evaluate("ies/contracts/discom/revenue_flows", payload)
    assert flows
    assert sum(f["amount_paise"] for f in flows) == 0
