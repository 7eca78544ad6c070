"""Implementations of the ``ReplayGuard`` seam (Beckn v2 signing doc: de-duplicate on messageId)."""

from __future__ import annotations

import redis.asyncio as aioredis

from iesnode.interfaces import Clock

__all__ = ["MemoryReplayGuard", "RedisReplayGuard"]


class MemoryReplayGuard:
    """Remembers keys in this process until they expire."""

    def __init__(self, clock: Clock, max_entries: int = 1_000_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._seen: dict[str, float] = {}

    async def first_seen(self, key: str, ttl: float) -> bool:
        """Record ``key``; False when it is already recorded and not expired."""
        now = self._clock.now()
        expiry = self._seen.get(key)
        if expiry is not None and expiry > now:
            return False
        if len(self._seen) >= self._max:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        self._seen[key] = now + ttl
        return True


class RedisReplayGuard:
    """``SET key 1 NX PX ttl`` in Redis: atomic across every node process."""

    def __init__(self, client: aioredis.Redis, prefix: str = "ies:replay:") -> None:
        self._client = client
        self._prefix = prefix

    async def first_seen(self, key: str, ttl: float) -> bool:
        """True only for the first process that records ``key``."""
        created = await self._client.set(
            self._prefix + key, b"1", nx=True, px=max(1, int(ttl * 1000))
        )
        return bool(created)
