"""The ``Outbox`` seam: memory and Redis implementations behave alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from iesnode.interfaces import OutboxEntry
from iesnode.storage.outbox import DeadLetter, RedisOutbox
from tests.unit.outbox_cases import Case, make_case

CLAIM_AFTER = 0.2


@pytest.fixture(params=["memory", "redis"])
def case(request: pytest.FixtureRequest, redis_client: aioredis.Redis) -> Case:
    """Each implementation in turn, with a 0.2 s claim timeout."""
    return make_case(request.param, redis_client, CLAIM_AFTER)


@pytest.fixture
async def other_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A second connection pool on the same Redis: another node process."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_put_job_is_taken_once(case: Case) -> None:
    """A queued job is handed out with its id and a delivery count of 1."""
    entry_id = await case.outbox.put(b"job-1")
    assert await case.outbox.take("w1", 10, 0) == [OutboxEntry(entry_id, b"job-1", 1)]


async def test_take_respects_count_and_order(case: Case) -> None:
    """``take`` returns at most ``count`` jobs, oldest first."""
    for job in (b"a", b"b", b"c"):
        await case.outbox.put(job)
    assert [entry.job for entry in await case.outbox.take("w1", 2, 0)] == [b"a", b"b"]
    assert [entry.job for entry in await case.outbox.take("w1", 2, 0)] == [b"c"]


async def test_take_on_empty_outbox_waits_then_returns_nothing(case: Case) -> None:
    """With nothing queued, ``take`` blocks about ``block`` seconds and returns []."""
    started = time.monotonic()
    assert await case.outbox.take("w1", 10, 0.1) == []
    assert 0.08 <= time.monotonic() - started < 1.0


async def test_blocked_take_returns_promptly_when_a_job_is_put(case: Case) -> None:
    """A ``take`` blocked for seconds wakes as soon as a job is queued."""
    started = time.monotonic()
    taker = asyncio.create_task(case.outbox.take("w1", 10, 5))
    await asyncio.sleep(0.05)
    await case.outbox.put(b"job")
    entries = await asyncio.wait_for(taker, 2)
    assert [entry.job for entry in entries] == [b"job"]
    assert time.monotonic() - started < 1.0


async def test_cancelled_take_leaves_no_task_behind(case: Case) -> None:
    """Cancelling a blocked ``take`` leaves only the test's own task running."""
    taker = asyncio.create_task(case.outbox.take("w1", 10, 5))
    await asyncio.sleep(0.05)
    taker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await taker
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_taken_job_is_not_handed_out_again_before_claim_after(case: Case) -> None:
    """Another consumer does not get a job its owner still holds."""
    await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    assert await case.outbox.take("w2", 10, 0) == []


async def test_job_of_a_dead_consumer_is_handed_out_again(case: Case) -> None:
    """A job never completed is reclaimed after ``claim_after`` with deliveries 2."""
    entry_id = await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    await case.elapse(CLAIM_AFTER + 0.05)
    assert await case.outbox.take("w2", 10, 0) == [OutboxEntry(entry_id, b"job", 2)]


async def test_completed_job_is_never_handed_out_again(case: Case) -> None:
    """Once completed, a job is gone even after ``claim_after``."""
    entry_id = await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    await case.outbox.complete(entry_id)
    await case.elapse(CLAIM_AFTER + 0.05)
    assert await case.outbox.take("w2", 10, 0) == []


async def test_complete_queues_the_follow_up(case: Case) -> None:
    """Completing with a follow-up queues it as a fresh job and drops the original."""
    entry_id = await case.outbox.put(b"request")
    await case.outbox.take("w1", 10, 0)
    await case.outbox.complete(entry_id, follow_up=b"callback")
    await case.elapse(CLAIM_AFTER + 0.05)
    entries = await case.outbox.take("w2", 10, 0)
    assert [(entry.job, entry.deliveries) for entry in entries] == [(b"callback", 1)]
    assert entries[0].entry_id != entry_id


async def test_bury_moves_the_job_to_dead_letters(case: Case) -> None:
    """A buried job is kept as a dead letter with its reason and never handed out again."""
    entry_id = await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    await case.outbox.bury(entry_id, b"job", "peer kept answering 500")
    await case.elapse(CLAIM_AFTER + 0.05)
    assert await case.outbox.take("w2", 10, 0) == []
    assert await case.outbox.dead_count() == 1
    assert await case.outbox.dead_letters() == [
        DeadLetter(entry_id, b"job", "peer kept answering 500")
    ]


