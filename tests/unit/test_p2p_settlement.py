"""Revenue flows: energy, wheeling on both sides, shortfall penalties, zero sum, wire shape."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.usecases.p2p import (
    Allocation,
    LedgerError,
    RevenueFlow,
    SettlementTerms,
    TradeDetail,
    settle,
)
from tests.unit.p2p_trades import make_trade

TRADE = make_trade()  # 10 kWh at 12.50 INR/kWh
TERMS = SettlementTerms(
    wheeling_buyer_paise_per_kwh=50,
    wheeling_seller_paise_per_kwh=40,
    penalty_paise_per_kwh=200,
)


def amounts(flows: list[RevenueFlow]) -> dict[str, int]:
    """Role -> net paise."""
    return {flow.role: flow.amount_paise for flow in flows}


def test_s4_full_delivery_has_no_penalty() -> None:
    """Final = requested: the buyer pays energy and wheeling, nobody pays a penalty (S4)."""
    flows = settle(TRADE, Allocation.of(10_000, 10_000, 10_000), TERMS)
    assert amounts(flows) == {
        "buyer": -(12_500 + 500),
        "seller": 12_500 - 400,
        "buyerDiscom": 500,
        "sellerDiscom": 400,
    }
    assert not any("penalty" in flow.description for flow in flows)


def test_s6_seller_shortfall_pays_the_seller_discom() -> None:
    """7.5 of 10 kWh settled: the seller pays 2.5 kWh x 2.00 INR penalty to its DISCOM (S6)."""
    flows = settle(TRADE, Allocation.of(10_000, 7_500, 10_000), TERMS)
    assert amounts(flows) == {
        "buyer": -(9_375 + 375),
        "seller": 9_375 - 300 - 500,
        "buyerDiscom": 375,
        "sellerDiscom": 300 + 500,
    }


def test_buyer_shortfall_pays_the_buyer_discom() -> None:
    """The seller delivered 10 kWh but the buyer took 6: the buyer pays the 4 kWh penalty."""
    flows = settle(TRADE, Allocation.of(10_000, 10_000, 6_000), TERMS)
    assert amounts(flows)["buyerDiscom"] == 300 + 800
    assert amounts(flows)["sellerDiscom"] == 240


def test_both_sides_short_split_the_penalty() -> None:
    """Seller 7 kWh, buyer 5 kWh: seller pays for 3 kWh, buyer for the other 2 (total 5 kWh)."""
    flows = settle(
        TRADE, Allocation.of(10_000, 7_000, 5_000), SettlementTerms(penalty_paise_per_kwh=100)
    )
    assert amounts(flows) == {
        "buyer": -6_250 - 200,
        "seller": 6_250 - 300,
        "buyerDiscom": 200,
        "sellerDiscom": 300,
    }


def test_wheeling_goes_to_each_sides_own_discom() -> None:
    """Buyer wheeling reaches the buyer DISCOM, seller wheeling the seller DISCOM."""
    terms = SettlementTerms(wheeling_buyer_paise_per_kwh=30, wheeling_seller_paise_per_kwh=0)
    flows = settle(TRADE, Allocation.of(10_000, 10_000, 10_000), terms)
    assert (amounts(flows)["buyerDiscom"], amounts(flows)["sellerDiscom"]) == (300, 0)
    assert "wheeling" in flows[2].description


def test_half_paise_round_to_even() -> None:
    """2 Wh and 6 Wh at 12.50 INR/kWh are 2.5 and 7.5 paise: rounded to 2 and 8."""
    free = SettlementTerms()
    for wh, paise in ((2, 2), (6, 8)):
        trade = make_trade(trade_details=(TradeDetail(trade_qty_wh=wh),))
        assert amounts(settle(trade, Allocation.of(wh, wh, wh), free))["seller"] == paise


def test_revenue_flow_wire_shape() -> None:
    """to_wire gives {role, value (INR, 2 places), currency INR, description}; it parses back."""
    flow = RevenueFlow(role="buyer", amount_paise=-43_715, description="pays energy")
    wire = flow.to_wire()
    assert wire == {
        "role": "buyer",
        "value": "-437.15",
        "currency": "INR",
        "description": "pays energy",
    }
    assert RevenueFlow.from_wire(wire) == flow


def test_flows_are_four_roles_in_order() -> None:
    """settle always answers buyer, seller, buyerDiscom, sellerDiscom, even with zero rows."""
    flows = settle(TRADE, Allocation.of(10_000, 10_000, 10_000), SettlementTerms())
    assert [flow.role for flow in flows] == ["buyer", "seller", "buyerDiscom", "sellerDiscom"]
    assert [flow.to_wire()["value"] for flow in flows] == ["-125.00", "125.00", "0.00", "0.00"]


def test_float_rates_are_refused() -> None:
    """Binary floats are not money: a float rate is refused at its name."""
    with pytest.raises(LedgerError) as caught:
        SettlementTerms(penalty_paise_per_kwh=1.5)  # type: ignore[arg-type]
    assert caught.value.path == "penalty_paise_per_kwh"


rates = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False)


@given(
    requested=st.integers(min_value=1, max_value=10**7),
    seller_part=st.fractions(min_value=0, max_value=1),
    buyer_part=st.fractions(min_value=0, max_value=1),
    price=st.integers(min_value=0, max_value=100_000),
    wheel_buyer=rates,
    wheel_seller=rates,
    penalty=rates,
)
def test_flows_sum_to_zero(
    requested: int,
    seller_part: Fraction,
    buyer_part: Fraction,
    price: int,
    wheel_buyer: Decimal,
    wheel_seller: Decimal,
    penalty: Decimal,
) -> None:
    """For any allocation, price and rates, the four flows net to exactly zero paise."""
    seller, buyer = int(requested * seller_part), int(requested * buyer_part)
    trade = make_trade(
        trade_details=(TradeDetail(trade_qty_wh=requested),), price_paise_per_kwh=price
    )
    terms = SettlementTerms(wheel_buyer, wheel_seller, penalty)
    flows = settle(trade, Allocation.of(requested, seller, buyer), terms)
    assert sum(flow.amount_paise for flow in flows) == 0
    assert sum(Decimal(flow.to_wire()["value"]) for flow in flows) == 0
