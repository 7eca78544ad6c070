"""Node behaviour beyond the happy path: key rotation, health and metrics, unsolicited
callbacks, handler errors, providers without a handler, the legacy gateway header."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from iesnode.clock import SystemClock
from iesnode.errors import BusinessError, CallbackError, NackReceived
from iesnode.http.transport import AiohttpTransport
from iesnode.identity.didkey import DidKey
from iesnode.identity.resolver import DidResolver
from iesnode.model.subscriber import Role
from iesnode.node import build
from iesnode.protocol.dialects import read_envelope
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.registry.layered import LayeredDirectory
from iesnode.registry.static import StaticDirectory
from iesnode.settings import NodeRole
from iesnode.storage.cache import MemoryCache
from iesnode.testing import LocalNetwork, generate_signing_key
from tests.integration.helpers import (
    CallbackSink,
    assert_ack,
    encode,
    enrol_key,
    post,
    signed_headers,
    v2_context,
)

ORDER = {"contract": {"commitments": [{"id": "c1"}]}}


def select_body(bap_id: str, bap_uri: str) -> bytes:
    """A valid v2 select from ``bap_id``."""
    ctx = v2_context("select", bap_id=bap_id, bap_uri=bap_uri, now=SystemClock().now())
    return encode({"context": ctx, "message": ORDER})


def accept_all() -> HandlerRegistry:
    """A provider answering select with the order it got."""
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return req.message

    return handlers


async def test_rotated_key_is_picked_up_by_one_forced_lookup() -> None:
    """A BAP rotates its key: the stale cached key fails, one fresh lookup finds the new one."""
    static = StaticDirectory([])
    clock = SystemClock()
    directory = LayeredDirectory([static], clock=clock, memory=MemoryCache(clock))
    net = LocalNetwork()
    sink = await CallbackSink().start()
    try:
        settings = net.settings_for("bpp.test", NodeRole.BPP, generate_signing_key()[0])
        bpp = build(settings, handlers=accept_all(), directory=directory)
        async with bpp, aiohttp.ClientSession() as session:
            url = bpp.public_url + "/select"
            old = enrol_key(static, "bap.test", Role.BAP, sink.url)
            body = select_body("bap.test", sink.url)
            assert_ack(await post(session, url, body, signed_headers(old, body, clock.now())))
            new = enrol_key(static, "bap.test", Role.BAP, sink.url)  # same key id, new key
            body = select_body("bap.test", sink.url)
            assert_ack(await post(session, url, body, signed_headers(new, body, clock.now())))
            assert directory.stats.forced_refreshes == 1
    finally:
        await sink.aclose()


async def test_health_and_metrics_describe_the_node() -> None:
    """/health names the node; /metrics counts ACKs and signature failures."""
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=accept_all())
        sink = await CallbackSink().start()
        try:
            signer = enrol_key(net.directory, "bap.test", Role.BAP, sink.url)
            async with aiohttp.ClientSession() as session:
                body = select_body("bap.test", sink.url)
                now = bpp.clock.now()
                assert_ack(
                    await post(
                        session, bpp.public_url + "/select", body, signed_headers(signer, body, now)
                    )
                )
                bad = select_body("bap.test", sink.url)
                await post(
                    session,
                    bpp.public_url + "/select",
                    bad + b" ",
                    signed_headers(signer, bad, now),
                )
                async with session.get(bpp.public_url + "/health") as resp:
                    health = await resp.json()
                async with session.get(bpp.public_url + "/metrics") as resp:
                    metrics = await resp.text()
        finally:
            await sink.aclose()
    assert health == {
        "status": "ok",
        "subscriber_id": "bpp.test",
        "roles": ["bpp"],
        "url": bpp.public_url,
    }
    assert 'iesnode_requests_total{action="select",outcome="ACK"} 1.0' in metrics
    assert 'iesnode_signature_failures_total{reason="AUT_SIGNATURE_INVALID"} 1.0' in metrics
    assert "iesnode_ack_seconds_bucket" in metrics


async def test_unsolicited_status_gets_a_new_message_id() -> None:
    """node.push sends on_status in the same transaction with a fresh messageId."""
    async with LocalNetwork() as net:
        received: list[IncomingRequest] = []
        handlers = accept_all()

        @handlers.on("status")
        async def status(req: IncomingRequest) -> dict[str, Any]:
            received.append(req)
            return {"contract": {"id": "c-1"}}

        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=handlers)
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            answer = await bap.status(
                Peer("bpp.test", bpp.public_url), {"contract": {"id": "c-1"}}, ttl=5
            )
            txn = answer.context.transaction_id
            pushed_id = await bpp.push(
                received[0].context,
                "on_status",
                {"contract": {"id": "c-1", "status": {"code": "COMPLETE"}}},
            )
            updates = bap.updates(txn, until=bap_node.clock.now() + 5)
            update = await anext(updates)
            await updates.aclose()
    assert update.context.transaction_id == txn
    assert update.context.message_id == pushed_id != answer.context.message_id
    assert update.message["contract"]["status"]["code"] == "COMPLETE"


async def test_business_error_reaches_the_caller_as_a_typed_error() -> None:
    """A handler's BusinessError becomes the on_select error and raises CallbackError."""
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        raise BusinessError("BIZ_ITEM_NOT_FOUND", "offer o-9 is sold out", path="message.contract")

    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=handlers)
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            with pytest.raises(CallbackError) as caught:
                await bap.select(Peer("bpp.test", bpp.public_url), ORDER, ttl=5)
    assert caught.value.code == "BIZ_ITEM_NOT_FOUND"
    assert caught.value.path == "message.contract"


