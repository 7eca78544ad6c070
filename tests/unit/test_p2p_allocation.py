"""Pro-rata allocation: the S6 numbers, seller round first, min-of-two, largest remainder."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.usecases.p2p import (
    ALLOC_MISSING_READING,
    Allocation,
    AllocationError,
    TradeDetail,
    TradeInput,
    TradeRecord,
    TradeStatus,
    allocate,
    pro_rata,
)
from tests.unit.p2p_trades import DELIVERY, make_trade

HOUR = DELIVERY


def trade(txn: str, seller: str, buyer: str, wh: int = 10_000) -> TradeInput:
    """A trade of ``wh`` from meter ``seller`` to meter ``buyer`` in the test hour."""
    return make_trade(
        transaction_id=txn,
        client_reference=txn,
        seller_id=seller,
        buyer_id=buyer,
        trade_details=(TradeDetail(trade_qty_wh=wh),),
    )


def readings(**wh: int) -> dict[tuple[str, datetime], int]:
    """Meter readings for the test hour, by meter name."""
    return {(meter, HOUR): value for meter, value in wh.items()}


def test_s6_seller_short_on_two_trades_gets_half_each() -> None:
    """One seller, two 10 kWh trades, 15 kWh produced: 7.5/7.5 kWh settled on each (S6)."""
    trades = [trade("T1", "S", "B1"), trade("T3", "S", "B2")]
    result = allocate(trades, readings(S=15_000), readings(B1=10_000, B2=10_000))
    expected = Allocation(10_000, 7_500, 7_500, 7_500)
    assert result == {("T1", "item-1"): expected, ("T3", "item-1"): expected}


def test_s6_buyer_short_on_two_trades_gets_half_each() -> None:
    """One buyer, two 10 kWh trades, 15 kWh consumed: the buyer round gives 7.5/7.5 kWh."""
    trades = [trade("T1", "S1", "B"), trade("T2", "S2", "B")]
    result = allocate(trades, readings(S1=10_000, S2=10_000), readings(B=15_000))
    assert {key: a.buyer_alloc_wh for key, a in result.items()} == {
        ("T1", "item-1"): 7_500,
        ("T2", "item-1"): 7_500,
    }
    assert all(a.seller_alloc_wh == 10_000 and a.final_alloc_wh == 7_500 for a in result.values())


def test_buyer_round_shares_only_what_sellers_delivered() -> None:
    """Seller round first: a buyer's energy goes to the trade whose seller delivered."""
    trades = [trade("T1", "S1", "B"), trade("T2", "S2", "B")]
    result = allocate(trades, readings(S1=0, S2=10_000), readings(B=10_000))
    assert result[("T1", "item-1")] == Allocation(10_000, 0, 0, 0)
    assert result[("T2", "item-1")] == Allocation(10_000, 10_000, 10_000, 10_000)


def test_settled_quantity_is_the_minimum_of_both_sides() -> None:
    """The seller delivers fully, the buyer takes 4 kWh: FINAL_ALLOC is 4 kWh."""
    result = allocate([trade("T1", "S", "B")], readings(S=12_000), readings(B=4_000))
    assert result[("T1", "item-1")] == Allocation(10_000, 10_000, 4_000, 4_000)
    assert Allocation.of(10_000, 6_000, 9_000).final_alloc_wh == 6_000


def test_s4_full_delivery_settles_the_requested_quantity() -> None:
    """Meters covering every trade: each trade is allocated exactly what it asked for (S4)."""
    trades = [trade("T1", "S", "B", 3_000), trade("T2", "S", "B", 2_000)]
    result = allocate(trades, readings(S=9_000), readings(B=5_000))
    assert [a.final_alloc_wh for a in result.values()] == [3_000, 2_000]
    assert all(a.shortfall_wh == 0 for a in result.values())


def test_odd_watt_hours_go_to_the_largest_remainders() -> None:
    """7 Wh over 5/3/2: exact 3.5/2.1/1.4, floors 3/2/1, the spare Wh to the 0.5 remainder."""
    assert pro_rata([5, 3, 2], 7) == [4, 2, 1]


def test_equal_remainders_go_to_the_earlier_trade() -> None:
    """10001 Wh over three equal trades: the two spare Wh go to the first two trades by key."""
    trades = [trade(f"T{n}", "S", f"B{n}") for n in (3, 1, 2)]
    result = allocate(trades, readings(S=10_001), readings(B1=9_999, B2=9_999, B3=9_999))
    assert [result[(f"T{n}", "item-1")].seller_alloc_wh for n in (1, 2, 3)] == [3_334, 3_334, 3_333]


