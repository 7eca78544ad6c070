"""Layered subscriber lookup: in-process cache, shared cache, then the registries.

The "keyring" of ``DESIGN.md`` section 3 (``SubscriberDirectory``): fetchers tried in
order behind two caches, as Synapse's keyring layers its key fetchers.

* Lookup order: ``memory`` (one process) ► ``shared`` (every node process) ► each
  source in order until one knows the key; what a slower layer answers is written back
  to the faster ones.
* Validity: a key is cached for ``min(valid_until - now, ttl)``; a key past its
  ``valid_until`` is returned but never cached, so the verifier can report it expired.
* Negative caching: "unknown" is remembered for ``negative_ttl``; a source that fails
  (``TransportError``...) is never remembered.
* Single flight: concurrent lookups of one ``(subscriber_id, key_id)`` share one call
  to the sources, and its result or exception.
* Key rotation: ``fresh=True`` skips both caches and overwrites them, at most once per
  key per ``refresh_interval`` in this process; beyond that it is a normal lookup.
* A cache that fails (Redis down) is logged and treated as a miss, never as an error.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import Enum, auto
from functools import lru_cache
from typing import Final

import structlog
from pydantic import TypeAdapter, ValidationError

from iesnode.interfaces import Cache, Clock, SubscriberDirectory
from iesnode.model.subscriber import Subscriber, SubscriberQuery

__all__ = ["DirectoryStats", "LayeredDirectory"]

log = structlog.get_logger(__name__)

_UNKNOWN: Final = b"-"
"""Cache value meaning "no source knows this key" (a Subscriber always serialises as ``{...}``)."""

_SUBSCRIBER_LIST: Final = TypeAdapter(list[Subscriber])


class _Miss(Enum):
    """Nothing (readable) in a cache layer."""

    MISS = auto()


_MISS: Final = _Miss.MISS


@dataclass(slots=True)
class DirectoryStats:
    """Counters for the ``/metrics`` endpoint."""

    memory_hits: int = 0
    shared_hits: int = 0
    negative_hits: int = 0
    """Lookups answered "unknown" from either cache."""
    upstream_lookups: int = 0
    """Lookups that missed every cache and asked the sources (once per single flight)."""
    forced_refreshes: int = 0
    coalesced: int = 0
    """Lookups that joined a single flight already under way instead of starting one."""


def _cache_key(subscriber_id: str, key_id: str) -> str:
    return f"sub:{subscriber_id}|{key_id}"


@lru_cache(maxsize=4096)
def _decode(raw: bytes) -> Subscriber:
    """Decode a cached entry once per distinct value (Subscriber is frozen, so sharing is safe);
    the hot path is a cache hit, which would otherwise re-validate JSON on every request."""
    return Subscriber.model_validate_json(raw)


class LayeredDirectory:
    """A ``SubscriberDirectory`` composing caches and sources."""

    def __init__(
        self,
        sources: Sequence[SubscriberDirectory],
        *,
        clock: Clock,
        memory: Cache,
        shared: Cache | None = None,
        ttl: float = 300.0,
        negative_ttl: float = 30.0,
        find_ttl: float = 30.0,
        refresh_interval: float = 5.0,
    ) -> None:
        self._sources = tuple(sources)
        self._clock = clock
        self._memory = memory
        self._shared = shared
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._find_ttl = find_ttl
        self._refresh_interval = refresh_interval
        self._flights: dict[tuple[str, bool], asyncio.Task[Subscriber | None]] = {}
        self._last_forced: OrderedDict[str, float] = OrderedDict()
        self.stats = DirectoryStats()

    async def lookup(
        self, subscriber_id: str, key_id: str, *, fresh: bool = False
    ) -> Subscriber | None:
        """Return the key from the fastest layer that knows it, or None when no source does."""
        key = _cache_key(subscriber_id, key_id)
        if fresh:
            forced = self._flights.get((key, True))
            if forced is not None:
                self.stats.coalesced += 1
                return await asyncio.shield(forced)
            if self._may_force(key):
                self.stats.forced_refreshes += 1
                return await self._fly(key, subscriber_id, key_id, forced=True)
        hit = await self._cached(self._memory, key)
        if hit is not _MISS:
            if hit is None:
                self.stats.negative_hits += 1
            else:
                self.stats.memory_hits += 1
            return hit
        return await self._fly(key, subscriber_id, key_id, forced=False)

    async def find(self, query: SubscriberQuery) -> list[Subscriber]:
        """Ask every source, merge (first source wins per key), cache for ``find_ttl``."""
        key = "find:" + query.model_dump_json()
        raw = await self._memory.get(key)
        if raw is not None:
            try:
                return _SUBSCRIBER_LIST.validate_json(raw)
            except ValidationError:
                log.warning("directory_cache_corrupt", key=key)
        answers = await asyncio.gather(
            *(source.find(query) for source in self._sources), return_exceptions=True
        )
        merged: dict[tuple[str, str], Subscriber] = {}
        failures: list[Exception] = []
        for index, answer in enumerate(answers):
            if isinstance(answer, Exception):
                log.warning("directory_source_failed", source=index, error=str(answer))
                failures.append(answer)
                continue
            if isinstance(answer, BaseException):
                raise answer
            for sub in answer:
                merged.setdefault((sub.subscriber_id, sub.key_id), sub)
        if failures and len(failures) == len(answers):
            raise failures[0]
        found = list(merged.values())
        if not failures:
            await self._memory.set(key, _SUBSCRIBER_LIST.dump_json(found), self._find_ttl)
        return found

    def _may_force(self, key: str) -> bool:
        """Allow one forced refresh per key per ``refresh_interval``; forget old entries."""
        now = self._clock.now()
        while self._last_forced:
            oldest, at = next(iter(self._last_forced.items()))
            if at + self._refresh_interval > now:
                break
            del self._last_forced[oldest]
        if key in self._last_forced:
            return False
        self._last_forced[key] = now
        return True

    async def _fly(
        self, key: str, subscriber_id: str, key_id: str, *, forced: bool
    ) -> Subscriber | None:
        """Join the flight under way for this key, or start one."""
        name = (key, forced)
        flight = self._flights.get(name)
        if flight is None:
            flight = asyncio.create_task(self._resolve(key, subscriber_id, key_id, forced=forced))
            self._flights[name] = flight

            def landed(task: asyncio.Task[Subscriber | None]) -> None:
                # runs before any waiter resumes, so a failure is never served twice
                if self._flights.get(name) is task:
                    del self._flights[name]
                if not task.cancelled():
                    task.exception()  # retrieved even if every waiter was cancelled

            flight.add_done_callback(landed)
        else:
            self.stats.coalesced += 1
        # shield: a cancelled caller must not cancel the call the other waiters share
        return await asyncio.shield(flight)

    async def _resolve(
        self, key: str, subscriber_id: str, key_id: str, *, forced: bool
    ) -> Subscriber | None:
        if not forced and self._shared is not None:
            hit = await self._cached(self._shared, key)
            if hit is not _MISS:
                if hit is None:
                    self.stats.negative_hits += 1
                else:
                    self.stats.shared_hits += 1
                await self._store(key, hit, shared=False, forced=False)
                return hit
        self.stats.upstream_lookups += 1
        found = await self._ask_sources(subscriber_id, key_id, forced=forced)
        await self._store(key, found, shared=True, forced=forced)
        return found

    async def _ask_sources(
        self, subscriber_id: str, key_id: str, *, forced: bool
    ) -> Subscriber | None:
        """First source that knows the key wins; if none does and one failed, raise its error."""
        failure: Exception | None = None
        for index, source in enumerate(self._sources):
            try:
                found = await source.lookup(subscriber_id, key_id, fresh=forced)
            except Exception as exc:  # the next source may still know the key
                log.warning(
                    "directory_source_failed",
                    source=index,
                    subscriber_id=subscriber_id,
                    key_id=key_id,
                    error=str(exc),
                )
                if failure is None:
                    failure = exc
                continue
            if found is not None:
                return found
        if failure is not None:
            raise failure
        return None

    async def _store(
        self, key: str, found: Subscriber | None, *, shared: bool, forced: bool
    ) -> None:
        """Write a result to memory (and to the shared cache when ``shared``)."""
        layers = [self._memory]
        if shared and self._shared is not None:
            layers.append(self._shared)
        if found is None:
            value, ttl = _UNKNOWN, self._negative_ttl
        else:
            value, ttl = found.model_dump_json().encode(), self._validity(found)
        for layer in layers:
            try:
                if ttl > 0:
                    await layer.set(key, value, ttl)
                elif forced:
                    await layer.delete(key)
            except Exception as exc:  # the answer is still good without the cache
                log.warning("directory_cache_failed", key=key, error=str(exc))

    def _validity(self, sub: Subscriber) -> float:
        """Seconds to cache ``sub``: ``min(valid_until - now, ttl)``; <= 0 means do not cache."""
        if sub.valid_until is None:
            return self._ttl
        until = sub.valid_until
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        return min(until.timestamp() - self._clock.now(), self._ttl)

    @staticmethod
    async def _cached(cache: Cache, key: str) -> Subscriber | _Miss | None:
        """A cached Subscriber, None for a cached "unknown", or ``_MISS``."""
        try:
            raw = await cache.get(key)
        except Exception as exc:  # a shared cache outage must not stop lookups
            log.warning("directory_cache_failed", key=key, error=str(exc))
            return _MISS
        if raw is None:
            return _MISS
        if raw == _UNKNOWN:
            return None
        try:
            return _decode(raw)
        except ValidationError:
            log.warning("directory_cache_corrupt", key=key)
            return _MISS
