"""Gateway fan-out around slow and failing BPPs; callback delivery retries with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from iesnode.demo import energy_provider
from iesnode.model.subscriber import Role, Subscriber
from iesnode.protocol.roles.bap import Peer
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork, generate_signing_key

Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Endpoint) -> AsyncIterator[str]:
    """A real aiohttp server on 127.0.0.1:0 answering every POST with ``handler``."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def flaky_proxy(target: Callable[[], str], failures: int, seen: list[str]) -> Endpoint:
    """Answer 503 to the first ``failures`` POSTs, then pass each POST on to ``target()``."""

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path)
        if len(seen) <= failures:
            return web.json_response({"status": "NACK"}, status=503)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                target() + request.path, data=await request.read(), headers=request.headers
            ) as resp,
        ):
            return web.Response(
                status=resp.status, body=await resp.read(), content_type="application/json"
            )

    return handle


def enrol_fake_bpp(net: LocalNetwork, subscriber_id: str, url: str) -> None:
    """List a fake BPP in the network's directory."""
    net.directory.put(
        Subscriber(
            subscriber_id=subscriber_id,
            key_id="k1",
            url=url,
            role=Role.BPP,
            signing_public_key=generate_signing_key()[1],
            network_id="ies.example/p2p-trading",
        )
    )


async def test_fanout_is_not_held_up_by_slow_or_failing_bpps() -> None:
    """One BPP hangs, one answers 500: the healthy BPP's offer still arrives promptly."""
    release = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"status": "ACK"})

    async def failing(_: web.Request) -> web.Response:
        return web.json_response({"status": "NACK"}, status=500)

    net = LocalNetwork(settings={"gateway": {"fanout_timeout": 2.0}})
    async with net, serve(slow) as slow_url, serve(failing) as failing_url:
        gateway = await net.add("gw.test", NodeRole.GATEWAY)
        await net.add("good.test", NodeRole.BPP, handlers=energy_provider("good.test", 4, 1))
        enrol_fake_bpp(net, "slow.test", slow_url)
        enrol_fake_bpp(net, "failing.test", failing_url)
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            sent_at = bap_node.clock.now()
            offers = bap.discover({"intent": {}}, ttl=4)
            first = await anext(offers)
            assert first.sender == "good.test"
            assert first.received_at - sent_at < 1.5  # not held up by the 2 s per-BPP timeout
            await offers.aclose()
        for _ in range(100):
            outcomes = {
                o: gateway.metrics.fanout.labels(o)._value.get() for o in ("ack", "nack", "timeout")
            }
            if sum(outcomes.values()) == 3:
                break
            await asyncio.sleep(0.05)
        assert outcomes == {"ack": 1, "nack": 1, "timeout": 1}
        release.set()


async def test_callback_is_retried_until_the_bap_answers() -> None:
    """The BAP's endpoint fails twice with 503; the BPP retries and the caller gets on_select."""
    seen: list[str] = []
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=energy_provider("bpp.test", 4, 1))
        bap_node = await net.add("bap.test", NodeRole.BAP, enrol=False)
        real_url = bap_node.public_url
        async with serve(flaky_proxy(lambda: real_url, 2, seen)) as proxy_url:
            bap_node.public_url = proxy_url
            net.enrol(bap_node, NodeRole.BAP)
            async with bap_node.bap() as bap:
                order = {"contract": {"commitments": [{"id": "c1"}]}}
                on_select = await bap.select(Peer("bpp.test", bpp.public_url), order, ttl=5)
        assert on_select.sender == "bpp.test"
        assert seen == ["/on_select"] * 3
        assert bpp.metrics.callback_attempts.labels("on_select")._value.get() == 3


async def test_request_is_retried_until_the_bpp_answers() -> None:
    """The BPP endpoint fails twice with 503; the BAP re-signs, retries and gets on_select."""
    seen: list[str] = []
    async with LocalNetwork() as net:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=energy_provider("bpp.test", 4, 1))
        bap_node = await net.add("bap.test", NodeRole.BAP)
        proxy = flaky_proxy(lambda: bpp.public_url, 2, seen)
        async with serve(proxy) as proxy_url, bap_node.bap() as bap:
            order = {"contract": {"commitments": [{"id": "c1"}]}}
            on_select = await bap.select(Peer("bpp.test", proxy_url), order, ttl=5)
    assert on_select.sender == "bpp.test"
    assert seen == ["/select"] * 3


async def test_refused_callback_is_not_retried() -> None:
    """A BAP answering 400 to a callback gets exactly one attempt; the job is dead-lettered."""
    posts = 0

    async def refusing(_: web.Request) -> web.Response:
        nonlocal posts
        posts += 1
        return web.json_response({"status": "NACK"}, status=400)

    async with LocalNetwork() as net, serve(refusing) as refusing_url:
        bpp = await net.add("bpp.test", NodeRole.BPP, handlers=energy_provider("bpp.test", 4, 1))
        bap_node = await net.add("bap.test", NodeRole.BAP, enrol=False)
        bap_node.public_url = refusing_url
        net.enrol(bap_node, NodeRole.BAP)
        async with bap_node.bap() as bap:
            order = {"contract": {"commitments": [{"id": "c1"}]}}
            sent = await bap.send("select", order, to=Peer("bpp.test", bpp.public_url), ttl=5)
            assert sent.message_id
        refused = bpp.metrics.callbacks.labels("on_select", "refused")
        for _ in range(100):
            if refused._value.get() == 1:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # any retry would have happened by now (backoff 0.05 s)
    assert posts == 1
    assert refused._value.get() == 1
    assert await bpp.outbox.dead_count() == 1  # type: ignore[attr-defined]
