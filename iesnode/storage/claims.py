"""Who holds a queued job: reclaiming a silent holder's jobs, and keeping one's own.

A Redis Stream consumer group records, for every entry handed out and not yet
acknowledged, the consumer holding it and how long it has been idle (the pending
entries list; Redis documentation "Redis Streams", section "Recovering from permanent
failures", commands XPENDING, XCLAIM, XAUTOCLAIM). The outbox (DESIGN.md section 5)
uses the idle time as a lease:

* :meth:`StreamClaims.reclaim` takes over entries idle for at least ``claim_after``
  (XAUTOCLAIM), on the assumption that their holder died;
* :meth:`StreamClaims.keep` is the holder's heartbeat: it resets the idle time of
  entries the consumer still holds (XCLAIM to itself with JUSTID, which leaves the
  delivery counter alone). The ownership check and the claim run in one Lua script,
  so an entry another consumer reclaimed in the meantime is never taken back.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
import structlog

from iesnode.interfaces import OutboxEntry
from iesnode.storage.streams import as_text, entry_field

__all__ = ["StreamClaims"]

log = structlog.get_logger(__name__)

# KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids.
# Returns the ids the consumer held (and now holds with a fresh idle time).
_KEEP = """
local kept = {}
for i = 3, #ARGV do
  local row = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if type(row) == 'table' and row.err then
    return kept
  end
  if #row > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
"""


class StreamClaims:
    """Reclaims and keeps the pending entries of one consumer group on one stream."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str,
        group: str,
        claim_after_ms: int,
        scan_rounds: int,
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._claim_after_ms = claim_after_ms
        self._scan_rounds = scan_rounds
        self._keep = client.register_script(_KEEP)

    async def keep(self, consumer: str, entry_ids: Sequence[str]) -> list[str]:
        """Reset the idle time of those ``entry_ids`` that ``consumer`` holds; return them."""
        if not entry_ids:
            return []
        reply = await self._keep(keys=[self._stream], args=[self._group, consumer, *entry_ids])
        return [as_text(entry_id) for entry_id in reply or []]

    async def reclaim(self, consumer: str, count: int) -> list[OutboxEntry]:
        """XAUTOCLAIM idle entries, dropping ones deleted while pending; read their counters."""
        claimed: list[tuple[str, bytes]] = []
        cursor: bytes | str = "0-0"
        for _ in range(self._scan_rounds):
            reply = await self._client.xautoclaim(
                self._stream,
                self._group,
                consumer,
                self._claim_after_ms,
                start_id=cursor,
                count=count - len(claimed),
            )
            cursor = reply[0]
            for entry_id, fields in reply[1]:
                job = entry_field(fields, "job")
                if entry_id is not None and job is not None:
                    claimed.append((as_text(entry_id), job))
                elif entry_id is not None:
                    await self.drop(entry_id, "malformed")
            for deleted in reply[2] if len(reply) > 2 else []:
                await self.drop(deleted, "deleted")
            if as_text(cursor) == "0-0" or len(claimed) >= count:
                break
        if not claimed:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for entry_id, _ in claimed:
                pipe.xpending_range(self._stream, self._group, entry_id, entry_id, 1)
            counters = await pipe.execute()
        entries: list[OutboxEntry] = []
        for (entry_id, job), rows in zip(claimed, counters, strict=True):
            if rows:  # no row: finished by its first owner since we claimed it
                deliveries = int(rows[0]["times_delivered"])
                entries.append(OutboxEntry(entry_id=entry_id, job=job, deliveries=deliveries))
        log.info("outbox_reclaimed", consumer=consumer, count=len(entries))
        return entries

    async def drop(self, entry_id: bytes | str, why: str) -> None:
        """Acknowledge and delete an entry that cannot be run (malformed, or deleted)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self._group, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()
        log.warning("outbox_entry_dropped", entry_id=as_text(entry_id), why=why)
