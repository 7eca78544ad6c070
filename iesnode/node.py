"""The composition root: ``build(settings) -> Node``, the only place choosing implementations.

Without ``[redis] url`` every seam is in-process (the embedded default used by
``iesnode demo``); with it, lookup cache, replay guard, callback inbox and outbox
live in Redis, so several node processes behind one address share them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiohttp import web

from iesnode.adapters.registry import load_configured
from iesnode.clock import SystemClock
from iesnode.consent.audit import AuditLog
from iesnode.consent.lifecycle import ConsentLedger
from iesnode.consent.services import IssuerServices
from iesnode.credentials.issuer import CredentialIssuer
from iesnode.errors import ConfigError
from iesnode.http.app import make_app
from iesnode.http.transport import AiohttpTransport
from iesnode.interfaces import (
    CallbackInbox,
    Clock,
    Outbox,
    ReplayGuard,
    SubscriberDirectory,
    Transport,
)
from iesnode.metrics import NodeMetrics
from iesnode.model.envelope import Context, Envelope
from iesnode.policy import setup as policy_setup
from iesnode.policy.contract import ContractPolicy
from iesnode.policy.network import NetworkPolicy
from iesnode.protocol.actions import ACTIONS, CALLBACKS
from iesnode.protocol.inbound import Exchange, InboundLimits, InboundVerifier
from iesnode.protocol.jobs import DeliverJob, encode_job
from iesnode.protocol.roles.backlog import Backlog
from iesnode.protocol.roles.bap import BapReceiver
from iesnode.protocol.roles.bap_client import BapClient, BapProfile
from iesnode.protocol.roles.bpp import BppRole, HandlerRegistry
from iesnode.protocol.roles.gateway import GatewayRole
from iesnode.protocol.roles.router import Router
from iesnode.protocol.roles.subscriber import OnSubscribeResponder
from iesnode.protocol.roles.worker import DeliveryPolicy, JobWorker
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import Signer
from iesnode.registry.client import RegistryClient
from iesnode.registry.layered import LayeredDirectory
from iesnode.registry.static import StaticDirectory
from iesnode.settings import NodeRole, NodeSettings
from iesnode.storage.cache import MemoryCache, RedisCache
from iesnode.storage.inbox import MemoryCallbackInbox, RedisCallbackInbox
from iesnode.storage.outbox import MemoryOutbox, RedisOutbox
from iesnode.storage.replay import MemoryReplayGuard, RedisReplayGuard

__all__ = ["Node", "build"]

log = structlog.get_logger(__name__)


class Node:
    """One running node: its HTTP server, its roles and the worker draining its outbox."""

    def __init__(
        self,
        settings: NodeSettings,
        *,
        clock: Clock,
        signer: Signer,
        directory: SubscriberDirectory,
        replay_guard: ReplayGuard,
        inbox: CallbackInbox,
        outbox: Outbox,
        schemas: SchemaRegistry,
        transport: Transport,
        redis: aioredis.Redis | None,
        handlers: HandlerRegistry,
        network_policy: NetworkPolicy | None = None,
        contract_policy: ContractPolicy | None = None,
        adapters: dict[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.signer = signer
        self.directory = directory
        self.inbox = inbox
        self.outbox = outbox
        self.handlers = handlers
        self.network_policy = network_policy
        self.contract_policy = contract_policy
        self.adapters: dict[str, object] = adapters or {}
        """Legacy-system adapters by name, for handlers (``CustomerInformation``, ``MeterData``)."""
        self.metrics = NodeMetrics()
        self.roles = frozenset(settings.node.roles)
        sec, net = settings.security, settings.network
        self.verifier = InboundVerifier(
            directory=directory,
            replay_guard=replay_guard,
            schemas=schemas,
            clock=clock,
            limits=InboundLimits(
                clock_skew=sec.clock_skew,
                max_body_bytes=sec.max_body_bytes,
                default_ttl=sec.default_ttl,
                allowed_networks=net.allowed_networks,
                allowed_domains=net.allowed_domains,
            ),
        )
        self.receiver = BapReceiver(inbox=inbox, clock=clock)
        enc = settings.node.encryption_private_key
        self.on_subscribe = OnSubscribeResponder(
            subscriber_id=settings.node.subscriber_id,
            encryption_private_key=enc.get_secret_value() if enc else None,
            directory=directory,
            clock=clock,
            clock_skew=sec.clock_skew,
        )
        self._transport = transport
        self._redis = redis
        self._runner: web.AppRunner | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self.public_url = settings.node.public_url or ""
        self.bpp: BppRole | None = None
        self.gateway: GatewayRole | None = None
        self.credentials: CredentialIssuer | None = None
        self.consent: ConsentLedger | None = None
        self.audit: AuditLog | None = None
        self._issuing: IssuerServices | None = None
        self._router: Router | None = None
        self.backlog = Backlog(settings.delivery.max_backlog)
        stats = getattr(directory, "stats", None)
        if stats is not None:
            self.metrics.watch_lookups(stats)

    @property
    def served_actions(self) -> frozenset[str]:
        """Canonical actions this node answers, by role."""
        served: set[str] = set()
        if NodeRole.BPP in self.roles:
            served.update(ACTIONS)
        if NodeRole.BAP in self.roles:
            served.update(CALLBACKS)
        if NodeRole.GATEWAY in self.roles:
            served.update(("discover", "on_discover"))
        return frozenset(served)

    @property
    def transport(self) -> Transport:
        """The outbound transport."""
        return self._transport

    def on(self, action: str) -> Any:
        """Decorator registering a BPP handler: ``@node.on("select")``."""
        return self.handlers.on(action)

    async def start(self) -> None:
        """Bind the HTTP server, wire the roles and start the outbox worker."""
        ident = self.settings.node
        self._runner = web.AppRunner(make_app(self), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, ident.host, ident.port, reuse_address=True)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        if not self.public_url:
            self.public_url = f"http://{host}:{port}"
        self.bpp = BppRole(
            self.handlers,
            subscriber_id=self.signer.subscriber_id,
            public_url=self.public_url,
            clock=self.clock,
            outbound_check=self._check_outbound if self.network_policy else None,
        )
        if NodeRole.GATEWAY in self.roles:
            self.gateway = GatewayRole(
                directory=self.directory,
                transport=self._transport,
                signer=self.signer,
                clock=self.clock,
                fanout_timeout=self.settings.gateway.fanout_timeout,
                observe=lambda _bpp, outcome, _s: self.metrics.fanout.labels(outcome).inc(),
            )
        self._router = Router(
            signer=self.signer,
            clock=self.clock,
            outbox=self.outbox,
            receiver=self.receiver,
            bpp=self.bpp,
            gateway=self.gateway,
            provider=NodeRole.BPP in self.roles,
            backlog=self.backlog,
        )
        d = self.settings.delivery
        worker = JobWorker(
            outbox=self.outbox,
            transport=self._transport,
            signer=self.signer,
            clock=self.clock,
            policy=DeliveryPolicy(d.timeout, d.max_attempts, d.backoff_base, d.backoff_max),
            consumer=d.consumer or f"{socket.gethostname()}-{os.getpid()}",
            run_handler=self.bpp.run,
            run_fanout=self._run_fanout,
            concurrency=d.concurrency,
            observe=self._observe_delivery,
            on_settled=self.backlog.settle,
        )
        self._worker_task = asyncio.create_task(worker.run(), name="iesnode-worker")
        if self.settings.credentials.enabled:
            await self._start_credentials()
        log.info("node_started", url=self.public_url, roles=sorted(self.roles))

    async def check_inbound(self, envelope: Envelope, sender: str) -> None:
        """Network, then contract policy on a verified inbound message (NACK on refusal)."""
        if self.network_policy is not None:
            await self.network_policy.check(envelope, direction="inbound", sender=sender)
        if self.contract_policy is not None:
            await self.contract_policy.check(envelope, direction="inbound", sender=sender)

    async def _check_outbound(self, envelope: Envelope) -> None:
        if self.network_policy is not None:
            await self.network_policy.check(
                envelope, direction="outbound", sender=self.signer.subscriber_id
            )

    async def _start_credentials(self) -> None:
        """The node as an issuer: did:web:<subscriber id>#key-1 (its /.well-known/did.json)."""
        self._issuing = await IssuerServices.open(
            data_dir=self.settings.credentials.data_dir,
            subscriber_id=self.signer.subscriber_id,
            private_key=self.settings.node.signing_private_key.get_secret_value(),
            public_url=self.public_url,
            clock=self.clock,
        )
        self.credentials = self._issuing.issuer
        self.audit = self._issuing.audit
        self.consent = self._issuing.consent

    async def _run_fanout(self, job: Any) -> None:
        if self.gateway is None:
            raise RuntimeError("fan-out job on a node without the gateway role")
        await self.gateway.fanout(job)

    def _observe_delivery(self, job: DeliverJob, outcome: str, attempts: int, age: float) -> None:
        self.metrics.callbacks.labels(job.action, outcome).inc()
        self.metrics.callback_attempts.labels(job.action).inc(attempts)
        if outcome == "delivered":
            self.metrics.callback_latency.labels(job.action).observe(age)

    async def aclose(self) -> None:
        """Stop the worker and the server, close connections."""
        if self._worker_task is not None:
            self._worker_task.cancel()
            done, _ = await asyncio.wait({self._worker_task}, timeout=5)
            if not done:
                log.error("worker_did_not_stop")
        if self._runner is not None:
            await self._runner.cleanup()
        if isinstance(self._transport, AiohttpTransport):
            await self._transport.aclose()
        if self._redis is not None:
            await self._redis.aclose()
        if self._issuing is not None:
            await self._issuing.aclose()
        for adapter in self.adapters.values():
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> Node:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def accept(self, ex: Exchange, envelope: Envelope) -> tuple[int, bytes]:
        """Route a verified message to its role; return the ACK's HTTP status and body."""
        if self._router is None:
            raise RuntimeError("node is not started")
        return 200, await self._router.accept(ex, envelope)

    async def push(self, request: Context, action: str, message: dict[str, Any]) -> str:
        """Send an unsolicited callback (new messageId) in ``request``'s transaction."""
        if self.bpp is None:
            raise RuntimeError("node is not started")
        job = self.bpp.push(request, action, message)
        self.backlog.admit()
        await self.outbox.put(encode_job(job))
        return job.message_id

    @asynccontextmanager
    async def bap(self) -> AsyncIterator[BapClient]:
        """``async with node.bap() as bap:`` a client sending as this node's BAP."""
        yield self.bap_client()

    def bap_client(self, *, network_id: str | None = None) -> BapClient:
        """A client sending as this node's BAP; ``network_id`` replaces the node's own."""
        if self.bpp is None:
            raise RuntimeError("start the node before using its BAP client")
        net = self.settings.network
        profile = BapProfile(
            public_url=self.public_url,
            dialect=net.dialect,
            network_id=net.network_id if network_id is None else network_id,
            domain=net.domain,
            city=net.city,
            country=net.country,
            gateway_url=net.gateway_url,
            request_ttl=net.request_ttl,
            request_timeout=self.settings.delivery.timeout,
            request_attempts=net.request_attempts,
        )
        return BapClient(
            signer=self.signer,
            profile=profile,
            inbox=self.inbox,
            receiver=self.receiver,
            transport=self._transport,
            directory=self.directory,
            clock=self.clock,
            outbound_check=self._check_outbound if self.network_policy else None,
        )


