"""Implementations of the ``Outbox`` seam (DESIGN.md sections 1 and 5: ACK only what is queued).

A BPP acknowledges a request only once its job is durably queued. Workers ``take``
jobs, run them and ``complete`` each one, atomically queueing the follow-up job (the
signed callback to POST); a job that keeps failing is ``bury``-ed as a dead letter.
A job stays owned by the consumer that took it, which renews its claim with ``touch``
while the job runs (a heartbeat, more often than ``claim_after``). When a job goes
``claim_after`` seconds without being taken or touched (its holder died or hung) it is
handed out again, with its delivery counter raised, to the next ``take`` of any consumer.

The Redis outbox is a Redis Stream with one consumer group (XREADGROUP, XAUTOCLAIM,
XCLAIM, XPENDING, XACK; see ``iesnode.storage.claims``); the memory outbox gives the
same guarantees inside one process.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from redis.exceptions import ResponseError

from iesnode.interfaces import Clock, OutboxEntry
from iesnode.storage.claims import StreamClaims
from iesnode.storage.streams import as_text, entry_field, single_stream_entries

__all__ = ["DeadLetter", "MemoryOutbox", "RedisOutbox"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A buried job: its original entry id, the job and why it was given up."""

    entry_id: str
    job: bytes
    reason: str


@dataclass(slots=True)
class _Held:
    job: bytes
    deliveries: int
    taken_at: float
    consumer: str


