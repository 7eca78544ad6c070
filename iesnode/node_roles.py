"""A started node's roles and how they connect: BPP, gateway, router, outbox worker, BAP client.

``Node.start`` wires them once its HTTP server is bound, because the BPP and the BAP
put the node's public URL (``bpp_uri``/``bap_uri``) in what they send. The BPP's
callbacks and the BAP's requests both pass the node's network policy on the way
out; the worker drains the outbox the router fills, reporting each delivery to the
node's metrics.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iesnode.metrics import NodeMetrics
from iesnode.model.envelope import Envelope
from iesnode.protocol.jobs import DeliverJob, FanoutJob
from iesnode.protocol.roles.bap_client import BapClient, BapProfile
from iesnode.protocol.roles.bpp import BppRole, OutboundCheck
from iesnode.protocol.roles.gateway import GatewayRole
from iesnode.protocol.roles.router import Router
from iesnode.protocol.roles.worker import DeliveryPolicy, JobWorker
from iesnode.settings import NodeRole, NodeSettings

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["NodeRoles", "make_bap_client", "outbound_check", "wire_roles", "worker_consumer"]


@dataclass(frozen=True, slots=True)
class NodeRoles:
    """The roles of one started node; ``gateway`` only with the gateway role."""

    bpp: BppRole
    gateway: GatewayRole | None
    router: Router
    worker: JobWorker


def outbound_check(node: Node) -> OutboundCheck | None:
    """The network policy on what ``node`` sends, or None when it has no network policy."""
    if node.network_policy is None:
        return None

    async def check(envelope: Envelope) -> None:
        if node.network_policy is not None:
            await node.network_policy.check(
                envelope, direction="outbound", sender=node.signer.subscriber_id
            )

    return check


def worker_consumer(settings: NodeSettings) -> str:
    """The outbox consumer name: ``[delivery] consumer``, else ``<hostname>-<pid>``."""
    return settings.delivery.consumer or f"{socket.gethostname()}-{os.getpid()}"


def _observe_delivery(
    metrics: NodeMetrics, job: DeliverJob, outcome: str, attempts: int, age: float
) -> None:
    metrics.callbacks.labels(job.action, outcome).inc()
    metrics.callback_attempts.labels(job.action).inc(attempts)
    if outcome == "delivered":
        metrics.callback_latency.labels(job.action).observe(age)


def wire_roles(node: Node) -> NodeRoles:
    """Wire the roles of ``node``, whose ``public_url`` is known by now."""
    bpp = BppRole(
        node.handlers,
        subscriber_id=node.signer.subscriber_id,
        public_url=node.public_url,
        clock=node.clock,
        outbound_check=outbound_check(node),
    )
    gateway: GatewayRole | None = None
    if NodeRole.GATEWAY in node.roles:
        gateway = GatewayRole(
            directory=node.directory,
            transport=node.transport,
            signer=node.signer,
            clock=node.clock,
            fanout_timeout=node.settings.gateway.fanout_timeout,
            observe=lambda _bpp, outcome, _s: node.metrics.fanout.labels(outcome).inc(),
        )
    router = Router(
        signer=node.signer,
        clock=node.clock,
        outbox=node.outbox,
        receiver=node.receiver,
        bpp=bpp,
        gateway=gateway,
        provider=NodeRole.BPP in node.roles,
        backlog=node.backlog,
    )

    async def run_fanout(job: FanoutJob) -> None:
        if node.gateway is None:
            raise RuntimeError("fan-out job on a node without the gateway role")
        await node.gateway.fanout(job)

    def observe(job: DeliverJob, outcome: str, attempts: int, age: float) -> None:
        _observe_delivery(node.metrics, job, outcome, attempts, age)

    d = node.settings.delivery
    worker = JobWorker(
        outbox=node.outbox,
        transport=node.transport,
        signer=node.signer,
        clock=node.clock,
        policy=DeliveryPolicy(d.timeout, d.max_attempts, d.backoff_base, d.backoff_max),
        consumer=worker_consumer(node.settings),
        run_handler=bpp.run,
        run_fanout=run_fanout,
        concurrency=d.concurrency,
        observe=observe,
        on_settled=node.backlog.settle,
    )
    return NodeRoles(bpp=bpp, gateway=gateway, router=router, worker=worker)


def make_bap_client(node: Node, *, network_id: str | None = None) -> BapClient:
    """A client sending as ``node``'s BAP; ``network_id`` replaces the node's own."""
    net = node.settings.network
    profile = BapProfile(
        public_url=node.public_url,
        dialect=net.dialect,
        network_id=net.network_id if network_id is None else network_id,
        domain=net.domain,
        city=net.city,
        country=net.country,
        gateway_url=net.gateway_url,
        request_ttl=net.request_ttl,
        request_timeout=node.settings.delivery.timeout,
        request_attempts=net.request_attempts,
    )
    return BapClient(
        signer=node.signer,
        profile=profile,
        inbox=node.inbox,
        receiver=node.receiver,
        transport=node.transport,
        directory=node.directory,
        clock=node.clock,
        outbound_check=outbound_check(node),
    )