def test_a_missing_reading_is_not_invented() -> None:
    """No export reading for the seller's meter: ALLOC_MISSING_READING naming the meter."""
    with pytest.raises(AllocationError) as caught:
        allocate([trade("T1", "S", "B")], {}, readings(B=10_000))
    assert caught.value.code == ALLOC_MISSING_READING
    assert str(caught.value.path).startswith("seller:S@")


def test_cancelled_trades_take_no_energy() -> None:
    """A trade a DISCOM cancelled is left out, so the live trade gets the whole reading."""
    live = trade("T1", "S", "B1")
    cancelled = TradeRecord(
        **{name: getattr(trade("T2", "S", "B2"), name) for name in TradeInput.__dataclass_fields__},
        record_id="r",
        creation_time=DELIVERY,
        status_seller_discom=TradeStatus.CANCELLED_OUTAGE,
    )
    result = allocate([live, cancelled], readings(S=10_000), readings(B1=10_000, B2=10_000))
    assert result == {("T1", "item-1"): Allocation(10_000, 10_000, 10_000, 10_000)}


def test_allocation_wire_columns_are_kwh() -> None:
    """payloads() gives the DEG REPORT columns in kWh decimal strings."""
    assert Allocation(10_000, 7_500, 10_000, 7_500).payloads() == {
        "REQUESTED_QTY": "10",
        "SELLER_DISCOM_ALLOC": "7.5",
        "BUYER_DISCOM_ALLOC": "10",
        "FINAL_ALLOC": "7.5",
    }


def test_final_above_the_minimum_is_refused() -> None:
    """An Allocation with FINAL_ALLOC > min(buyer, seller) cannot be built (rule P4)."""
    with pytest.raises(AllocationError):
        Allocation(10_000, 5_000, 6_000, 5_500)


requests_and_meter = st.tuples(
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=10**8),
)


@given(requests_and_meter)
def test_pro_rata_never_exceeds_the_meter_or_a_trade(case: tuple[list[int], int]) -> None:
    """Σ allocations ≤ meter (= meter when short), each allocation ≤ its trade."""
    requests, meter = case
    shares = pro_rata(requests, meter)
    assert sum(shares) == min(meter, sum(requests))
    assert all(0 <= share <= request for share, request in zip(shares, requests, strict=True))


@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=12))
def test_pro_rata_gives_every_trade_its_quantity_when_covered(requests: list[int]) -> None:
    """A meter reading covering all trades allocates each trade exactly its quantity."""
    assert pro_rata(requests, sum(requests)) == requests


trade_specs = st.lists(
    st.tuples(
        st.sampled_from(["S1", "S2", "S3"]),
        st.sampled_from(["B1", "B2", "B3"]),
        st.integers(min_value=1, max_value=50_000),
    ),
    min_size=1,
    max_size=10,
)
meter_values = st.integers(min_value=0, max_value=200_000)


@given(trade_specs, st.lists(meter_values, min_size=6, max_size=6))
def test_allocate_respects_every_meter_and_trade(
    specs: list[tuple[str, str, int]], values: list[int]
) -> None:
    """Per meter Σ allocations ≤ its reading; per trade final ≤ both sides ≤ requested."""
    trades = [trade(f"T{n}", seller, buyer, wh) for n, (seller, buyer, wh) in enumerate(specs)]
    export = readings(**dict(zip(["S1", "S2", "S3"], values[:3], strict=True)))
    imports = readings(**dict(zip(["B1", "B2", "B3"], values[3:], strict=True)))
    result = allocate(trades, export, imports)
    per_seller: dict[str, int] = defaultdict(int)
    per_buyer: dict[str, int] = defaultdict(int)
    for t in trades:
        a = result[t.key]
        per_seller[t.seller_id] += a.seller_alloc_wh
        per_buyer[t.buyer_id] += a.buyer_alloc_wh
        assert a.final_alloc_wh == min(a.seller_alloc_wh, a.buyer_alloc_wh)
        assert a.seller_alloc_wh <= a.requested_wh == t.requested_wh
    assert all(total <= export[(meter, HOUR)] for meter, total in per_seller.items())
    assert all(total <= imports[(meter, HOUR)] for meter, total in per_buyer.items())


@given(trade_specs)
def test_allocate_settles_everything_when_meters_cover_all_trades(
    specs: list[tuple[str, str, int]],
) -> None:
    """Readings at least the traded totals: every trade settles its requested quantity."""
    trades = [trade(f"T{n}", seller, buyer, wh) for n, (seller, buyer, wh) in enumerate(specs)]
    big = 10 * 50_000
    result = allocate(trades, readings(S1=big, S2=big, S3=big), readings(B1=big, B2=big, B3=big))
    assert all(result[t.key].final_alloc_wh == t.requested_wh for t in trades)
