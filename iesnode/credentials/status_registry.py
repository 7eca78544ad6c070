"""The issuer's Bitstring Status Lists (W3C Bitstring Status List v1.0), kept in a RecordStore.

One revocation list and one suspension list per issuer (§2.2), each one durable record of kind
:data:`STATUS_LIST_KIND` whose store version doubles as the HTTP ETag of the published list.
A third record (kind :data:`ALLOCATION_KIND`) remembers every index ever handed out, so that an
index is never reused. Indexes are drawn at random with :mod:`secrets`, as §2.1 recommends
(``statusListIndex`` "SHOULD be assigned randomly", so that the index tells nothing about the
issuance order). One index serves both lists of a credential.

Revocation is final (§2.1 ``revocation``: "cannot be reversed"); suspension is reversible.
Writes are serialised within one :class:`StatusLists` object; run a single writer per issuer.
The list credentials returned are unsigned: the caller adds the proof before serving them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.status_list import (
    MINIMUM_BITS,
    Bitstring,
    StatusPurpose,
    decode,
    status_entry,
    status_list_credential,
)
from iesnode.interfaces import Clock, RecordStore

__all__ = [
    "ALLOCATION_KIND",
    "STATUS_LIST_KIND",
    "StatusAllocation",
    "StatusListSnapshot",
    "StatusLists",
]

STATUS_LIST_KIND = "status-list"
"""Record kind of a published list; key ``<issuer>#<purpose>``."""
ALLOCATION_KIND = "status-list-allocation"
"""Record kind of the indexes handed out; key ``<issuer>``."""

_PURPOSES: tuple[StatusPurpose, ...] = ("revocation", "suspension")
_RANDOM_DRAWS = 64

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StatusListSnapshot:
    """One version of a published list, ready to be signed and served."""

    purpose: StatusPurpose
    credential: dict[str, Any]
    """The unsigned ``BitstringStatusListCredential``."""
    version: int
    """The store version of the list; it grows with every change of a bit."""
    etag: str
    """A weak entity tag for ``ETag`` / ``If-None-Match`` (the signed bytes may differ)."""
    last_modified: float
    """Epoch seconds of this version (``Last-Modified``; also the credential's ``validFrom``)."""


@dataclass(frozen=True, slots=True)
class StatusAllocation:
    """A freshly reserved index and the ``credentialStatus`` entries that point at it."""

    index: int
    entries: list[dict[str, Any]]
    """One ``BitstringStatusListEntry`` per purpose: revocation, then suspension."""