async def test_redis_new_process_reclaims_a_dead_consumers_job(
    redis_client: aioredis.Redis, other_client: aioredis.Redis
) -> None:
    """A new outbox on a new client, with another consumer name, gets the job back."""
    dying = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    entry_id = await dying.put(b"job")
    assert await dying.take("node-a", 10, 0) == [OutboxEntry(entry_id, b"job", 1)]
    await asyncio.sleep(CLAIM_AFTER + 0.05)
    restarted = RedisOutbox(other_client, claim_after=CLAIM_AFTER)
    assert await restarted.take("node-b", 10, 0) == [OutboxEntry(entry_id, b"job", 2)]


async def test_redis_reclaimed_job_does_not_block_for_new_ones(
    redis_client: aioredis.Redis,
) -> None:
    """When ``take`` reclaims something it returns at once instead of blocking."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    await outbox.put(b"job")
    await outbox.take("w1", 10, 0)
    await asyncio.sleep(CLAIM_AFTER + 0.05)
    started = time.monotonic()
    assert len(await outbox.take("w2", 10, 5)) == 1
    assert time.monotonic() - started < 1.0


async def test_redis_job_deleted_while_pending_is_dropped(redis_client: aioredis.Redis) -> None:
    """An entry deleted from the stream while owned is acknowledged and not handed out."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    entry_id = await outbox.put(b"job")
    await outbox.take("w1", 10, 0)
    await redis_client.xdel("ies:{outbox}", entry_id)
    await asyncio.sleep(CLAIM_AFTER + 0.05)
    assert await outbox.take("w2", 10, 0) == []
    summary = await redis_client.xpending("ies:{outbox}", "iesnode")
    assert summary["pending"] == 0


async def test_redis_take_recovers_when_the_stream_was_deleted(
    redis_client: aioredis.Redis,
) -> None:
    """If the stream (and its group) vanish, ``take`` recreates the group and goes on."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    assert await outbox.take("w1", 10, 0) == []
    await redis_client.delete("ies:{outbox}")
    await outbox.put(b"job")
    assert [entry.job for entry in await outbox.take("w1", 10, 0)] == [b"job"]


async def test_redis_complete_is_one_transaction(
    redis_client: aioredis.Redis, other_client: aioredis.Redis
) -> None:
    """``complete`` sends XACK, XDEL and the follow-up XADD inside one MULTI/EXEC."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    entry_id = await outbox.put(b"request")
    await outbox.take("w1", 10, 0)
    commands: list[str] = []
    async with other_client.monitor() as monitor:
        await outbox.complete(entry_id, follow_up=b"callback")
        while not commands or commands[-1] != "EXEC":
            info = await asyncio.wait_for(monitor.next_command(), 2)
            commands.append(str(info["command"]).split(" ")[0].upper())
    assert commands[-5:] == ["MULTI", "XACK", "XDEL", "XADD", "EXEC"]
    assert await redis_client.xlen("ies:{outbox}") == 1


async def test_redis_bury_records_job_reason_and_original_id(
    redis_client: aioredis.Redis,
) -> None:
    """The dead-letter stream entry holds the job, the reason and the original entry id."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    entry_id = await outbox.put(b"job")
    await outbox.take("w1", 10, 0)
    await outbox.bury(entry_id, b"job", "gave up")
    rows = await redis_client.xrange("ies:{outbox}:dead")
    assert rows is not None
    assert [fields for _, fields in rows] == [
        {b"job": b"job", b"reason": b"gave up", b"id": entry_id.encode()}
    ]
    assert await redis_client.xlen("ies:{outbox}") == 0


async def test_redis_cancelled_take_returns_its_connection(redis_url: str) -> None:
    """With a one-connection pool, the outbox still works after a blocked take is cancelled."""
    client = aioredis.Redis.from_url(redis_url, max_connections=1)
    try:
        await client.flushall()
        outbox = RedisOutbox(client, claim_after=CLAIM_AFTER)
        taker = asyncio.create_task(outbox.take("w1", 10, 5))
        await asyncio.sleep(0.05)
        taker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await taker
        await outbox.put(b"job")
        assert [entry.job for entry in await outbox.take("w1", 10, 0)] == [b"job"]
    finally:
        await client.aclose()
