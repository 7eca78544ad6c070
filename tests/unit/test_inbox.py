"""The ``CallbackInbox`` seam: memory and Redis implementations behave alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from iesnode.clock import SystemClock
from iesnode.interfaces import CallbackInbox, PendingRequest
from iesnode.storage.inbox import MemoryCallbackInbox, RedisCallbackInbox

CLOCK = SystemClock()


@pytest.fixture(params=["memory", "redis"])
def inbox(request: pytest.FixtureRequest, redis_client: aioredis.Redis) -> CallbackInbox:
    """Each implementation in turn, on the real clock."""
    if request.param == "memory":
        return MemoryCallbackInbox(CLOCK)
    return RedisCallbackInbox(redis_client, CLOCK)


def _pending(message_id: str = "m1", transaction_id: str = "t1") -> PendingRequest:
    return PendingRequest(message_id, transaction_id, "search", CLOCK.now() + 30)


async def _collect(callbacks: AsyncIterator[bytes], limit: int) -> list[bytes]:
    received: list[bytes] = []
    async for callback in callbacks:
        received.append(callback)
        if len(received) == limit:
            break
    return received


async def test_pending_returns_what_was_expected(inbox: CallbackInbox) -> None:
    """A registered request is returned by its message id."""
    pending = _pending()
    await inbox.expect(pending, retention=30)
    assert await inbox.pending("m1") == pending


async def test_transaction_of_expected_request_is_known(inbox: CallbackInbox) -> None:
    """Registering a request makes its transaction known."""
    await inbox.expect(_pending(), retention=30)
    assert await inbox.knows_transaction("t1")


async def test_unknown_ids_are_unknown(inbox: CallbackInbox) -> None:
    """Nothing is pending or known before a request is registered."""
    assert await inbox.pending("nope") is None
    assert not await inbox.knows_transaction("nope")


async def test_pending_and_transaction_expire_after_retention(inbox: CallbackInbox) -> None:
    """After the retention both the request and its transaction are forgotten."""
    await inbox.expect(_pending(), retention=0.1)
    await asyncio.sleep(0.15)
    assert await inbox.pending("m1") is None
    assert not await inbox.knows_transaction("t1")


async def test_transaction_retention_is_never_shortened(inbox: CallbackInbox) -> None:
    """A later request with a shorter retention keeps the transaction known as long as before."""
    await inbox.expect(_pending("m1"), retention=30)
    await inbox.expect(_pending("m2"), retention=0.1)
    await asyncio.sleep(0.15)
    assert await inbox.knows_transaction("t1")


async def test_callback_delivered_before_receive_is_yielded(inbox: CallbackInbox) -> None:
    """A callback that arrived before the caller started waiting is not lost."""
    await inbox.expect(_pending(), retention=30)
    await inbox.deliver("m1", b"on_search")
    assert await _collect(inbox.receive("m1", CLOCK.now() + 2), 1) == [b"on_search"]


async def test_callback_delivered_after_receive_started_is_yielded(inbox: CallbackInbox) -> None:
    """A waiting receiver wakes up for a callback delivered later."""
    await inbox.expect(_pending(), retention=30)
    waiter = asyncio.create_task(_collect(inbox.receive("m1", CLOCK.now() + 2), 1))
    await asyncio.sleep(0.05)
    await inbox.deliver("m1", b"on_search")
    assert await asyncio.wait_for(waiter, 1.5) == [b"on_search"]


async def test_several_callbacks_arrive_in_order(inbox: CallbackInbox) -> None:
    """Every callback for one message id is yielded, in arrival order."""
    await inbox.expect(_pending(), retention=30)
    await inbox.deliver("m1", b"one")
    waiter = asyncio.create_task(_collect(inbox.receive("m1", CLOCK.now() + 2), 3))
    await asyncio.sleep(0.02)
    await inbox.deliver("m1", b"two")
    await inbox.deliver("m1", b"three")
    assert await asyncio.wait_for(waiter, 1.5) == [b"one", b"two", b"three"]


async def test_callbacks_are_kept_apart_per_message(inbox: CallbackInbox) -> None:
    """A receiver never sees callbacks of another message id."""
    await inbox.deliver("other", b"not mine")
    await inbox.deliver("m1", b"mine")
    assert await _collect(inbox.receive("m1", CLOCK.now() + 0.1), 5) == [b"mine"]


async def test_two_receivers_both_get_every_callback(inbox: CallbackInbox) -> None:
    """Each waiter on the same message id gets all of its callbacks."""
    first = asyncio.create_task(_collect(inbox.receive("m1", CLOCK.now() + 2), 2))
    second = asyncio.create_task(_collect(inbox.receive("m1", CLOCK.now() + 2), 2))
    await asyncio.sleep(0.02)
    await inbox.deliver("m1", b"a")
    await inbox.deliver("m1", b"b")
    results = await asyncio.wait_for(asyncio.gather(first, second), 1.5)
    assert list(results) == [[b"a", b"b"], [b"a", b"b"]]


async def test_receive_ends_at_the_deadline(inbox: CallbackInbox) -> None:
    """Without callbacks the iterator ends normally once the deadline has passed."""
    started = time.monotonic()
    assert await _collect(inbox.receive("m1", CLOCK.now() + 0.2), 1) == []
    assert 0.15 <= time.monotonic() - started < 1.0


async def test_receive_after_the_deadline_yields_nothing(inbox: CallbackInbox) -> None:
    """A deadline already in the past ends the iterator at once."""
    await inbox.deliver("m1", b"late")
    assert await _collect(inbox.receive("m1", CLOCK.now() - 1), 1) == []


async def test_cancelled_receive_leaves_no_task_behind(inbox: CallbackInbox) -> None:
    """Cancelling a waiting consumer leaves only the test's own task running."""
    waiter = asyncio.create_task(_collect(inbox.receive("m1", CLOCK.now() + 5), 1))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_memory_inbox_keeps_the_newest_callbacks() -> None:
    """Past ``max_callbacks`` the oldest callbacks of a message are dropped."""
    inbox = MemoryCallbackInbox(CLOCK, max_callbacks=2)
    for callback in (b"1", b"2", b"3"):
        await inbox.deliver("m1", callback)
    assert await _collect(inbox.receive("m1", CLOCK.now() + 0.1), 5) == [b"2", b"3"]