class StatusLists:
    """Revocation and suspension lists of one issuer, persisted through a ``RecordStore``."""

    def __init__(
        self,
        store: RecordStore,
        clock: Clock,
        *,
        issuer: str,
        list_urls: dict[StatusPurpose, str],
        length: int = MINIMUM_BITS,
        actor: str | None = None,
    ) -> None:
        missing = [purpose for purpose in _PURPOSES if purpose not in list_urls]
        if missing:
            raise ValueError(f"status list URLs are missing for {missing}")
        if list_urls["revocation"] == list_urls["suspension"]:
            raise ValueError("the revocation and suspension lists need distinct URLs")
        Bitstring(length)  # refuses lengths the spec does not allow
        self._store = store
        self._clock = clock
        self._issuer = issuer
        self._urls = dict(list_urls)
        self._length = length
        self._actor = actor or issuer
        self._lock = asyncio.Lock()

    def list_url(self, purpose: StatusPurpose) -> str:
        """Where the list for ``purpose`` is published (its credential ``id``)."""
        return self._urls[purpose]

    async def allocate(self) -> StatusAllocation:
        """Reserve a random index never handed out before, for both lists."""
        async with self._lock:
            allocated, _ = await self._load_allocation()
            index = _draw_unused(allocated)
            allocated.set(index, True)
            await self._store.put(
                ALLOCATION_KIND,
                self._issuer,
                _record(allocated),
                actor=self._actor,
                at=self._clock.now(),
            )
        log.info("status_list.allocated", index=index)
        entries = [status_entry(self._urls[purpose], index, purpose) for purpose in _PURPOSES]
        return StatusAllocation(index=index, entries=entries)

    async def revoke(self, index: int) -> int:
        """Set the revocation bit of ``index`` (final); return the list version."""
        return await self.update("revocation", index, True)

    async def suspend(self, index: int) -> int:
        """Set the suspension bit of ``index``; return the list version."""
        return await self.update("suspension", index, True)

    async def resume(self, index: int) -> int:
        """Clear the suspension bit of ``index``; return the list version."""
        return await self.update("suspension", index, False)

    async def update(self, purpose: StatusPurpose, index: int, value: bool) -> int:
        """Set or clear one bit; a no-op change writes nothing. Returns the list version.

        Refuses indexes that were never allocated and clearing a revocation bit.
        """
        async with self._lock:
            allocated, _ = await self._load_allocation()
            if not 0 <= index < len(allocated) or not allocated.get(index):
                raise CredentialError("status", f"status list index {index} was never allocated")
            bitstring, version, _ = await self._load_list(purpose)
            if bitstring.get(index) == value:
                return version
            if purpose == "revocation" and not value:
                raise CredentialError(
                    "status", f"index {index} is revoked and revocation cannot be undone"
                )
            bitstring.set(index, value)
            version = await self._store.put(
                STATUS_LIST_KIND,
                self._list_key(purpose),
                _record(bitstring),
                actor=self._actor,
                at=self._clock.now(),
            )
        log.info("status_list.updated", purpose=purpose, index=index, set=value, version=version)
        return version

    async def is_revoked(self, index: int) -> bool:
        """Whether ``index`` is revoked."""
        async with self._lock:
            bitstring, _, _ = await self._load_list("revocation")
        return bitstring.get(index)

    async def is_suspended(self, index: int) -> bool:
        """Whether ``index`` is suspended."""
        async with self._lock:
            bitstring, _, _ = await self._load_list("suspension")
        return bitstring.get(index)

    async def snapshot(
        self, purpose: StatusPurpose, *, as_on: float | None = None
    ) -> StatusListSnapshot:
        """The list credential for ``purpose`` (as it was at ``as_on``, default now)."""
        if as_on is None:
            async with self._lock:
                bitstring, version, written_at = await self._load_list(purpose)
        else:
            found = await self._store.get(STATUS_LIST_KIND, self._list_key(purpose), as_on=as_on)
            if found is None:
                raise CredentialError("status", f"no {purpose} list existed at {as_on}")
            bitstring, version, written_at = _parse(found.data), found.version, found.written_at
        credential = status_list_credential(
            list_id=self._urls[purpose],
            issuer=self._issuer,
            purpose=purpose,
            bitstring=bitstring,
            valid_from=datetime.fromtimestamp(int(written_at), UTC),
        )
        return StatusListSnapshot(
            purpose=purpose,
            credential=credential,
            version=version,
            etag=f'W/"{purpose}-{version}"',
            last_modified=written_at,
        )

    def _list_key(self, purpose: StatusPurpose) -> str:
        return f"{self._issuer}#{purpose}"

    async def _load_allocation(self) -> tuple[Bitstring, int]:
        found = await self._store.get(ALLOCATION_KIND, self._issuer)
        if found is None:
            return Bitstring(self._length), 0
        return _parse(found.data), found.version

    async def _load_list(self, purpose: StatusPurpose) -> tuple[Bitstring, int, float]:
        """The latest list, written (all bits clear) on first use so its version is stable."""
        key = self._list_key(purpose)
        found = await self._store.get(STATUS_LIST_KIND, key)
        if found is not None:
            return _parse(found.data), found.version, found.written_at
        bitstring = Bitstring(self._length)
        await self._store.put(
            STATUS_LIST_KIND, key, _record(bitstring), actor=self._actor, at=self._clock.now()
        )
        created = await self._store.get(STATUS_LIST_KIND, key)
        assert created is not None
        log.info("status_list.created", purpose=purpose, version=created.version)
        return bitstring, created.version, created.written_at


def _draw_unused(allocated: Bitstring) -> int:
    """A uniformly random clear index; dense lists fall back to a choice among the free ones."""
    length = len(allocated)
    for _ in range(_RANDOM_DRAWS):
        candidate = secrets.randbelow(length)
        if not allocated.get(candidate):
            return candidate
    used = set(allocated.set_indexes())
    free = [index for index in range(length) if index not in used]
    if not free:
        raise CredentialError("status", f"all {length} status list indexes are allocated")
    return secrets.choice(free)


def _record(bitstring: Bitstring) -> bytes:
    document = {"length": len(bitstring), "encodedList": bitstring.encode()}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _parse(data: bytes) -> Bitstring:
    document = json.loads(data)
    bitstring = decode(document["encodedList"])
    if len(bitstring) != document["length"]:
        raise CredentialError("status", "stored status list length does not match its record")
    return bitstring
