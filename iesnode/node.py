"""The running node, and ``build(settings) -> Node``, the composition root that makes one.

A :class:`Node` owns its HTTP server, its roles and the worker draining its outbox;
``build`` hands it the implementations :func:`iesnode.wiring.wire` chooses from the
settings (in-process without ``[redis] url``, Redis-backed with it), and
``Node.start`` connects its roles (:mod:`iesnode.node_roles`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiohttp import web

from iesnode.consent.audit import AuditLog
from iesnode.consent.lifecycle import ConsentLedger
from iesnode.consent.services import IssuerServices
from iesnode.credentials.issuer import CredentialIssuer
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
from iesnode.node_roles import make_bap_client, wire_roles
from iesnode.policy.contract import ContractPolicy
from iesnode.policy.network import NetworkPolicy
from iesnode.protocol.actions import ACTIONS, CALLBACKS
from iesnode.protocol.inbound import Exchange, InboundLimits, InboundVerifier
from iesnode.protocol.jobs import encode_job
from iesnode.protocol.roles.backlog import Backlog
from iesnode.protocol.roles.bap import BapReceiver
from iesnode.protocol.roles.bap_client import BapClient
from iesnode.protocol.roles.bpp import BppRole, HandlerRegistry
from iesnode.protocol.roles.gateway import GatewayRole
from iesnode.protocol.roles.router import Router
from iesnode.protocol.roles.subscriber import OnSubscribeResponder
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import Signer
from iesnode.settings import NodeRole, NodeSettings
from iesnode.wiring import wire

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
        roles = wire_roles(self)
        self.bpp, self.gateway, self._router = roles.bpp, roles.gateway, roles.router
        self._worker_task = asyncio.create_task(roles.worker.run(), name="iesnode-worker")
        if self.settings.credentials.enabled:
            await self._start_credentials()
        log.info("node_started", url=self.public_url, roles=sorted(self.roles))

    async def check_inbound(self, envelope: Envelope, sender: str) -> None:
        """Network, then contract policy on a verified inbound message (NACK on refusal)."""
        if self.network_policy is not None:
            await self.network_policy.check(envelope, direction="inbound", sender=sender)
        if self.contract_policy is not None:
            await self.contract_policy.check(envelope, direction="inbound", sender=sender)

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
        return make_bap_client(self, network_id=network_id)


def build(
    settings: NodeSettings,
    *,
    handlers: HandlerRegistry | None = None,
    directory: SubscriberDirectory | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
) -> Node:
    """Wire a node from its settings; ``directory``/``transport``/``clock`` override defaults."""
    parts = wire(settings, directory=directory, transport=transport, clock=clock)
    return Node(settings, handlers=handlers or HandlerRegistry(), **parts)
