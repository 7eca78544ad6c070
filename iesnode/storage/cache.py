"""Implementations of the ``Cache`` seam: in-process (embedded default) and Redis (shared)."""

from __future__ import annotations

from collections import OrderedDict

import redis.asyncio as aioredis

from iesnode.interfaces import Clock

__all__ = ["MemoryCache", "RedisCache"]


class MemoryCache:
    """A bounded LRU with per-entry expiry, for one process."""

    def __init__(self, clock: Clock, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        """Return the live value for ``key`` and mark it recently used."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock.now():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value`` until ``now + ttl``, evicting the least recently used entry."""
        self._items[key] = (self._clock.now() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._items.pop(key, None)


class RedisCache:
    """A cache in Redis, shared by every node process; keys are prefixed with ``prefix``."""

    def __init__(self, client: aioredis.Redis, prefix: str = "ies:cache:") -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        """Return the value or None."""
        value = await self._client.get(self._prefix + key)
        if isinstance(value, str):  # only when a caller built the client with decode_responses
            return value.encode()
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store with a millisecond expiry (at least 1 ms)."""
        await self._client.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        await self._client.delete(self._prefix + key)
