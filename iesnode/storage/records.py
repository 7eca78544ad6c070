"""In-memory implementation of the ``RecordStore`` seam (tests and throw-away nodes).

Same behaviour as :class:`iesnode.storage.sqlite.SqliteRecordStore`, minus durability:
every ``put`` appends version ``n + 1`` of ``(kind, key)``; ``get``/``scan`` with
``as_on=T`` answer with the latest version written at or before ``T`` (DeDi's
``as_on`` time travel, ``research/energy-domain.md`` section 1.4), and without
``as_on`` with the latest version there is.

A version is never stamped earlier than the one before it: ``written_at`` is
``max(at, previous written_at)``, so version order and time order agree and
``as_on`` answers stay consistent even when writers' clocks step back.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from iesnode.interfaces import RecordVersion

__all__ = ["MemoryRecordStore"]


class MemoryRecordStore:
    """Versioned records in dictionaries of one process; lost when the process ends."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, list[RecordVersion]]] = {}
        self._closed = False

    async def put(self, kind: str, key: str, data: bytes, *, actor: str, at: float) -> int:
        """Append a new version of ``(kind, key)``; return its version number (1 first)."""
        self._check_open()
        if not math.isfinite(at):
            raise ValueError(f"record write time must be a finite epoch, not {at!r}")
        versions = self._kinds.setdefault(kind, {}).setdefault(key, [])
        previous = versions[-1] if versions else None
        version = RecordVersion(
            kind=kind,
            key=key,
            version=1 if previous is None else previous.version + 1,
            data=bytes(data),
            actor=actor,
            written_at=at if previous is None else max(at, previous.written_at),
        )
        versions.append(version)
        return version.version

    async def get(self, kind: str, key: str, *, as_on: float | None = None) -> RecordVersion | None:
        """The latest version written at or before ``as_on`` (default: the latest), or None."""
        self._check_open()
        return _as_on(self._kinds.get(kind, {}).get(key, []), as_on)

    async def scan(
        self, kind: str, *, prefix: str = "", as_on: float | None = None
    ) -> list[RecordVersion]:
        """The latest version (as of ``as_on``) of every key of ``kind`` starting with ``prefix``.

        Ordered by key; keys with no version at ``as_on`` are left out.
        """
        self._check_open()
        keys = self._kinds.get(kind, {})
        found = (_as_on(keys[key], as_on) for key in sorted(keys) if key.startswith(prefix))
        return [version for version in found if version is not None]

    async def history(self, kind: str, key: str) -> list[RecordVersion]:
        """Every version of ``(kind, key)``, oldest first."""
        self._check_open()
        return list(self._kinds.get(kind, {}).get(key, []))

    async def aclose(self) -> None:
        """Refuse further use; the records are dropped with the object."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("record store is closed")


def _as_on(versions: list[RecordVersion], as_on: float | None) -> RecordVersion | None:
    """The last of ``versions`` (ordered by version and time) written at or before ``as_on``."""
    if as_on is None:
        return versions[-1] if versions else None
    index = bisect_right(versions, as_on, key=lambda version: version.written_at)
    return versions[index - 1] if index else None
