"""StaticDirectory and LayeredDirectory: cache layers, single flight, negative caching, rotation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from iesnode.clock import FrozenClock
from iesnode.errors import ConfigError, TransportError
from iesnode.interfaces import Cache, SubscriberDirectory
from iesnode.model.subscriber import Role, Subscriber, SubscriberQuery
from iesnode.registry import LayeredDirectory, StaticDirectory
from iesnode.storage.cache import MemoryCache, RedisCache
from tests.redis_server import free_port

T0 = 1_750_000_000.0
SID = "bpp.example.org"


def make_sub(
    sid: str = SID,
    kid: str = "k1",
    *,
    key: str = "old-public-key",
    role: Role = Role.BPP,
    valid_until: float | None = None,
) -> Subscriber:
    until = None if valid_until is None else datetime.fromtimestamp(valid_until, UTC)
    return Subscriber.model_validate(
        {
            "subscriber_id": sid,
            "key_id": kid,
            "url": f"https://{sid}/beckn",
            "role": role,
            "signing_public_key": key,
            "valid_until": until,
        }
    )


class CountingSource:
    """A mutable source that counts calls; optionally waits on a gate or fails."""

    def __init__(self, *subs: Subscriber) -> None:
        self.keys = {(s.subscriber_id, s.key_id): s for s in subs}
        self.calls = 0
        self.fresh_calls = 0
        self.find_calls = 0
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def lookup(
        self, subscriber_id: str, key_id: str, *, fresh: bool = False
    ) -> Subscriber | None:
        self.calls += 1
        self.fresh_calls += fresh
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.keys.get((subscriber_id, key_id))

    async def find(self, query: SubscriberQuery) -> list[Subscriber]:
        self.find_calls += 1
        if self.error is not None:
            raise self.error
        return [s for s in self.keys.values() if query.matches(s)]


def layered(
    clock: FrozenClock,
    *sources: SubscriberDirectory,
    shared: Cache | None = None,
    ttl: float = 300.0,
) -> LayeredDirectory:
    return LayeredDirectory(
        sources,
        clock=clock,
        memory=MemoryCache(clock),
        shared=shared,
        ttl=ttl,
        negative_ttl=30.0,
        find_ttl=30.0,
        refresh_interval=5.0,
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


async def test_static_lookup_is_exact() -> None:
    """StaticDirectory returns the listed key for an exact (subscriber, key) and None otherwise."""
    d = StaticDirectory([make_sub(kid="k1"), make_sub(kid="k2", key="other")])
    found = await d.lookup(SID, "k2")
    assert found is not None
    assert found.signing_public_key == "other"
    assert await d.lookup(SID, "k3") is None
    assert await d.lookup("bap.example.org", "k1") is None


async def test_static_find_uses_query() -> None:
    """StaticDirectory.find filters with SubscriberQuery.matches, in configuration order."""
    d = StaticDirectory([make_sub("a", role=Role.BAP), make_sub("b"), make_sub("c")])
    found = await d.find(SubscriberQuery(role=Role.BPP))
    assert [s.subscriber_id for s in found] == ["b", "c"]


def test_static_rejects_duplicate_keys() -> None:
    """Listing one (subscriber, key) twice is a configuration error."""
    with pytest.raises(ConfigError):
        StaticDirectory([make_sub(), make_sub(key="again")])


async def test_second_lookup_is_a_memory_hit(clock: FrozenClock) -> None:
    """A found key is served from memory the second time."""
    source = CountingSource(make_sub())
    d = layered(clock, source)
    assert await d.lookup(SID, "k1") == await d.lookup(SID, "k1")
    assert source.calls == 1
    assert (d.stats.memory_hits, d.stats.upstream_lookups) == (1, 1)


async def test_sources_are_asked_in_order(clock: FrozenClock) -> None:
    """The first source that knows the key wins; later sources are asked only on a miss."""
    first = CountingSource(make_sub(kid="k1", key="from-first"))
    second = CountingSource(make_sub(kid="k1", key="from-second"), make_sub(kid="k2"))
    d = layered(clock, first, second)
    found = await d.lookup(SID, "k1")
    assert found is not None
    assert found.signing_public_key == "from-first"
    assert second.calls == 0
    assert await d.lookup(SID, "k2") is not None
    assert (first.calls, second.calls) == (2, 1)


async def test_failing_source_falls_through_to_next(clock: FrozenClock) -> None:
    """A source that raises does not hide a key another source knows."""
    broken = CountingSource()
    broken.error = TransportError("http://registry", "refused")
    d = layered(clock, broken, StaticDirectory([make_sub()]))
    assert await d.lookup(SID, "k1") is not None


@pytest.mark.redis
async def test_shared_cache_serves_another_process(
    clock: FrozenClock, redis_client: aioredis.Redis
) -> None:
    """A second directory on the same Redis gets the key from Redis, not from upstream."""
    shared = RedisCache(redis_client)
    source_a, source_b = CountingSource(make_sub()), CountingSource(make_sub())
    a, b = layered(clock, source_a, shared=shared), layered(clock, source_b, shared=shared)
    assert await a.lookup(SID, "k1") is not None
    assert await b.lookup(SID, "k1") == make_sub()
    assert (source_a.calls, source_b.calls) == (1, 0)
    assert b.stats.shared_hits == 1
    assert await redis_client.exists("ies:cache:sub:bpp.example.org|k1") == 1


@pytest.mark.redis
async def test_shared_hit_is_written_back_to_memory(
    clock: FrozenClock, redis_client: aioredis.Redis
) -> None:
    """After a Redis hit the next lookup is served from memory."""
    shared = RedisCache(redis_client)
    await layered(clock, CountingSource(make_sub()), shared=shared).lookup(SID, "k1")
    b = layered(clock, CountingSource(), shared=shared)
    await b.lookup(SID, "k1")
    await redis_client.flushall()
    assert await b.lookup(SID, "k1") == make_sub()
    assert (b.stats.shared_hits, b.stats.memory_hits) == (1, 1)


@pytest.mark.redis
async def test_unreadable_shared_entry_is_a_miss(
    clock: FrozenClock, redis_client: aioredis.Redis
) -> None:
    """A cache value that does not parse is ignored and replaced from upstream."""
    await redis_client.set("ies:cache:sub:bpp.example.org|k1", b"{not json")
    source = CountingSource(make_sub())
    d = layered(clock, source, shared=RedisCache(redis_client))
    assert await d.lookup(SID, "k1") == make_sub()
    assert source.calls == 1


async def test_concurrent_lookups_share_one_upstream_call(clock: FrozenClock) -> None:
    """100 concurrent lookups of one key make one upstream call and all get its answer."""
    source = CountingSource(make_sub())
    source.gate = asyncio.Event()
    d = layered(clock, source)
    pending = asyncio.gather(*(d.lookup(SID, "k1") for _ in range(100)))
    await asyncio.sleep(0.01)
    source.gate.set()
    results = await pending
    assert source.calls == 1
    assert all(r == make_sub() for r in results)
    assert d.stats.coalesced == 99


async def test_upstream_error_reaches_every_waiter_and_is_not_cached(clock: FrozenClock) -> None:
    """An upstream failure is raised to all concurrent waiters, and the next lookup retries."""
    source = CountingSource(make_sub())
    source.gate = asyncio.Event()
    source.error = TransportError("http://registry", "timed out")
    d = layered(clock, source)
    pending = asyncio.gather(*(d.lookup(SID, "k1") for _ in range(10)), return_exceptions=True)
    await asyncio.sleep(0.01)
    source.gate.set()
    results = await pending
    assert all(isinstance(r, TransportError) for r in results)
    assert source.calls == 1
    source.error = None
    assert await d.lookup(SID, "k1") == make_sub()
    assert source.calls == 2


async def test_cancelled_waiter_does_not_cancel_the_shared_call(clock: FrozenClock) -> None:
    """Cancelling one caller leaves the upstream call running for the others."""
    source = CountingSource(make_sub())
    source.gate = asyncio.Event()
    d = layered(clock, source)
    first = asyncio.ensure_future(d.lookup(SID, "k1"))
    second = asyncio.ensure_future(d.lookup(SID, "k1"))
    await asyncio.sleep(0.01)
    first.cancel()
    source.gate.set()
    assert await second == make_sub()
    assert first.cancelled()


async def test_unknown_key_is_negatively_cached(clock: FrozenClock) -> None:
    """A key no source knows is remembered as unknown."""
    source = CountingSource()
    d = layered(clock, source)
    assert await d.lookup(SID, "k1") is None
    clock.advance(29)
    assert await d.lookup(SID, "k1") is None
    assert source.calls == 1
    assert d.stats.negative_hits == 1


async def test_negative_cache_expires(clock: FrozenClock) -> None:
    """After negative_ttl a newly registered key is found."""
    source = CountingSource()
    d = layered(clock, source)
    assert await d.lookup(SID, "k1") is None
    source.keys[(SID, "k1")] = make_sub()
    clock.advance(31)
    assert await d.lookup(SID, "k1") == make_sub()
    assert source.calls == 2


async def test_cache_lifetime_capped_by_valid_until(clock: FrozenClock) -> None:
    """A key valid for 10 s more is cached for 10 s, not the 300 s ttl."""
    source = CountingSource(make_sub(valid_until=T0 + 10))
    d = layered(clock, source, ttl=300)
    await d.lookup(SID, "k1")
    clock.advance(9)
    await d.lookup(SID, "k1")
    assert source.calls == 1
    clock.advance(2)
    await d.lookup(SID, "k1")
    assert source.calls == 2


async def test_cache_lifetime_capped_by_ttl(clock: FrozenClock) -> None:
    """A key valid for a year is still looked up again after ttl."""
    source = CountingSource(make_sub(valid_until=T0 + 365 * 86400))
    d = layered(clock, source, ttl=60)
    await d.lookup(SID, "k1")
    clock.advance(59)
    await d.lookup(SID, "k1")
    assert source.calls == 1
    clock.advance(2)
    await d.lookup(SID, "k1")
    assert source.calls == 2


async def test_expired_key_is_returned_but_not_cached(clock: FrozenClock) -> None:
    """A key past valid_until comes back (so the verifier can say expired) but is not cached."""
    source = CountingSource(make_sub(valid_until=T0 - 1))
    d = layered(clock, source)
    first = await d.lookup(SID, "k1")
    assert first is not None
    assert first.valid_until == datetime.fromtimestamp(T0 - 1, UTC)
    await d.lookup(SID, "k1")
    assert source.calls == 2


@pytest.mark.redis
async def test_fresh_lookup_picks_up_rotated_key(
    clock: FrozenClock, redis_client: aioredis.Redis
) -> None:
    """fresh=True skips both caches and overwrites them with the rotated key."""
    shared = RedisCache(redis_client)
    source = CountingSource(make_sub(key="old-public-key"))
    d = layered(clock, source, shared=shared)
    await d.lookup(SID, "k1")
    source.keys[(SID, "k1")] = make_sub(key="new-public-key")
    refreshed = await d.lookup(SID, "k1", fresh=True)
    assert refreshed is not None
    assert refreshed.signing_public_key == "new-public-key"
    assert source.fresh_calls == 1
    other = layered(clock, CountingSource(), shared=shared)
    for directory in (d, other):
        cached = await directory.lookup(SID, "k1")
        assert cached is not None
        assert cached.signing_public_key == "new-public-key"
    assert source.calls == 2


async def test_fresh_lookup_is_rate_limited(clock: FrozenClock) -> None:
    """A second fresh lookup within refresh_interval is a normal (cached) lookup."""
    source = CountingSource(make_sub())
    d = layered(clock, source)
    await d.lookup(SID, "k1", fresh=True)
    for _ in range(20):
        await d.lookup(SID, "k1", fresh=True)
        clock.advance(0.1)
    assert source.calls == 1
    assert d.stats.forced_refreshes == 1


async def test_fresh_lookup_allowed_again_after_interval(clock: FrozenClock) -> None:
    """Once refresh_interval has passed, fresh=True asks the sources again."""
    source = CountingSource(make_sub())
    d = layered(clock, source)
    await d.lookup(SID, "k1", fresh=True)
    clock.advance(5)
    await d.lookup(SID, "k1", fresh=True)
    assert source.calls == 2
    assert d.stats.forced_refreshes == 2


async def test_find_merges_sources_first_wins(clock: FrozenClock) -> None:
    """find asks every source and keeps the first answer for each (subscriber, key)."""
    first = CountingSource(make_sub("a", key="from-first"))
    second = CountingSource(make_sub("a", key="from-second"), make_sub("b"))
    d = layered(clock, first, second)
    found = await d.find(SubscriberQuery(role=Role.BPP))
    assert [(s.subscriber_id, s.signing_public_key) for s in found] == [
        ("a", "from-first"),
        ("b", "old-public-key"),
    ]


async def test_find_result_cached_for_find_ttl(clock: FrozenClock) -> None:
    """The same query within find_ttl is answered without asking the sources."""
    source = CountingSource(make_sub("a"))
    d = layered(clock, source)
    query = SubscriberQuery(role=Role.BPP, domain="energy")
    assert await d.find(query) == await d.find(query)
    assert source.find_calls == 1
    clock.advance(31)
    await d.find(query)
    assert source.find_calls == 2


async def test_find_with_every_source_failing_raises(clock: FrozenClock) -> None:
    """find raises when no source answered at all."""
    source = CountingSource()
    source.error = TransportError("http://registry", "refused")
    d = layered(clock, source)
    with pytest.raises(TransportError):
        await d.find(SubscriberQuery())


async def test_unreachable_shared_cache_is_a_miss(clock: FrozenClock) -> None:
    """With Redis down, lookups still reach the sources instead of failing."""
    client = aioredis.Redis(
        port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        d = layered(clock, CountingSource(make_sub()), shared=RedisCache(client))
        assert await d.lookup(SID, "k1") == make_sub()
    finally:
        await client.aclose()
