"""Trade input validation and the DEG wire form of ledger records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.usecases.p2p import (
    LEDGER_BAD_INPUT,
    LedgerError,
    MetricType,
    TradeDetail,
    TradeInput,
    TradeRecord,
    TradeStatus,
    ValidationMetric,
)
from tests.unit.p2p_trades import DELIVERY, make_trade

DEG_RECORD_FIELDS = {
    "recordId",
    "creationTime",
    "transactionId",
    "orderItemId",
    "platformIdBuyer",
    "platformIdSeller",
    "discomIdBuyer",
    "discomIdSeller",
    "buyerId",
    "sellerId",
    "tradeTime",
    "deliveryStartTime",
    "deliveryEndTime",
    "tradeDetails",
    "buyerFulfillmentValidationMetrics",
    "sellerFulfillmentValidationMetrics",
    "statusBuyerDiscom",
    "statusSellerDiscom",
    "rowDigest",
    "clientReference",
}


def bad_path(**overrides: Any) -> str | None:
    """The path of the LEDGER_BAD_INPUT error ``make_trade(**overrides)`` raises."""
    with pytest.raises(LedgerError) as caught:
        make_trade(**overrides)
    assert caught.value.code == LEDGER_BAD_INPUT
    return caught.value.path


def wire_path(**changes: Any) -> str | None:
    """The path of the LEDGER_BAD_INPUT error parsing the valid trade's wire form with changes."""
    doc = {**make_trade().to_wire(), **changes}
    with pytest.raises(LedgerError) as caught:
        TradeInput.from_wire(doc)
    assert caught.value.code == LEDGER_BAD_INPUT
    return caught.value.path


@pytest.mark.parametrize("end_offset", [timedelta(0), timedelta(hours=-1)])
def test_delivery_must_end_after_it_starts(end_offset: timedelta) -> None:
    """delivery_end <= delivery_start is refused at deliveryEndTime."""
    assert bad_path(delivery_end=DELIVERY + end_offset) == "deliveryEndTime"


@pytest.mark.parametrize("quantity", [0, -1])
def test_trade_quantity_must_be_positive(quantity: int) -> None:
    """A zero or negative quantity is refused at tradeQty (tradeDetails[0].tradeQty on the wire)."""
    with pytest.raises(LedgerError) as caught:
        TradeDetail(trade_qty_wh=quantity)
    assert (caught.value.code, caught.value.path) == (LEDGER_BAD_INPUT, "tradeQty")
    details = [{"tradeQty": str(quantity), "tradeType": "ENERGY", "tradeUnit": "KWH"}]
    assert wire_path(tradeDetails=details) == "tradeDetails[0].tradeQty"


def test_naive_datetimes_are_refused() -> None:
    """A datetime without a time zone is refused at its field."""
    assert bad_path(delivery_start=DELIVERY.replace(tzinfo=None)) == "deliveryStartTime"


def test_self_trade_is_refused() -> None:
    """Buyer meter == seller meter is refused at sellerId (network rule N12)."""
    assert bad_path(seller_id="TEST_METER_BUYER_001") == "sellerId"


def test_empty_ids_and_details_are_refused() -> None:
    """Blank ids and an empty trade_details are refused at their wire names."""
    assert bad_path(platform_id_seller=" ") == "platformIdSeller"
    assert bad_path(trade_details=()) == "tradeDetails"


def test_wire_errors_name_the_field() -> None:
    """Missing, mistyped or too precise wire values are refused at their path."""
    assert wire_path(buyerId=None) == "buyerId"
    assert wire_path(deliveryStartTime="2026-04-26T04:30:00") == "deliveryStartTime"
    assert wire_path(deliveryEndTime="tomorrow") == "deliveryEndTime"
    assert wire_path(tradeDetails=[{"tradeQty": "1.0005"}]) == "tradeDetails[0].tradeQty"
    assert (
        wire_path(tradeDetails=[{"tradeQty": "1", "tradeUnit": "MWH"}])
        == "tradeDetails[0].tradeUnit"
    )
    assert wire_path(pricePerKwh="12.505") == "pricePerKwh"
    assert wire_path(pricePerKwh="1e999999") == "pricePerKwh"
    assert wire_path(deliveryStartTime="0001-01-01T00:00:00+05:30") == "deliveryStartTime"


def test_times_are_kept_in_utc() -> None:
    """An aware datetime in another zone is stored as the same instant in UTC."""
    ist = timezone(timedelta(hours=5, minutes=30))
    trade = make_trade(delivery_start=DELIVERY.astimezone(ist))
    assert trade.delivery_start == DELIVERY
    assert trade.to_wire()["deliveryStartTime"] == "2026-04-26T04:30:00Z"


def test_wire_numbers_are_read_exactly() -> None:
    """kWh and INR given as JSON numbers become exact Wh and paise."""
    doc = {**make_trade().to_wire(), "tradeDetails": [{"tradeQty": 7.5}], "pricePerKwh": 12.5}
    trade = TradeInput.from_wire(doc)
    assert (trade.trade_details[0].trade_qty_wh, trade.price_paise_per_kwh) == (7_500, 1_250)


def test_record_wire_has_the_deg_fields() -> None:
    """TradeRecord.to_wire carries every DEG ledger field, quantities as kWh strings."""
    record = TradeRecord(
        **{name: getattr(make_trade(), name) for name in TradeInput.__dataclass_fields__},
        record_id="rec-1",
        creation_time=DELIVERY,
        seller_metrics=(ValidationMetric(MetricType.ACTUAL_PUSHED, 7_500),),
        status_seller_discom=TradeStatus.COMPLETED,
        row_digest="ab" * 32,
    )
    wire = record.to_wire()
    assert set(wire) >= DEG_RECORD_FIELDS
    assert wire["tradeDetails"] == [{"tradeQty": "10", "tradeType": "ENERGY", "tradeUnit": "KWH"}]
    assert wire["sellerFulfillmentValidationMetrics"] == [
        {"validationMetricType": "ACTUAL_PUSHED", "validationMetricValue": "7.5"}
    ]
    assert (wire["statusSellerDiscom"], wire["pricePerKwh"]) == ("COMPLETED", "12.50")
    assert TradeRecord.from_wire(wire) == record


@given(
    quantity=st.integers(min_value=1, max_value=10**9),
    price=st.integers(min_value=0, max_value=10**7),
    minutes=st.integers(min_value=1, max_value=24 * 60),
)
def test_trade_wire_round_trips(quantity: int, price: int, minutes: int) -> None:
    """from_wire(to_wire(t)) == t for any Wh quantity, paise price and window."""
    trade = make_trade(
        trade_details=(TradeDetail(trade_qty_wh=quantity),),
        price_paise_per_kwh=price,
        delivery_end=DELIVERY + timedelta(minutes=minutes),
        trade_time=datetime(2026, 4, 25, 1, 2, 3, 456789, tzinfo=UTC),
    )
    assert TradeInput.from_wire(trade.to_wire()) == trade
