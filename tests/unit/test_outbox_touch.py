"""``Outbox.touch``: a holder keeps its jobs claimed; nobody else can, memory and Redis alike."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from iesnode.interfaces import OutboxEntry
from iesnode.storage.outbox import RedisOutbox
from tests.unit.outbox_cases import Case, make_case

CLAIM_AFTER = 0.5
MOST = 0.3
"""Well inside ``CLAIM_AFTER``, and two of them well past it."""


@pytest.fixture(params=["memory", "redis"])
def case(request: pytest.FixtureRequest, redis_client: aioredis.Redis) -> Case:
    """Each implementation in turn, with a 0.5 s claim timeout."""
    return make_case(request.param, redis_client, CLAIM_AFTER)


async def test_claim_after_is_the_configured_timeout(case: Case) -> None:
    """The outbox tells its workers the claim timeout they must beat."""
    assert case.outbox.claim_after == CLAIM_AFTER


async def test_touched_job_is_not_reclaimed_past_claim_after(case: Case) -> None:
    """A job touched by its holder stays with it although taken longer than ``claim_after`` ago."""
    entry_id = await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    await case.elapse(MOST)
    assert await case.outbox.touch("w1", [entry_id]) == [entry_id]
    await case.elapse(MOST)
    assert await case.outbox.take("w2", 10, 0) == []


async def test_job_is_reclaimed_once_its_holder_stops_touching(case: Case) -> None:
    """After the last touch, ``claim_after`` later, the job goes to another consumer."""
    entry_id = await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    await case.elapse(MOST)
    await case.outbox.touch("w1", [entry_id])
    await case.elapse(CLAIM_AFTER + 0.05)
    assert await case.outbox.take("w2", 10, 0) == [OutboxEntry(entry_id, b"job", 2)]


async def test_touch_by_another_consumer_neither_keeps_nor_steals(case: Case) -> None:
    """A consumer touching a job it does not hold gets nothing back and moves no deadline."""
    entry_id = await case.outbox.put(b"job")
    await case.outbox.take("w1", 10, 0)
    await case.elapse(MOST)
    assert await case.outbox.touch("w2", [entry_id]) == []
    await case.elapse(MOST)
    assert await case.outbox.take("w3", 10, 0) == [OutboxEntry(entry_id, b"job", 2)]


async def test_touch_skips_finished_and_unknown_jobs(case: Case) -> None:
    """Only jobs still held come back: not completed ones, not ids never queued."""
    done = await case.outbox.put(b"done")
    held = await case.outbox.put(b"held")
    await case.outbox.take("w1", 10, 0)
    await case.outbox.complete(done)
    assert await case.outbox.touch("w1", [done, held, "999999-0"]) == [held]


async def test_touch_with_no_ids_keeps_nothing(case: Case) -> None:
    """An empty heartbeat is a no-op."""
    assert await case.outbox.touch("w1", []) == []


async def test_redis_touch_leaves_the_owner_and_delivery_count(
    redis_client: aioredis.Redis,
) -> None:
    """In the pending list the job stays with its holder, delivered once, idle time reset."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    entry_id = await outbox.put(b"job")
    await outbox.take("w1", 10, 0)
    await asyncio.sleep(0.2)
    await outbox.touch("w1", [entry_id])
    await outbox.touch("w2", [entry_id])
    [row] = await redis_client.xpending_range("ies:{outbox}", "iesnode", "-", "+", 10)
    assert (row["consumer"], row["times_delivered"]) == (b"w1", 1)
    idle = row["time_since_delivered"]
    assert isinstance(idle, int)
    assert idle < 150


async def test_redis_touch_after_the_stream_vanished_keeps_nothing(
    redis_client: aioredis.Redis,
) -> None:
    """If the stream and its group were deleted, touch answers [] instead of failing."""
    outbox = RedisOutbox(redis_client, claim_after=CLAIM_AFTER)
    entry_id = await outbox.put(b"job")
    await outbox.take("w1", 10, 0)
    await redis_client.delete("ies:{outbox}")
    assert await outbox.touch("w1", [entry_id]) == []
