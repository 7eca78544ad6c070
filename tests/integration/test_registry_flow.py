"""Registry and nodes together: subscribe through the challenge, find each other only
through the registry, trade, then a revoked key is refused within the cache TTL."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey

from iesnode.clock import SystemClock
from iesnode.demo import energy_provider
from iesnode.errors import NackReceived
from iesnode.http.transport import AiohttpTransport
from iesnode.model.subscriber import Role, SubscriberQuery
from iesnode.node import Node, build
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.signing import Signer
from iesnode.registry.subscribe import encryption_public_key, subscribe, subscription_body
from iesnode.registry_serve import RunningRegistry, start_registry
from iesnode.settings import NodeRole, load_registry_settings, load_settings
from iesnode.testing import generate_signing_key
from tests.redis_server import free_port

NETWORK = "ies.example/p2p-trading"
ADMIN_PRIVATE, ADMIN_PUBLIC = generate_signing_key()


def x25519() -> str:
    """A fresh base64 X25519 private key."""
    return base64.b64encode(bytes(PrivateKey.generate())).decode()


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[RunningRegistry]:
    """A registry on port 0 with one admin and the ies.example namespace."""
    settings = load_registry_settings(
        {
            "port": 0,
            "data_dir": str(tmp_path / "registry"),
            "admins": [{"key_id": "root", "public_key": ADMIN_PUBLIC}],
            "namespaces": [{"name": "ies.example", "registries": ["p2p-trading", "registry"]}],
        }
    )
    running = await start_registry(settings)
    try:
        yield running
    finally:
        await running.aclose()


def node_for(registry_url: str, subscriber_id: str, role: NodeRole, **extra: Any) -> Node:
    """A node that knows nobody but the registry (dedi lookups, 1 s cache)."""
    return build(
        load_settings(
            {
                "node": {
                    "subscriber_id": subscriber_id,
                    "key_id": "k1",
                    "signing_private_key": generate_signing_key()[0],
                    "encryption_private_key": x25519(),
                    "roles": [role.value],
                },
                "network": {"network_id": NETWORK, "domain": "deg:p2p-energy-trading"},
                "registry": {"url": registry_url, "api": "dedi", "cache_ttl": 1.0},
            }
        ),
        **extra,
    )


async def join(node: Node, registry_url: str, role: Role) -> str:
    """Run the subscribe handshake for a started node."""
    enc = node.settings.node.encryption_private_key
    assert enc is not None
    body = subscription_body(
        signer=node.signer,
        subscriber_url=node.public_url,
        role=role,
        encryption_public_key=encryption_public_key(enc.get_secret_value()),
        network_id=NETWORK,
        domains=("deg:p2p-energy-trading",),
    )
    return await subscribe(
        registry_url, body, signer=node.signer, transport=node.transport, clock=SystemClock()
    )


async def admin_post(registry_url: str, path: str, doc: dict[str, Any]) -> tuple[int, Any]:
    """POST an admin-signed write."""
    admin = Signer.from_base64("admin", "root", ADMIN_PRIVATE)
    body = json.dumps(doc).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": admin.sign(body, int(SystemClock().now())),
    }
    transport = AiohttpTransport()
    try:
        reply = await transport.post(f"{registry_url}/{path}", body, headers, 5.0)
    finally:
        await transport.aclose()
    return reply.status, json.loads(reply.body)


async def test_nodes_subscribe_trade_and_a_revoked_key_is_refused(
    registry: RunningRegistry,
) -> None:
    """Subscribe both nodes, discover and select via registry lookups, revoke the BAP, get 401."""
    bpp = node_for(
        registry.url,
        "bpp.ies.example",
        NodeRole.BPP,
        handlers=energy_provider("bpp.ies.example", 4.0, 2.0),
    )
    bap = node_for(registry.url, "bap.ies.example", NodeRole.BAP)
    async with bpp, bap:
        assert await join(bpp, registry.url, Role.BPP) == "SUBSCRIBED"
        assert await join(bap, registry.url, Role.BAP) == "SUBSCRIBED"
        found = await bap.directory.find(SubscriberQuery(role=Role.BPP, network_id=NETWORK))
        assert [s.subscriber_id for s in found] == ["bpp.ies.example"]
        peer = Peer(found[0].subscriber_id, found[0].url)
        async with bap.bap() as client:
            offers = [cb async for cb in client.discover({"intent": {}}, to=peer, ttl=1.0)]
            assert [o.sender for o in offers] == ["bpp.ies.example"]
            order = {"contract": {"commitments": [{"id": "c1"}]}}
            on_select = await client.select(offers[0], order, ttl=5)
            assert on_select.sender == "bpp.ies.example"
            status, _ = await admin_post(
                registry.url,
                "participants/status",
                {"subscriber_id": "bap.ies.example", "key_id": "k1", "status": "REVOKED"},
            )
            assert status == 200
            await asyncio.sleep(1.2)  # the BPP's lookup cache (cache_ttl 1 s) runs out
            with pytest.raises(NackReceived) as refused:
                await client.select(peer, order, ttl=5)
    assert refused.value.status == 401
    assert refused.value.code == "AUT_KEY_REVOKED"


async def test_wrong_challenge_answer_leaves_the_registry_unchanged(
    registry: RunningRegistry,
) -> None:
    """A subscriber that registers an encryption key it does not hold cannot subscribe."""
    node = node_for(registry.url, "liar.ies.example", NodeRole.BPP)
    async with node:
        body = subscription_body(
            signer=node.signer,
            subscriber_url=node.public_url,
            role=Role.BPP,
            encryption_public_key=encryption_public_key(x25519()),  # not the node's key
            network_id=NETWORK,
        )
        with pytest.raises(NackReceived) as refused:
            await subscribe(
                registry.url,
                body,
                signer=node.signer,
                transport=node.transport,
                clock=SystemClock(),
            )
    assert refused.value.status == 401
    assert refused.value.code == "AUT_CHALLENGE_FAILED"
    assert await registry.service.lookup("liar.ies.example", "k1") is None


async def test_a_key_id_cannot_be_taken_over(registry: RunningRegistry) -> None:
    """Another key under a registered key id: a stranger gets 401, even an admin gets 409."""
    first = node_for(registry.url, "bpp.ies.example", NodeRole.BPP)
    async with first:
        assert await join(first, registry.url, Role.BPP) == "SUBSCRIBED"
        impostor = node_for(registry.url, "bpp.ies.example", NodeRole.BPP)
        async with impostor:
            with pytest.raises(NackReceived) as refused:
                await join(impostor, registry.url, Role.BPP)
        assert refused.value.status == 401  # cannot prove possession of the registered key
        status, answer = await admin_post(
            registry.url,
            "participants",
            {
                "namespace": "ies.example",
                "registry": "p2p-trading",
                "subscriber_id": "bpp.ies.example",
                "unique_key_id": "k1",
                "subscriber_url": first.public_url,
                "type": "BPP",
                "signing_public_key": generate_signing_key()[1],
                "encr_public_key": encryption_public_key(x25519()),
            },
        )
    assert (status, answer["error"]["code"]) == (409, "REG_DUPLICATE_KEY_ID")
    record = await registry.service.lookup("bpp.ies.example", "k1")
    assert record is not None
    assert record.signing_public_key == first.signer.public_key


async def test_unsigned_write_is_refused(registry: RunningRegistry) -> None:
    """A status change without a signature is a 401 and changes nothing."""
    transport = AiohttpTransport()
    try:
        reply = await transport.post(
            f"{registry.url}/participants/status",
            b'{"subscriber_id":"registry.local","key_id":"k1","status":"REVOKED"}',
            {"Content-Type": "application/json"},
            5.0,
        )
    finally:
        await transport.aclose()
    assert reply.status == 401
    assert json.loads(reply.body)["error"]["code"] == "AUT_SIGNATURE_MISSING"


async def test_unreachable_subscriber_is_not_subscribed(registry: RunningRegistry) -> None:
    """The registry cannot deliver the challenge: 400 REG_SUBSCRIBER_UNREACHABLE, no record."""
    node = node_for(registry.url, "gone.ies.example", NodeRole.BPP)
    async with node:
        enc = node.settings.node.encryption_private_key
        assert enc is not None
        body = subscription_body(
            signer=node.signer,
            subscriber_url=f"http://127.0.0.1:{free_port()}",
            role=Role.BPP,
            encryption_public_key=encryption_public_key(enc.get_secret_value()),
            network_id=NETWORK,
        )
        with pytest.raises(NackReceived) as refused:
            await subscribe(
                registry.url,
                body,
                signer=node.signer,
                transport=node.transport,
                clock=SystemClock(),
            )
    assert (refused.value.status, refused.value.code) == (400, "REG_SUBSCRIBER_UNREACHABLE")
    assert await registry.service.lookup("gone.ies.example", "k1") is None
