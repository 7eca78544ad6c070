"""Choosing a node's implementations from its settings (the body of ``iesnode.node.build``).

This is the only place that picks between the in-process and the Redis-backed
implementation of each seam in :mod:`iesnode.interfaces`. Without ``[redis] url``
every seam is in-process (the embedded default used by ``iesnode demo``); with it,
lookup cache, replay guard, callback inbox and outbox live in Redis, so several
node processes behind one address share them.
"""

from __future__ import annotations

from typing import TypedDict

import redis.asyncio as aioredis

from iesnode.adapters.registry import load_configured
from iesnode.clock import SystemClock
from iesnode.errors import ConfigError
from iesnode.http.transport import AiohttpTransport
from iesnode.interfaces import (
    CallbackInbox,
    Clock,
    Outbox,
    ReplayGuard,
    SubscriberDirectory,
    Transport,
)
from iesnode.policy import setup as policy_setup
from iesnode.policy.contract import ContractPolicy
from iesnode.policy.network import NetworkPolicy
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import Signer
from iesnode.registry.client import RegistryClient
from iesnode.registry.layered import LayeredDirectory
from iesnode.registry.static import StaticDirectory
from iesnode.settings import NodeSettings
from iesnode.storage.cache import MemoryCache, RedisCache
from iesnode.storage.inbox import MemoryCallbackInbox, RedisCallbackInbox
from iesnode.storage.outbox import MemoryOutbox, RedisOutbox
from iesnode.storage.replay import MemoryReplayGuard, RedisReplayGuard

__all__ = ["NodeParts", "node_signer", "subscriber_directory", "wire"]


class NodeParts(TypedDict):
    """The implementations one node runs on: ``Node``'s keyword arguments but ``handlers``."""

    clock: Clock
    signer: Signer
    directory: SubscriberDirectory
    replay_guard: ReplayGuard
    inbox: CallbackInbox
    outbox: Outbox
    schemas: SchemaRegistry
    transport: Transport
    redis: aioredis.Redis | None
    network_policy: NetworkPolicy | None
    contract_policy: ContractPolicy | None
    adapters: dict[str, object]


def node_signer(settings: NodeSettings) -> Signer:
    """The node's own signer from ``[node]``; a bad private key is a ConfigError."""
    ident = settings.node
    try:
        return Signer.from_base64(
            ident.subscriber_id,
            ident.key_id,
            ident.signing_private_key.get_secret_value(),
            settings.security.signature_lifetime,
        )
    except ValueError as exc:
        raise ConfigError(f"node.signing_private_key: {exc}") from exc


def subscriber_directory(
    settings: NodeSettings,
    *,
    transport: Transport,
    clock: Clock,
    client: aioredis.Redis | None,
) -> SubscriberDirectory:
    """Static ``[registry] subscribers`` first, then the registry at ``[registry] url``.

    Lookups are cached in memory and, with Redis, in a cache the node's processes share.
    """
    reg = settings.registry
    sources: list[SubscriberDirectory] = [StaticDirectory(reg.subscribers)]
    if reg.url:
        sources.append(RegistryClient(transport, reg.url, api=reg.api, timeout=reg.timeout))
    return LayeredDirectory(
        sources,
        clock=clock,
        memory=MemoryCache(clock),
        shared=RedisCache(client) if client else None,
        ttl=reg.cache_ttl,
        negative_ttl=reg.negative_ttl,
    )


def wire(
    settings: NodeSettings,
    *,
    directory: SubscriberDirectory | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
) -> NodeParts:
    """Every implementation from the settings; ``directory``/``transport``/``clock`` override."""
    clock = clock or SystemClock()
    ident = settings.node
    signer = node_signer(settings)
    client = aioredis.Redis.from_url(settings.redis.url) if settings.redis.url else None
    transport = transport or AiohttpTransport()
    if directory is None:
        directory = subscriber_directory(settings, transport=transport, clock=clock, client=client)
    d = settings.delivery
    # Hot state is namespaced per subscriber, so several different nodes (a platform's
    # BAP and BPP, or BPPs that receive the same gateway-forwarded bytes) can share one
    # Redis without taking each other's jobs or seeing each other's replays.
    ns = f"ies:{ident.subscriber_id}"
    replay_guard: ReplayGuard
    inbox: CallbackInbox
    outbox: Outbox
    if client:
        replay_guard = RedisReplayGuard(client, prefix=f"{ns}:replay:")
        inbox = RedisCallbackInbox(client, clock, namespace=ns)
        outbox = RedisOutbox(
            client,
            stream=f"ies:{{outbox:{ident.subscriber_id}}}",
            dead_stream=f"ies:{{outbox:{ident.subscriber_id}}}:dead",
            claim_after=d.claim_after,
        )
    else:
        replay_guard = MemoryReplayGuard(clock)
        inbox = MemoryCallbackInbox(clock)
        outbox = MemoryOutbox(clock, claim_after=d.claim_after)
    role = ident.roles[0].value
    return NodeParts(
        clock=clock,
        signer=signer,
        directory=directory,
        replay_guard=replay_guard,
        inbox=inbox,
        outbox=outbox,
        schemas=SchemaRegistry.load(),
        transport=transport,
        redis=client,
        network_policy=policy_setup.network_policy(settings.policy, role=role, clock=clock),
        contract_policy=policy_setup.contract_policy(
            settings.policy, role=role, clock=clock, transport=transport
        ),
        adapters={name: load_configured(name, cfg) for name, cfg in settings.adapters.items()},
    )
