"""Implementations of the ``CallbackInbox`` seam (DESIGN.md section 4, "Correlation").

A request and its ``on_*`` callbacks share one messageId, and one request may be
answered several times (``on_status`` updates, ``on_discover`` from several BPPs).
The caller waits in the process that sent the request while the callbacks may be
received by any node process, so the Redis inbox keeps each message's callbacks in
a Redis Stream that every process can append to and read from the beginning.

Redis keys carry a hash tag per message or transaction so they stay Redis Cluster
compatible: ``ies:{<messageId>}:pending``, ``ies:{<messageId>}:callbacks`` and
``ies:{<transactionId>}:txn``.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog

from iesnode.interfaces import Clock, PendingRequest
from iesnode.storage.streams import entry_field, single_stream_entries

__all__ = ["MemoryCallbackInbox", "RedisCallbackInbox"]

log = structlog.get_logger(__name__)

_MAX_WAIT = 1.0
"""Longest single blocking wait (seconds), so a deadline is never overshot by much."""


def _encode_pending(pending: PendingRequest) -> bytes:
    return json.dumps(
        {
            "message_id": pending.message_id,
            "transaction_id": pending.transaction_id,
            "action": pending.action,
            "deadline": pending.deadline,
        },
        separators=(",", ":"),
    ).encode()


def _decode_pending(raw: bytes | str) -> PendingRequest | None:
    try:
        data = json.loads(raw)
        pending = PendingRequest(
            message_id=str(data["message_id"]),
            transaction_id=str(data["transaction_id"]),
            action=str(data["action"]),
            deadline=float(data["deadline"]),
        )
    except (ValueError, TypeError, KeyError):
        log.warning("inbox_pending_unreadable")
        return None
    return pending


@dataclass(slots=True)
class _Mailbox:
    """Callbacks for one messageId; ``dropped`` counts entries trimmed off the front."""

    items: deque[bytes]
    expires: float
    dropped: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryCallbackInbox:
    """Callbacks correlated inside one process (the embedded default)."""

    def __init__(
        self,
        clock: Clock,
        *,
        default_retention: float = 300.0,
        max_callbacks: int = 1000,
        sweep_every: float = 60.0,
    ) -> None:
        self._clock = clock
        self._default_retention = default_retention
        self._max_callbacks = max_callbacks
        self._sweep_every = sweep_every
        self._next_sweep = clock.now() + sweep_every
        self._pending: dict[str, tuple[float, PendingRequest]] = {}
        self._transactions: dict[str, float] = {}
        self._mailboxes: dict[str, _Mailbox] = {}

    async def expect(self, pending: PendingRequest, retention: float) -> None:
        """Remember ``pending`` and its transaction until ``now + retention``."""
        now = self._clock.now()
        self._sweep(now)
        expires = now + retention
        self._pending[pending.message_id] = (expires, pending)
        known = self._transactions.get(pending.transaction_id, 0.0)
        self._transactions[pending.transaction_id] = max(known, expires)
        self._mailbox(pending.message_id, expires)

    async def pending(self, message_id: str) -> PendingRequest | None:
        """Return the live pending request for ``message_id``."""
        item = self._pending.get(message_id)
        if item is None or item[0] <= self._clock.now():
            return None
        return item[1]

    async def knows_transaction(self, transaction_id: str) -> bool:
        """True while a request of ours in ``transaction_id`` is retained."""
        return self._transactions.get(transaction_id, 0.0) > self._clock.now()

    async def deliver(self, message_id: str, callback: bytes) -> None:
        """Append ``callback`` and wake every receiver of ``message_id``."""
        now = self._clock.now()
        self._sweep(now)
        item = self._pending.get(message_id)
        expires = item[0] if item is not None else now + self._default_retention
        box = self._mailbox(message_id, expires)
        if len(box.items) == self._max_callbacks:
            box.items.popleft()
            box.dropped += 1
        box.items.append(callback)
        box.arrived.set()
        box.arrived = asyncio.Event()

    async def receive(self, message_id: str, deadline: float) -> AsyncIterator[bytes]:
        """Yield every callback for ``message_id``, earliest first, until ``deadline``."""
        box = self._mailbox(message_id, deadline)
        position = 0  # absolute index of the next callback, counting trimmed ones
        while self._clock.now() < deadline:
            while position - box.dropped < len(box.items):
                index = max(position - box.dropped, 0)
                position = box.dropped + index + 1
                yield box.items[index]
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                return
            arrived = box.arrived
            try:
                async with asyncio.timeout(min(remaining, _MAX_WAIT)):
                    await arrived.wait()
            except TimeoutError:
                pass

    def _mailbox(self, message_id: str, expires: float) -> _Mailbox:
        box = self._mailboxes.get(message_id)
        if box is None:
            box = _Mailbox(items=deque(), expires=expires)
            self._mailboxes[message_id] = box
        else:
            box.expires = max(box.expires, expires)
        return box

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        self._pending = {k: v for k, v in self._pending.items() if v[0] > now}
        self._transactions = {k: v for k, v in self._transactions.items() if v > now}
        self._mailboxes = {k: v for k, v in self._mailboxes.items() if v.expires > now}


_DELIVER = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'callback', ARGV[1])
local ttl = redis.call('PTTL', KEYS[2])
if ttl <= 0 then ttl = tonumber(ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return id
"""
"""XADD the callback, then expire the stream with the pending request (or the default)."""


