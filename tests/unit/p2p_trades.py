"""Shared P2P test data: a valid trade with named parties, and a builder for variants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from iesnode.clock import FrozenClock
from iesnode.usecases.p2p import TradeDetail, TradeInput
from iesnode.usecases.p2p.ledger import TradeLedger
from iesnode.usecases.p2p.ledger_memory import MemoryLedger
from iesnode.usecases.p2p.ledger_sqlite import SqliteLedger

DELIVERY = datetime(2026, 4, 26, 4, 30, tzinfo=UTC)
BUYER_PLATFORM = "buyerapp.example.com"
SELLER_PLATFORM = "sellerapp.example.com"
BUYER_DISCOM = "TEST_DISCOM_BUYER"
SELLER_DISCOM = "TEST_DISCOM_SELLER"
BUYER_METER = "TEST_METER_BUYER_001"
SELLER_METER = "TEST_METER_SELLER_001"


def make_trade(**overrides: Any) -> TradeInput:
    """A valid 10 kWh hourly trade at 12.50 INR/kWh; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "transaction_id": "txn-1",
        "order_item_id": "item-1",
        "platform_id_buyer": BUYER_PLATFORM,
        "platform_id_seller": SELLER_PLATFORM,
        "discom_id_buyer": BUYER_DISCOM,
        "discom_id_seller": SELLER_DISCOM,
        "buyer_id": BUYER_METER,
        "seller_id": SELLER_METER,
        "trade_time": DELIVERY - timedelta(hours=6),
        "delivery_start": DELIVERY,
        "delivery_end": DELIVERY + timedelta(hours=1),
        "trade_details": (TradeDetail(trade_qty_wh=10_000),),
        "price_paise_per_kwh": 1250,
        "client_reference": "ref-1",
    }
    fields.update(overrides)
    return TradeInput(**fields)


LEDGER_KINDS = ("memory", "sqlite")


@asynccontextmanager
async def open_ledger(kind: str, directory: Path) -> AsyncIterator[TradeLedger]:
    """A fresh ledger of ``kind`` (SQLite in ``directory``), clocked an hour before delivery."""
    clock = FrozenClock(DELIVERY.timestamp() - 3600)
    impl: TradeLedger
    if kind == "memory":
        impl = MemoryLedger(clock=clock)
    else:
        impl = await SqliteLedger.open(directory / "ledger.db", clock=clock)
    try:
        yield impl
    finally:
        await impl.aclose()