def build(
    settings: NodeSettings,
    *,
    handlers: HandlerRegistry | None = None,
    directory: SubscriberDirectory | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
) -> Node:
    """Wire a node from its settings; ``directory``/``transport``/``clock`` override defaults."""
    clock = clock or SystemClock()
    ident = settings.node
    try:
        signer = Signer.from_base64(
            ident.subscriber_id,
            ident.key_id,
            ident.signing_private_key.get_secret_value(),
            settings.security.signature_lifetime,
        )
    except ValueError as exc:
        raise ConfigError(f"node.signing_private_key: {exc}") from exc
    client = aioredis.Redis.from_url(settings.redis.url) if settings.redis.url else None
    transport = transport or AiohttpTransport()
    reg = settings.registry
    if directory is None:
        sources: list[SubscriberDirectory] = [StaticDirectory(reg.subscribers)]
        if reg.url:
            sources.append(RegistryClient(transport, reg.url, api=reg.api, timeout=reg.timeout))
        directory = LayeredDirectory(
            sources,
            clock=clock,
            memory=MemoryCache(clock),
            shared=RedisCache(client) if client else None,
            ttl=reg.cache_ttl,
            negative_ttl=reg.negative_ttl,
        )
    d = settings.delivery
    # Hot state is namespaced per subscriber, so several different nodes (a platform's
    # BAP and BPP, or BPPs that receive the same gateway-forwarded bytes) can share one
    # Redis without taking each other's jobs or seeing each other's replays.
    ns = f"ies:{ident.subscriber_id}"
    return Node(
        settings,
        clock=clock,
        signer=signer,
        directory=directory,
        replay_guard=RedisReplayGuard(client, prefix=f"{ns}:replay:")
        if client
        else MemoryReplayGuard(clock),
        inbox=RedisCallbackInbox(client, clock, namespace=ns)
        if client
        else MemoryCallbackInbox(clock),
        outbox=RedisOutbox(
            client,
            stream=f"ies:{{outbox:{ident.subscriber_id}}}",
            dead_stream=f"ies:{{outbox:{ident.subscriber_id}}}:dead",
            claim_after=d.claim_after,
        )
        if client
        else MemoryOutbox(clock, claim_after=d.claim_after),
        schemas=SchemaRegistry.load(),
        transport=transport,
        redis=client,
        handlers=handlers or HandlerRegistry(),
        network_policy=policy_setup.network_policy(
            settings.policy, role=ident.roles[0].value, clock=clock
        ),
        contract_policy=policy_setup.contract_policy(
            settings.policy, role=ident.roles[0].value, clock=clock, transport=transport
        ),
        adapters={name: load_configured(name, cfg) for name, cfg in settings.adapters.items()},
    )
