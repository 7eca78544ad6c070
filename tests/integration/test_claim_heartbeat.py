"""Outbox claims under load: a slow job stays with its worker, a dead worker's job moves on.

A worker renews the claim on each job it runs (``Outbox.touch``, every third of
``claim_after``), so a handler slower than ``claim_after`` runs once and answers once,
even with other workers polling the same queue; a worker killed mid-job stops renewing
and its job is reclaimed and finished by another (DESIGN.md section 5).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from iesnode.clock import SystemClock
from iesnode.demo import energy_provider
from iesnode.http.transport import AiohttpTransport
from iesnode.interfaces import Outbox
from iesnode.model.subscriber import Role, Subscriber
from iesnode.node import Node, build
from iesnode.protocol.jobs import DeliverJob, FanoutJob, HandleJob, encode_job
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bpp import IncomingRequest
from iesnode.protocol.roles.worker import DeliveryPolicy, JobWorker
from iesnode.protocol.signing import Signer
from iesnode.registry.static import StaticDirectory
from iesnode.settings import load_settings
from iesnode.storage.outbox import MemoryOutbox, RedisOutbox
from iesnode.testing import generate_signing_key
from tests.integration.helpers import CallbackSink, node_process, subscriber, toml
from tests.redis_server import free_port

HERE = Path(__file__).parent
CLAIM_AFTER = 0.5
SLOW = 3 * CLAIM_AFTER
ORDER = {"contract": {"commitments": [{"id": "c1"}]}}


@dataclass
class SlowHandler:
    """A handler taking ``SLOW`` seconds whose callback goes to ``sink``; counts its runs."""

    sink: CallbackSink
    runs: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, job: HandleJob) -> DeliverJob:
        self.runs += 1
        self.started.set()
        await asyncio.sleep(SLOW)
        body = json.dumps({"context": {"messageId": "m1"}, "message": {}})
        return DeliverJob(
            url=f"{self.sink.url}/on_select",
            action="on_select",
            body=body,
            message_id="m1",
            transaction_id="t1",
            created_at=time.time(),
        )


async def no_fanout(job: FanoutJob) -> None:
    """Workers in these tests never see a discover."""
    raise AssertionError("unexpected fanout job")


@pytest.fixture
async def sink() -> AsyncIterator[CallbackSink]:
    """A stand-in BAP that records every callback."""
    receiver = await CallbackSink().start()
    try:
        yield receiver
    finally:
        await receiver.aclose()


@pytest.fixture
async def other_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A second connection pool on the same Redis: another node process."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def outboxes(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, other_client: aioredis.Redis
) -> tuple[Outbox, Outbox]:
    """Two views of one queue: one memory outbox shared, or two Redis clients on one stream."""
    if request.param == "memory":
        shared = MemoryOutbox(SystemClock(), claim_after=CLAIM_AFTER)
        return shared, shared
    return (
        RedisOutbox(redis_client, claim_after=CLAIM_AFTER),
        RedisOutbox(other_client, claim_after=CLAIM_AFTER),
    )


def worker(
    outbox: Outbox, consumer: str, handler: SlowHandler, transport: AiohttpTransport
) -> JobWorker:
    """A worker as a node builds it, with the test's handler."""
    private, _ = generate_signing_key()
    return JobWorker(
        outbox=outbox,
        transport=transport,
        signer=Signer.from_base64("bpp.test", "k1", private),
        clock=SystemClock(),
        policy=DeliveryPolicy(timeout=2.0, backoff_base=0.05),
        consumer=consumer,
        run_handler=handler,
        run_fanout=no_fanout,
    )


async def test_slow_handler_runs_once_with_two_workers_polling(
    outboxes: tuple[Outbox, Outbox], sink: CallbackSink
) -> None:
    """A handler taking 3 x claim_after runs once and its callback is posted once."""
    handler = SlowHandler(sink)
    job = HandleJob(action="select", body="{}", sender="bap", reply_to=sink.url, received_at=0)
    await outboxes[0].put(encode_job(job))
    transport = AiohttpTransport()
    tasks = [
        asyncio.create_task(worker(outbox, name, handler, transport).run())
        for outbox, name in zip(outboxes, ("w1", "w2"), strict=True)
    ]
    try:
        await sink.wait_for("/on_select", "m1", timeout=SLOW + 5)
        await asyncio.sleep(CLAIM_AFTER)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await transport.aclose()
    assert (handler.runs, len(sink.received)) == (1, 1)


async def test_worker_shut_down_mid_job_stops_renewing_its_claim(sink: CallbackSink) -> None:
    """Cancelling a worker ends its heartbeat with it; the held job is reclaimed later."""
    outbox = MemoryOutbox(SystemClock(), claim_after=CLAIM_AFTER)
    handler = SlowHandler(sink)
    job = HandleJob(action="select", body="{}", sender="bap", reply_to=sink.url, received_at=0)
    entry_id = await outbox.put(encode_job(job))
    transport = AiohttpTransport()
    running = asyncio.create_task(worker(outbox, "w1", handler, transport).run())
    await asyncio.wait_for(handler.started.wait(), 5)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await transport.aclose()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await asyncio.sleep(CLAIM_AFTER + 0.1)
    assert [e.entry_id for e in await outbox.take("w2", 10, 0)] == [entry_id]


