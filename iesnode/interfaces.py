"""Every seam of iesnode as a small ``typing.Protocol``.

Implementations never inherit from these; each seam has an in-memory
implementation (the embedded default, ``iesnode.storage.memory``) and, where state
is shared between node processes, a Redis one (``iesnode.storage.redis``).
``iesnode.node.build`` is the only place that chooses between them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from iesnode.model.subscriber import Subscriber, SubscriberQuery

__all__ = [
    "Cache",
    "CallbackInbox",
    "Clock",
    "Outbox",
    "OutboxEntry",
    "PendingRequest",
    "RecordStore",
    "RecordVersion",
    "ReplayGuard",
    "Reply",
    "SubscriberDirectory",
    "Transport",
]


class Clock(Protocol):
    """Wall-clock time in epoch seconds; injected wherever time matters."""

    def now(self) -> float:
        """Return the current time as Unix epoch seconds."""
        ...


@dataclass(frozen=True, slots=True)
class Reply:
    """What a peer answered to one of our POSTs."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport(Protocol):
    """Outbound HTTP POSTs of already-signed bodies."""

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Reply:
        """POST ``body`` to ``url``; raise ``TransportError`` when no answer arrives."""
        ...

    async def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Reply:
        """GET ``url`` (registry lookups); raise ``TransportError`` when no answer arrives."""
        ...


class SubscriberDirectory(Protocol):
    """Where a node learns other participants' keys and addresses."""

    async def lookup(
        self, subscriber_id: str, key_id: str, *, fresh: bool = False
    ) -> Subscriber | None:
        """Return the subscriber key, or None when the registry does not know it.

        ``fresh`` bypasses caches (used once after a signature fails against a
        cached key, to pick up a rotated key).
        """
        ...

    async def find(self, query: SubscriberQuery) -> list[Subscriber]:
        """Return every subscriber key matching ``query``."""
        ...


class Cache(Protocol):
    """Bytes in, bytes out, with a time to live in seconds."""

    async def get(self, key: str) -> bytes | None:
        """Return the value, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...


class ReplayGuard(Protocol):
    """Remembers which (messageId, signature) pairs were already accepted."""

    async def first_seen(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; return False if it was already recorded."""
        ...


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An outbound request of ours whose ``on_*`` callbacks we are waiting for."""

    message_id: str
    transaction_id: str
    action: str
    deadline: float
    """Epoch seconds after which callbacks are late (request timestamp + ttl)."""


class CallbackInbox(Protocol):
    """Correlates callbacks with waiting callers across node processes."""

    async def expect(self, pending: PendingRequest, retention: float) -> None:
        """Register a pending request (and its transaction) for ``retention`` seconds."""
        ...

    async def pending(self, message_id: str) -> PendingRequest | None:
        """Return the pending request for ``message_id``, or None if unknown."""
        ...

    async def knows_transaction(self, transaction_id: str) -> bool:
        """True when one of our requests started or joined ``transaction_id``."""
        ...

    async def deliver(self, message_id: str, callback: bytes) -> None:
        """Hand a verified callback to whoever waits on ``message_id``, in any process."""
        ...

    def receive(self, message_id: str, deadline: float) -> AsyncIterator[bytes]:
        """Yield callbacks for ``message_id`` as they arrive, until ``deadline``."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One durable job: ``deliveries`` counts how often it was handed out (1 = first)."""

    entry_id: str
    job: bytes
    deliveries: int = 1


class Outbox(Protocol):
    """Durable work queue for ACKed requests and their callbacks.

    A job stays owned until ``complete`` or ``bury``; its holder renews the claim with
    ``touch`` while it works (a heartbeat, more often than ``claim_after``). Jobs of a
    consumer that died (no longer touched) are handed out again to the next ``take``
    after ``claim_after``, so nothing that was ACKed is lost when a process restarts,
    and a slow job is not run twice.
    """

    @property
    def claim_after(self) -> float:
        """Seconds a job may go without ``take`` or ``touch`` before it is reclaimed."""
        ...

    async def put(self, job: bytes) -> str:
        """Append a job; return its entry id."""
        ...

    async def take(self, consumer: str, count: int, block: float) -> list[OutboxEntry]:
        """Return up to ``count`` jobs (new ones, or stale ones reclaimed), waiting ``block`` s."""
        ...

    async def touch(self, consumer: str, entry_ids: Sequence[str]) -> list[str]:
        """Restart the claim timeout of the jobs among ``entry_ids`` that ``consumer`` holds.

        Returns the ids it kept; jobs held by another consumer, finished or unknown are
        left alone (never taken over).
        """
        ...

    async def complete(self, entry_id: str, follow_up: bytes | None = None) -> None:
        """Finish a job, atomically appending ``follow_up`` as a new job if given."""
        ...

    async def bury(self, entry_id: str, job: bytes, reason: str) -> None:
        """Give up on a job: move it to the dead-letter list with ``reason``."""
        ...


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """One stored version of a durable record; versions are never rewritten."""

    kind: str
    key: str
    version: int
    """1 for the first write of ``key``, then +1 per write."""
    data: bytes
    """The record as JSON bytes (the caller's pydantic model)."""
    actor: str
    """Who wrote it (a subscriber id, ``admin:<key id>``, ``registry``)."""
    written_at: float
    """Epoch seconds of the write; ``as_on`` lookups compare against it."""


class RecordStore(Protocol):
    """Durable, versioned records (registry entries, ledgers, consent, audit).

    Every write appends a version, so the store answers "as it was at time T"
    (``as_on``). SQLite is the embedded default (``iesnode.storage.sqlite``).
    """

    async def put(self, kind: str, key: str, data: bytes, *, actor: str, at: float) -> int:
        """Append a new version of ``(kind, key)``; return its version number."""
        ...

    async def get(self, kind: str, key: str, *, as_on: float | None = None) -> RecordVersion | None:
        """The latest version written at or before ``as_on`` (default: now), or None."""
        ...

    async def scan(
        self, kind: str, *, prefix: str = "", as_on: float | None = None
    ) -> list[RecordVersion]:
        """The latest version (as of ``as_on``) of each key of ``kind`` under ``prefix``."""
        ...

    async def history(self, kind: str, key: str) -> list[RecordVersion]:
        """Every version of ``(kind, key)``, oldest first."""
        ...

    async def aclose(self) -> None:
        """Release the store's resources."""
        ...
