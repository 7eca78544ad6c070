"""A small P2P world on loopback for the P2P integration tests.

BESCOM-KA and HESCOM-KA each run a ledger provider and a meter-data BPP reading the sample
MDM exports of ``examples/p2p_trading/data``; ``sunshare.test`` sells TEST_METER_S1's solar
(BESCOM, 20 kW) for 09:00-12:00 and 15:00 on 2026-05-15; ``powerbuy.test`` buys for
TEST_METER_B1 (HESCOM, 12 kW), TEST_METER_B2 (HESCOM, 15 kW) and, to provoke a self-trade,
TEST_METER_S1. The simulated clock starts the evening before delivery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from iesnode.node import Node
from iesnode.protocol.roles.bap import Peer
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.cluster import DATA_NETWORK, P2PCluster, SimulatedClock
from iesnode.usecases.p2p.config import (
    BuyerPlatformConfig,
    LedgerProviderConfig,
    MeterBppConfig,
    SellerPlatformConfig,
)
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.platform import SellerPlatform
from iesnode.usecases.p2p.scenario import DATA, DAY, at, load_tariffs
from iesnode.usecases.p2p.scenario import mdm_adapter as sample_exports

__all__ = ["EVENING_BEFORE", "World", "mdm_adapter", "world"]

EVENING_BEFORE = at(20, DAY - timedelta(days=1))
SELLER, BUYER = "sunshare.test", "powerbuy.test"


def mdm_adapter(short: str) -> dict[str, Any]:
    """The CSV adapter table reading one DISCOM's sample exports (bad rows skipped)."""
    return sample_exports(DATA / short)


@dataclass
class World:
    """The running roles of a small P2P world."""

    cluster: P2PCluster
    clock: SimulatedClock
    lps: dict[str, LedgerProvider]
    seller: SellerPlatform
    buyer: BuyerPlatform

    def node(self, subscriber_id: str) -> Node:
        """The running node of ``subscriber_id``."""
        return next(n for n in self.cluster.net.nodes if n.signer.subscriber_id == subscriber_id)

    def peer(self, subscriber_id: str) -> Peer:
        """``subscriber_id`` as a BPP to send requests to."""
        return Peer(subscriber_id, self.node(subscriber_id).public_url)


@asynccontextmanager
async def world(
    now: datetime = EVENING_BEFORE, *, buyer_policy: bool = True
) -> AsyncIterator[World]:
    """Start the world with the clock at ``now``."""
    clock = SimulatedClock(now.timestamp())
    tariffs, penalty = load_tariffs()
    async with P2PCluster(clock) as cluster:
        lps = {}
        for discom, short in (("BESCOM-KA", "bescom"), ("HESCOM-KA", "hescom")):
            meters = f"mdm.{short}.test"
            await cluster.meter_bpp(meters, MeterBppConfig(readers=(discom,)), mdm_adapter(short))
            config = LedgerProviderConfig(
                discom_id=discom,
                meter_bpp=meters,
                meter_network_id=DATA_NETWORK,
                tariffs=tariffs,
                penalty_paise_per_kwh=penalty,
            )
            lps[discom] = await cluster.ledger_provider(config)
        slots = [
            {"start": at(hour), "price_inr_per_kwh": "6.50", "available_kwh": "20"}
            for hour in (9, 10, 11, 15)
        ]
        seller_config = {
            "prosumers": [
                {
                    "meter_id": "TEST_METER_S1",
                    "customer_id": "TEST_CUST_S1",
                    "discom_id": "BESCOM-KA",
                    "installed_capacity_kw": "20",
                }
            ],
            "offers": [{"offer_id": "offer-s1", "meter_id": "TEST_METER_S1", "slots": slots}],
            "tariffs": tariffs,
        }
        seller = await cluster.seller_platform(
            SELLER, SellerPlatformConfig.model_validate(seller_config)
        )
        consumers = [
            {
                "meter_id": meter,
                "customer_id": customer,
                "discom_id": discom,
                "sanctioned_load_kw": kw,
            }
            for meter, customer, discom, kw in (
                ("TEST_METER_B1", "TEST_CUST_B1", "HESCOM-KA", "12"),
                ("TEST_METER_B2", "TEST_CUST_B2", "HESCOM-KA", "15"),
                ("TEST_METER_S1", "TEST_CUST_S1", "BESCOM-KA", "5"),
            )
        ]
        buyer = await cluster.buyer_platform(
            BUYER,
            BuyerPlatformConfig.model_validate({"consumers": consumers}),
            policy=buyer_policy,
        )
        yield World(cluster, clock, lps, seller, buyer)