def bpp_node(key: str, redis_url: str, consumer: str, directory: StaticDirectory) -> Node:
    """One of two processes of the BPP ``bpp.shared``, sharing its Redis."""
    settings = {
        "node": {
            "subscriber_id": "bpp.shared",
            "key_id": "k1",
            "signing_private_key": key,
            "roles": ["bpp"],
        },
        "redis": {"url": redis_url},
        "delivery": {"claim_after": CLAIM_AFTER, "consumer": consumer, "backoff_base": 0.05},
    }
    return build(load_settings(settings), directory=directory)


async def test_two_nodes_sharing_redis_answer_a_slow_select_once(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    """Two BPP nodes on one Redis: a select slower than claim_after gets one on_select."""
    bpp_key, bpp_pub = generate_signing_key()
    bap_key, bap_pub = generate_signing_key()
    directory = StaticDirectory([])
    runs: list[str] = []
    provider = energy_provider("bpp.shared", 4.0, 1.0)
    select = provider.get("select")
    assert select is not None

    async def slow_select(req: IncomingRequest) -> dict[str, Any]:
        runs.append(req.context.message_id)
        await asyncio.sleep(SLOW)
        answer: dict[str, Any] = await select(req)
        return answer

    first = bpp_node(bpp_key, redis_url, "node-a", directory)
    second = bpp_node(bpp_key, redis_url, "node-b", directory)
    for node in (first, second):
        node.on("select")(slow_select)
    bap = build(
        load_settings(
            {"node": {"subscriber_id": "bap.test", "key_id": "k1", "signing_private_key": bap_key}}
        ),
        directory=directory,
    )
    async with first, second, bap, bap.bap() as client:
        for sid, role, node, public in (
            ("bpp.shared", Role.BPP, first, bpp_pub),
            ("bap.test", Role.BAP, bap, bap_pub),
        ):
            directory.put(Subscriber.model_validate(subscriber(sid, role, node.public_url, public)))
        sent = await client.send("select", ORDER, to=Peer("bpp.shared", first.public_url), ttl=20)
        callbacks = client.callbacks(sent)
        on_select = await asyncio.wait_for(anext(callbacks), timeout=SLOW + 5)
        extra = asyncio.create_task(anext(callbacks))
        done, _ = await asyncio.wait({extra}, timeout=CLAIM_AFTER * 2)
        extra.cancel()
        await asyncio.gather(extra, return_exceptions=True)
        await callbacks.aclose()
    assert on_select.context.message_id == sent.message_id
    assert (runs, done) == ([sent.message_id], set())


async def test_job_of_a_killed_process_is_reclaimed_not_before(
    redis_client: aioredis.Redis, redis_url: str, tmp_path: Path
) -> None:
    """A process held a job past claim_after unchallenged; SIGKILLed, another finishes it."""
    bpp_key, bpp_pub = generate_signing_key()
    bap_key, bap_pub = generate_signing_key()
    ports = free_port(), free_port()
    bpp_url = f"http://127.0.0.1:{ports[0]}"
    directory = StaticDirectory(
        [Subscriber.model_validate(subscriber("bpp.proc", Role.BPP, bpp_url, bpp_pub))]
    )
    bap = build(
        load_settings(
            {"node": {"subscriber_id": "bap.test", "key_id": "k1", "signing_private_key": bap_key}}
        ),
        directory=directory,
    )
    async with bap, bap.bap() as client:
        configs = []
        for port in ports:
            config = tmp_path / f"bpp-{port}.toml"
            config.write_text(
                toml(
                    {
                        "node": {
                            "subscriber_id": "bpp.proc",
                            "key_id": "k1",
                            "signing_private_key": bpp_key,
                            "roles": ["bpp"],
                            "port": port,
                        },
                        "redis": {"url": redis_url},
                        "delivery": {"claim_after": CLAIM_AFTER, "backoff_base": 0.1},
                        "registry": {
                            "subscribers": [
                                subscriber("bap.test", Role.BAP, bap.public_url, bap_pub)
                            ]
                        },
                    }
                )
            )
            configs.append(str(config))
        script = str(HERE / "bpp_process.py")
        with node_process([script, configs[0], "60"]) as holder:
            sent = await client.send("select", ORDER, to=Peer("bpp.proc", bpp_url), ttl=30)
            await asyncio.sleep(CLAIM_AFTER)  # the holder has taken the job and is sleeping
            with node_process([script, configs[1], "0"]):
                callbacks = client.callbacks(sent)
                arrival = asyncio.create_task(anext(callbacks))
                early, _ = await asyncio.wait({arrival}, timeout=3 * CLAIM_AFTER)
                holder.kill()
                on_select = await asyncio.wait_for(arrival, timeout=15)
                await callbacks.aclose()
    assert early == set()
    assert on_select.context.message_id == sent.message_id