async def test_provider_without_handler_nacks_instead_of_promising_a_callback() -> None:
    """No handler for an action: NACK BIZ_ACTION_NOT_SUPPORTED (an ACK would promise a callback)."""
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=accept_all())
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            with pytest.raises(NackReceived) as caught:
                await bap.init(Peer("bpp.test", bpp.public_url), ORDER, ttl=5)
    assert caught.value.code == "BIZ_ACTION_NOT_SUPPORTED"
    assert caught.value.status == 400


async def test_legacy_proxy_authorization_header_is_read_as_the_gateway_signature() -> None:
    """A gateway signing with Proxy-Authorization is verified like X-Gateway-Authorization."""
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=accept_all())
        sink = await CallbackSink().start()
        try:
            bap = enrol_key(net.directory, "bap.test", Role.BAP, sink.url)
            gateway = enrol_key(net.directory, "gw.test", Role.BG, sink.url + "/gw")
            body = select_body("bap.test", sink.url)
            headers = signed_headers(bap, body, bpp.clock.now())
            headers["Proxy-Authorization"] = gateway.sign(body, int(bpp.clock.now()))
            async with aiohttp.ClientSession() as session:
                assert_ack(await post(session, bpp.public_url + "/select", body, headers))
            ctx = read_envelope(json.loads(body)).context
            callback = await sink.wait_for("/gw/on_select", ctx.message_id)
        finally:
            await sink.aclose()
    assert callback.headers["Authorization"].startswith('Signature keyId="bpp.test|k1|ed25519"')


async def test_node_sheds_load_when_it_owes_too_many_callbacks() -> None:
    """Past delivery.max_backlog owed callbacks the node answers 503 NET_OVERLOADED, then
    accepts again once its worker has caught up."""
    gate = asyncio.Event()
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        await gate.wait()
        return req.message

    net = LocalNetwork(settings={"delivery": {"max_backlog": 2}})
    async with net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=handlers)
        sink = await CallbackSink().start()
        try:
            signer = enrol_key(net.directory, "bap.test", Role.BAP, sink.url)
            url = bpp.public_url + "/select"
            async with aiohttp.ClientSession() as session:

                async def send() -> tuple[int, str | None]:
                    body = select_body("bap.test", sink.url)
                    answer = await post(
                        session, url, body, signed_headers(signer, body, bpp.clock.now())
                    )
                    return answer.status, answer.json().get("error", {}).get("code")

                assert [await send(), await send()] == [(200, None), (200, None)]
                assert await send() == (503, "NET_OVERLOADED")
                gate.set()
                for _ in range(100):
                    if bpp.backlog.size == 0:
                        break
                    await asyncio.sleep(0.02)
                assert await send() == (200, None)
        finally:
            await sink.aclose()


async def test_beckn_prefixed_endpoint_is_served_like_the_bare_one() -> None:
    """``POST /beckn/select`` is the same endpoint as ``POST /select``."""
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=accept_all())
        sink = await CallbackSink().start()
        try:
            signer = enrol_key(net.directory, "bap.test", Role.BAP, sink.url)
            body = select_body("bap.test", sink.url)
            async with aiohttp.ClientSession() as session:
                answer = await post(
                    session,
                    bpp.public_url + "/beckn/select",
                    body,
                    signed_headers(signer, body, bpp.clock.now()),
                )
            assert_ack(answer)
            ctx = read_envelope(json.loads(body)).context
            await sink.wait_for("/on_select", ctx.message_id)
        finally:
            await sink.aclose()


async def test_node_serves_its_did_web_document() -> None:
    """/.well-known/did.json resolves to did:web:<subscriber id> with the node's signing key."""
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=accept_all())
        transport = AiohttpTransport()
        try:
            resolver = DidResolver(transport, bpp.clock, base_url=bpp.public_url)
            document = await resolver.resolve("did:web:bpp.test")
        finally:
            await transport.aclose()
    method = document.find_method("did:web:bpp.test#key-1")
    assert method is not None
    assert DidKey(method.ed25519_public_key()).public_key_b64 == bpp.signer.public_key


async def test_guard_refuses_before_the_handler_runs() -> None:
    """A guard's BusinessError becomes the callback error; the handler is never called."""
    calls: list[str] = []
    handlers = HandlerRegistry()

    @handlers.guard("select")
    async def no_weekends(req: IncomingRequest) -> None:
        calls.append("guard")
        raise BusinessError("POL_CONSENT_REQUIRED", "no consent for this data", path="message")

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        calls.append("handler")
        return req.message

    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=handlers)
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            with pytest.raises(CallbackError) as caught:
                await bap.select(Peer("bpp.test", bpp.public_url), ORDER, ttl=5)
    assert caught.value.code == "POL_CONSENT_REQUIRED"
    assert calls == ["guard"]
