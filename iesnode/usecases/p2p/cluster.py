"""The P2P roles as real nodes on loopback, in one process (demo and tests).

Each role is started the way a role process (:mod:`.process`) starts it: settings (its
roles, its adapters), a node built with the role's handlers, ``role.start(node)``, and an
entry in the shared directory. The network policy pack is installed (verified, compiled,
its Rego tests run) once per process and shared by the nodes, where a process gets it
from its ``[policy]`` settings. Trading platforms and ledger providers transact on the
P2P trading network under the ``p2p-trading-network`` pack (gate closure, hourly caps,
self-trade, GRID source, roles ...); meter-data BPPs serve on the DISCOMs' data-sharing
network, and ledger providers are listed under their own domain, so the gateway fans
``discover`` out to trading platforms only.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from iesnode.clock import SystemClock
from iesnode.interfaces import Clock
from iesnode.model.subscriber import Role, Subscriber
from iesnode.node import Node, build
from iesnode.policy.decisions import DecisionLog
from iesnode.policy.network import NetworkPolicy
from iesnode.policy.registry import PackRegistry
from iesnode.settings import NodeRole, NodeSettings
from iesnode.testing import LocalNetwork, generate_signing_key
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.config import (
    BuyerPlatformConfig,
    LedgerProviderConfig,
    MeterBppConfig,
    SellerPlatformConfig,
)
from iesnode.usecases.p2p.ledger import TradeLedger
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.meter_bpp import MeterDataBpp
from iesnode.usecases.p2p.peers import P2PRole
from iesnode.usecases.p2p.platform import SellerPlatform

__all__ = [
    "DATA_NETWORK",
    "LEDGER_DOMAIN",
    "NETWORK_PACK",
    "P2P_DOMAIN",
    "P2P_NETWORK",
    "P2PCluster",
    "SimulatedClock",
]

P2P_NETWORK = "indiaenergystack.in/test-ies-p2p-trading-network"
DATA_NETWORK = "indiaenergystack.in/test-ies-data-sharing-network"
P2P_DOMAIN = "deg:p2p-energy-trading"
LEDGER_DOMAIN = "deg:p2p-ledger"
NETWORK_PACK = Path(__file__).resolve().parents[2] / "policy" / "packs" / "p2p-trading-network"


@functools.cache
def _network_registry() -> PackRegistry:
    """The P2P network pack, installed once per process and shared read-only by nodes."""
    registry = PackRegistry(networks={P2P_NETWORK: "p2p-trading-network"})
    registry.install(NETWORK_PACK)
    return registry


class SimulatedClock:
    """Wall time shifted to a simulated moment; :meth:`jump` moves the simulation on.

    Time keeps running (timeouts and ttls behave), only the epoch differs, and every node
    of a cluster shares the clock, so signatures and policies agree on "now".
    """

    def __init__(self, start: float) -> None:
        self._offset = start - time.time()

    def now(self) -> float:
        """The simulated epoch seconds."""
        return time.time() + self._offset

    def jump(self, to: float) -> None:
        """Continue from ``to`` (epoch seconds); jumping backwards is refused."""
        if to < self.now():
            raise ValueError("the simulated clock does not go backwards")
        self._offset = to - time.time()


class P2PCluster:
    """P2P roles on one :class:`~iesnode.testing.LocalNetwork` (``async with`` closes all)."""

    def __init__(self, clock: Clock | None = None, *, network_policy: bool = True) -> None:
        self.net = LocalNetwork(network_id=P2P_NETWORK, domain=P2P_DOMAIN, clock=clock)
        self._clock = clock
        self._policy = network_policy
        self.roles: list[P2PRole] = []

    async def __aenter__(self) -> P2PCluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every role, then every node."""
        for role in reversed(self.roles):
            await role.aclose()
        self.roles.clear()
        await self.net.aclose()

    def settings(
        self,
        subscriber_id: str,
        roles: tuple[NodeRole, ...],
        *,
        network_id: str = P2P_NETWORK,
        adapters: dict[str, dict[str, Any]] | None = None,
    ) -> tuple[NodeSettings, str]:
        """A node's settings and its public key."""
        private, public = generate_signing_key()
        base = self.net.settings_for(subscriber_id, roles[0], private)
        update: dict[str, Any] = {
            "node": base.node.model_copy(update={"roles": roles}),
            "network": base.network.model_copy(update={"network_id": network_id}),
            "adapters": adapters or {},
        }
        return base.model_copy(update=update), public

    def network_policy(self, role: NodeRole) -> NetworkPolicy:
        """The P2P network pack for a node; installed (verified, compiled, tested) once.

        A ``serve`` process gets the same from its ``[policy]`` settings
        (``packs = [<NETWORK_PACK>]``, ``networks = {<P2P_NETWORK> = "p2p-trading-network"}``).
        """
        clock = self._clock or SystemClock()
        return NetworkPolicy(_network_registry(), DecisionLog(), clock, role=role.value)

    async def start(
        self,
        subscriber_id: str,
        role: P2PRole,
        roles: tuple[NodeRole, ...],
        *,
        listed_as: Role,
        domain: str = P2P_DOMAIN,
        network_id: str = P2P_NETWORK,
        policy: bool | None = None,
        adapters: dict[str, dict[str, Any]] | None = None,
    ) -> Node:
        """Build, start and list one role's node; then bind the role to it."""
        settings, public = self.settings(
            subscriber_id, roles, network_id=network_id, adapters=adapters
        )
        node = build(
            settings, handlers=role.handlers, directory=self.net.directory, clock=self._clock
        )
        if self._policy if policy is None else policy:
            node.network_policy = self.network_policy(roles[0])
        await node.start()
        self.net.nodes.append(node)
        self.net.directory.put(
            Subscriber(
                subscriber_id=subscriber_id,
                key_id=node.signer.key_id,
                url=node.public_url,
                role=listed_as,
                signing_public_key=public,
                network_id=network_id,
                domains=(domain,),
            )
        )
        await role.start(node)
        self.roles.append(role)
        return node

    async def gateway(self, subscriber_id: str = "gateway.p2p.test") -> Node:
        """A gateway for discovery."""
        return await self.net.add(subscriber_id, NodeRole.GATEWAY)

    async def meter_bpp(
        self, subscriber_id: str, config: MeterBppConfig, adapter: dict[str, Any]
    ) -> MeterDataBpp:
        """A DISCOM's meter-data BPP reading the node's ``[adapters.<config.adapter>]``."""
        role = MeterDataBpp(config)
        await self.start(
            subscriber_id,
            role,
            (NodeRole.BPP,),
            listed_as=Role.BPP,
            domain=LEDGER_DOMAIN,
            network_id=DATA_NETWORK,
            policy=False,
            adapters={config.adapter: adapter},
        )
        return role

    async def ledger_provider(
        self, config: LedgerProviderConfig, ledger: TradeLedger | None = None
    ) -> LedgerProvider:
        """A DISCOM's ledger provider, running as the DISCOM id."""
        role = LedgerProvider(config, ledger)
        await self.start(
            config.discom_id,
            role,
            (NodeRole.BPP, NodeRole.BAP),
            listed_as=Role.BPP,
            domain=LEDGER_DOMAIN,
        )
        return role

    async def seller_platform(
        self, subscriber_id: str, config: SellerPlatformConfig, *, policy: bool | None = None
    ) -> SellerPlatform:
        """A seller trading platform (BPP, with a BAP face towards its ledger provider)."""
        role = SellerPlatform(config)
        roles = (NodeRole.BPP, NodeRole.BAP)
        await self.start(subscriber_id, role, roles, listed_as=Role.BPP, policy=policy)
        return role

    async def buyer_platform(
        self, subscriber_id: str, config: BuyerPlatformConfig, *, policy: bool | None = None
    ) -> BuyerPlatform:
        """A buyer trading platform (BAP)."""
        role = BuyerPlatform(config)
        await self.start(subscriber_id, role, (NodeRole.BAP,), listed_as=Role.BAP, policy=policy)
        return role