async def test_redis_callback_reaches_another_process(redis_url: str) -> None:
    """A callback delivered through one client reaches a receiver on another client."""
    sender = aioredis.Redis.from_url(redis_url)
    receiver = aioredis.Redis.from_url(redis_url)
    try:
        await sender.flushall()
        waiting = RedisCallbackInbox(receiver, CLOCK)
        receiving = RedisCallbackInbox(sender, CLOCK)
        pending = _pending()
        await waiting.expect(pending, retention=30)
        assert await receiving.pending("m1") == pending
        assert await receiving.knows_transaction("t1")
        waiter = asyncio.create_task(_collect(waiting.receive("m1", CLOCK.now() + 2), 2))
        await asyncio.sleep(0.05)
        await receiving.deliver("m1", b"on_status 1")
        await receiving.deliver("m1", b"on_status 2")
        assert await asyncio.wait_for(waiter, 1.5) == [b"on_status 1", b"on_status 2"]
    finally:
        await sender.aclose()
        await receiver.aclose()


async def test_redis_keys_carry_hash_tags(redis_client: aioredis.Redis) -> None:
    """Keys are tagged per message id and per transaction id (Redis Cluster slots)."""
    inbox = RedisCallbackInbox(redis_client, CLOCK)
    await inbox.expect(_pending(), retention=30)
    await inbox.deliver("m1", b"cb")
    keys = sorted(await redis_client.keys("*"))
    assert keys == [b"ies:{m1}:callbacks", b"ies:{m1}:pending", b"ies:{t1}:txn"]


async def test_redis_callbacks_expire_with_the_pending_request(
    redis_client: aioredis.Redis,
) -> None:
    """The callback stream gets the pending request's remaining retention."""
    inbox = RedisCallbackInbox(redis_client, CLOCK, default_retention=300)
    await inbox.expect(_pending(), retention=20)
    await inbox.deliver("m1", b"cb")
    assert 19_000 < await redis_client.pttl("ies:{m1}:callbacks") <= 20_000


async def test_redis_callbacks_of_unknown_request_get_default_expiry(
    redis_client: aioredis.Redis,
) -> None:
    """A callback for an unregistered message id expires after the default retention."""
    inbox = RedisCallbackInbox(redis_client, CLOCK, default_retention=40)
    await inbox.deliver("m9", b"cb")
    assert 39_000 < await redis_client.pttl("ies:{m9}:callbacks") <= 40_000


async def test_redis_cancelled_receive_returns_its_connection(redis_url: str) -> None:
    """With a one-connection pool, the client still works after a blocked receive is cancelled."""
    client = aioredis.Redis.from_url(redis_url, max_connections=1)
    try:
        await client.flushall()  # the session's Redis: no callbacks left by earlier tests
        inbox = RedisCallbackInbox(client, CLOCK)
        waiter = asyncio.create_task(_collect(inbox.receive("m1", CLOCK.now() + 5), 1))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await client.ping()
        await inbox.deliver("m1", b"after")
        assert await _collect(inbox.receive("m1", CLOCK.now() + 1), 1) == [b"after"]
    finally:
        await client.aclose()