def _pending_key(ns: str, message_id: str) -> str:
    return f"{ns}:{{{message_id}}}:pending"


def _callbacks_key(ns: str, message_id: str) -> str:
    return f"{ns}:{{{message_id}}}:callbacks"


def _transaction_key(ns: str, transaction_id: str) -> str:
    return f"{ns}:{{{transaction_id}}}:txn"


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisCallbackInbox:
    """Callbacks correlated through Redis Streams, across every node process.

    ``receive`` issues ``XREAD BLOCK`` of at most one second at a time; each waiting
    receiver holds one pooled connection while it blocks, so the client's pool must
    allow as many connections as callers wait at once (plus ordinary traffic), and its
    ``socket_timeout`` (if any) must exceed one second. ``namespace`` prefixes every key
    (the node uses ``ies:<subscriber id>``), so different nodes can share one Redis.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        *,
        default_retention: float = 300.0,
        max_callbacks: int = 1000,
        read_batch: int = 100,
        namespace: str = "ies",
    ) -> None:
        self._ns = namespace
        self._client = client
        self._clock = clock
        self._default_retention = default_retention
        self._max_callbacks = max_callbacks
        self._read_batch = read_batch
        self._deliver = client.register_script(_DELIVER)

    async def expect(self, pending: PendingRequest, retention: float) -> None:
        """Store ``pending`` and mark its transaction as ours for ``retention`` seconds.

        The transaction marker is only ever extended (``SET NX`` then ``PEXPIRE GT``).
        The keys live in different hash slots, so this is a plain pipeline, not MULTI.
        """
        ttl = _milliseconds(retention)
        txn_key = _transaction_key(self._ns, pending.transaction_id)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.set(_pending_key(self._ns, pending.message_id), _encode_pending(pending), px=ttl)
            pipe.set(txn_key, b"1", px=ttl, nx=True)
            pipe.pexpire(txn_key, ttl, gt=True)
            await pipe.execute()

    async def pending(self, message_id: str) -> PendingRequest | None:
        """Return the pending request for ``message_id``, or None."""
        raw = await self._client.get(_pending_key(self._ns, message_id))
        return None if raw is None else _decode_pending(raw)

    async def knows_transaction(self, transaction_id: str) -> bool:
        """True while the transaction marker exists."""
        return bool(await self._client.exists(_transaction_key(self._ns, transaction_id)))

    async def deliver(self, message_id: str, callback: bytes) -> None:
        """Append ``callback`` to the message's stream, whichever process waits on it."""
        await self._deliver(
            keys=[_callbacks_key(self._ns, message_id), _pending_key(self._ns, message_id)],
            args=[callback, self._max_callbacks, _milliseconds(self._default_retention)],
        )

    async def receive(self, message_id: str, deadline: float) -> AsyncIterator[bytes]:
        """Yield the stream's callbacks from its start, blocking in chunks until ``deadline``."""
        key = _callbacks_key(self._ns, message_id)
        last_id: bytes | str = b"0-0"
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():
                raise asyncio.CancelledError  # redis-py may absorb a cancel mid-read
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                return
            response = await self._client.xread(
                {key: last_id},
                count=self._read_batch,
                block=_milliseconds(min(remaining, _MAX_WAIT)),
            )
            for entry_id, fields in single_stream_entries(response):
                last_id = entry_id
                value = entry_field(fields, "callback")
                if value is not None:
                    yield value
