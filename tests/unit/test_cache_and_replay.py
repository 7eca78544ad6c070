"""The Cache and ReplayGuard seams, in memory and in Redis."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from iesnode.clock import FrozenClock
from iesnode.storage.cache import MemoryCache, RedisCache
from iesnode.storage.replay import MemoryReplayGuard, RedisReplayGuard


async def test_memory_cache_expires_entries() -> None:
    """A value is served until its ttl passes, then forgotten."""
    clock = FrozenClock(1000.0)
    cache = MemoryCache(clock)
    await cache.set("k", b"v", ttl=10)
    assert await cache.get("k") == b"v"
    clock.advance(10)
    assert await cache.get("k") is None


async def test_memory_cache_evicts_least_recently_used() -> None:
    """Past max_entries the least recently used key goes first."""
    cache = MemoryCache(FrozenClock(0.0), max_entries=2)
    await cache.set("a", b"1", ttl=60)
    await cache.set("b", b"2", ttl=60)
    await cache.get("a")
    await cache.set("c", b"3", ttl=60)
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"


async def test_redis_cache_round_trip_and_delete(redis_client: aioredis.Redis) -> None:
    """Values round-trip through Redis with a prefix and can be deleted."""
    cache = RedisCache(redis_client, prefix="t:")
    await cache.set("k", b"v", ttl=5)
    assert await redis_client.get("t:k") == b"v"
    assert await cache.get("k") == b"v"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_memory_replay_guard_rejects_repeats_until_expiry() -> None:
    """The second sighting of a key is refused; after the ttl it is new again."""
    clock = FrozenClock(0.0)
    guard = MemoryReplayGuard(clock)
    assert await guard.first_seen("m|sig", ttl=30)
    assert not await guard.first_seen("m|sig", ttl=30)
    clock.advance(31)
    assert await guard.first_seen("m|sig", ttl=30)


async def test_redis_replay_guard_is_shared_between_clients(redis_url: str) -> None:
    """Two node processes (two clients) racing on one key: exactly one wins."""
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    try:
        await clients[0].flushall()
        guards = [RedisReplayGuard(c) for c in clients]
        results = await asyncio.gather(*(g.first_seen("m|sig", ttl=5) for g in guards * 5))
        assert sum(results) == 1
    finally:
        for client in clients:
            await client.aclose()