class MemoryOutbox:
    """An in-process outbox (the embedded default); jobs do not survive the process.

    ``dead_letters()`` and ``dead_count()`` read the dead-letter list (for tests and
    metrics; not part of the ``Outbox`` seam).
    """

    def __init__(self, clock: Clock, claim_after: float = 30.0, dead_max: int = 10_000) -> None:
        self._clock = clock
        self._claim_after = claim_after
        self._sequence = 0
        self._queue: deque[tuple[str, bytes]] = deque()
        self._held: dict[str, _Held] = {}
        self._dead: deque[DeadLetter] = deque(maxlen=dead_max)
        self._arrived = asyncio.Event()

    @property
    def claim_after(self) -> float:
        """Seconds an untouched job stays with its holder."""
        return self._claim_after

    async def put(self, job: bytes) -> str:
        """Queue ``job`` and wake one blocked ``take``."""
        return self._append(job)

    async def take(self, consumer: str, count: int, block: float) -> list[OutboxEntry]:
        """Reclaim stale jobs, then take new ones, waiting up to ``block`` s when none."""
        if count <= 0:
            return []
        entries = self._reclaim(consumer, count)
        entries += self._take_new(consumer, count - len(entries))
        if entries or block <= 0:
            return entries
        loop = asyncio.get_running_loop()
        end = loop.time() + block
        while not entries:
            remaining = end - loop.time()
            if remaining <= 0:
                break
            arrived = self._arrived
            try:
                async with asyncio.timeout(remaining):
                    await arrived.wait()
            except TimeoutError:
                break
            entries = self._take_new(consumer, count)
        return entries

    async def touch(self, consumer: str, entry_ids: Sequence[str]) -> list[str]:
        """Restart the claim timeout of the jobs among ``entry_ids`` held by ``consumer``."""
        now = self._clock.now()
        kept: list[str] = []
        for entry_id in entry_ids:
            held = self._held.get(entry_id)
            if held is not None and held.consumer == consumer:
                held.taken_at = now
                kept.append(entry_id)
        return kept

    async def complete(self, entry_id: str, follow_up: bytes | None = None) -> None:
        """Forget ``entry_id``; queue ``follow_up`` in the same step."""
        self._held.pop(entry_id, None)
        if follow_up is not None:
            self._append(follow_up)

    async def bury(self, entry_id: str, job: bytes, reason: str) -> None:
        """Move ``entry_id`` to the dead letters."""
        self._held.pop(entry_id, None)
        self._dead.append(DeadLetter(entry_id=entry_id, job=job, reason=reason))
        log.warning("outbox_buried", entry_id=entry_id, reason=reason)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first."""
        return list(self._dead)[:limit]

    async def dead_count(self) -> int:
        """Return how many dead letters are kept."""
        return len(self._dead)

    def _append(self, job: bytes) -> str:
        self._sequence += 1
        entry_id = f"{self._sequence}-0"
        self._queue.append((entry_id, job))
        self._arrived.set()
        self._arrived = asyncio.Event()
        return entry_id

    def _take_new(self, consumer: str, count: int) -> list[OutboxEntry]:
        now = self._clock.now()
        entries: list[OutboxEntry] = []
        while self._queue and len(entries) < count:
            entry_id, job = self._queue.popleft()
            self._held[entry_id] = _Held(job, deliveries=1, taken_at=now, consumer=consumer)
            entries.append(OutboxEntry(entry_id=entry_id, job=job, deliveries=1))
        return entries

    def _reclaim(self, consumer: str, count: int) -> list[OutboxEntry]:
        now = self._clock.now()
        entries: list[OutboxEntry] = []
        for entry_id, held in self._held.items():
            if len(entries) >= count:
                break
            if now - held.taken_at >= self._claim_after:
                held.deliveries += 1
                held.taken_at = now
                held.consumer = consumer
                entries.append(OutboxEntry(entry_id, held.job, held.deliveries))
        if entries:
            log.info("outbox_reclaimed", consumer=consumer, count=len(entries))
        return entries


class RedisOutbox:
    """An outbox in a Redis Stream shared by every node process, with one consumer group.

    ``stream`` and ``dead_stream`` must share a hash tag (the defaults do) because
    ``bury`` writes both in one MULTI, which Redis Cluster allows only within one slot.
    ``dead_letters()`` and ``dead_count()`` read the dead-letter stream (for tests and
    metrics; not part of the ``Outbox`` seam).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str = "ies:{outbox}",
        group: str = "iesnode",
        dead_stream: str = "ies:{outbox}:dead",
        claim_after: float = 30.0,
        dead_max: int = 10_000,
        claim_scan_rounds: int = 10,
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._dead_stream = dead_stream
        self._claim_after = claim_after
        self._dead_max = dead_max
        self._claims = StreamClaims(
            client,
            stream=stream,
            group=group,
            claim_after_ms=max(0, int(claim_after * 1000)),
            scan_rounds=claim_scan_rounds,
        )
        self._group_ready = False

    @property
    def claim_after(self) -> float:
        """Seconds an untouched job stays with its holder."""
        return self._claim_after

    async def put(self, job: bytes) -> str:
        """XADD ``job``; return the entry id."""
        return as_text(await self._client.xadd(self._stream, {"job": job}))

    async def take(self, consumer: str, count: int, block: float) -> list[OutboxEntry]:
        """Reclaim jobs idle past ``claim_after``, then read new ones (blocking only if none)."""
        if count <= 0:
            return []
        await self._ensure_group()
        try:
            return await self._take(consumer, count, block)
        except ResponseError as error:
            if not str(error).startswith("NOGROUP"):
                raise
        # The stream or group vanished (e.g. the key was deleted); create it again once.
        self._group_ready = False
        await self._ensure_group()
        return await self._take(consumer, count, block)

    async def touch(self, consumer: str, entry_ids: Sequence[str]) -> list[str]:
        """Reset the idle time of the entries among ``entry_ids`` that ``consumer`` holds."""
        return await self._claims.keep(consumer, entry_ids)

    async def complete(self, entry_id: str, follow_up: bytes | None = None) -> None:
        """XACK and XDEL ``entry_id`` and XADD ``follow_up``, in one MULTI/EXEC."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self._group, entry_id)
            pipe.xdel(self._stream, entry_id)
            if follow_up is not None:
                pipe.xadd(self._stream, {"job": follow_up})
            await pipe.execute()

    async def bury(self, entry_id: str, job: bytes, reason: str) -> None:
        """XACK and XDEL ``entry_id`` and XADD it to the dead-letter stream, in one MULTI/EXEC."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self._group, entry_id)
            pipe.xdel(self._stream, entry_id)
            pipe.xadd(
                self._dead_stream,
                {"job": job, "reason": reason, "id": entry_id},
                maxlen=self._dead_max,
                approximate=True,
            )
            await pipe.execute()
        log.warning("outbox_buried", entry_id=entry_id, reason=reason)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first."""
        rows = await self._client.xrange(self._dead_stream, count=limit)
        letters: list[DeadLetter] = []
        for _, fields in rows or []:
            job = entry_field(fields, "job")
            if fields is None or job is None:
                continue
            original = entry_field(fields, "id") or b""
            reason = entry_field(fields, "reason") or b""
            letters.append(DeadLetter(original.decode(), job, reason.decode()))
        return letters

    async def dead_count(self) -> int:
        """Return the length of the dead-letter stream."""
        return await self._client.xlen(self._dead_stream)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):
                raise
        self._group_ready = True

    async def _take(self, consumer: str, count: int, block: float) -> list[OutboxEntry]:
        entries = await self._claims.reclaim(consumer, count)
        wanted = count - len(entries)
        if wanted <= 0:
            return entries
        wait = int(block * 1000) if block > 0 and not entries else None
        response = await self._client.xreadgroup(
            self._group, consumer, {self._stream: ">"}, count=wanted, block=wait or None
        )
        for entry_id, fields in single_stream_entries(response):
            job = entry_field(fields, "job")
            if job is None:
                await self._claims.drop(entry_id, "malformed")
                continue
            entries.append(OutboxEntry(entry_id=as_text(entry_id), job=job, deliveries=1))
        return entries
