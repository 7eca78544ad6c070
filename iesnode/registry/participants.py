"""The registry's participant keys: storage, the key index, lookups and searches.

Participant keys live in the ``RecordStore`` under
:attr:`~iesnode.registry.records.ParticipantRecord.KIND` (IES issue 3); every write
appends a version, so a lookup or search ``as_on`` a past moment answers as the
registry stood then, and :meth:`ParticipantDirectory.history` lists who wrote what.
An in-memory index maps ``(subscriber_id, key_id)`` to the record key, so a lookup is
one ``get``. Searches take the Beckn v1 lookup filters. A key id keeps its key:
registering another key under it is refused
(:meth:`ParticipantDirectory.check_replacement`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from iesnode.errors import Conflict, Forbidden
from iesnode.interfaces import Clock, RecordStore
from iesnode.registry.records import ParticipantRecord, ParticipantStatus
from iesnode.registry.wire_views import dedi_participant

__all__ = ["WITHDRAWN", "ParticipantDirectory"]

WITHDRAWN: Final = (ParticipantStatus.REVOKED, ParticipantStatus.SUSPENDED)
"""Statuses of a key taken out of use: DeDi lookups answer 410."""


class ParticipantDirectory:
    """Participant keys in a ``RecordStore``, indexed by ``(subscriber_id, key_id)``."""

    def __init__(self, store: RecordStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._index: dict[tuple[str, str], str] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    async def load_index(self) -> None:
        """Index every stored participant key by ``(subscriber_id, key_id)``."""
        for version in await self._store.scan(ParticipantRecord.KIND):
            record = ParticipantRecord.from_data(version.data)
            self._index[record.subscriber_id, record.key_id] = version.key

    async def write(self, record: ParticipantRecord, actor: str) -> None:
        """Store a new version of the key, written by ``actor`` now, and index it."""
        key = record.record_key()
        await self._store.put(
            ParticipantRecord.KIND, key, record.to_data(), actor=actor, at=self._clock.now()
        )
        self._index[record.subscriber_id, record.key_id] = key

    async def lookup(
        self, subscriber_id: str, key_id: str, *, as_on: float | None = None
    ) -> ParticipantRecord | None:
        """The key as stored (as of ``as_on``), or None."""
        key = self._index.get((subscriber_id, key_id))
        if key is None:
            return None
        version = await self._store.get(ParticipantRecord.KIND, key, as_on=as_on)
        return None if version is None else ParticipantRecord.from_data(version.data)

    def effective(self, record: ParticipantRecord, as_on: float | None = None) -> ParticipantRecord:
        """The record with its status at ``as_on`` (default now): expired keys say EXPIRED."""
        at = datetime.fromtimestamp(self._clock.now() if as_on is None else as_on, UTC)
        return record.model_copy(update={"status": record.effective_status(at)})

    async def search(
        self,
        *,
        subscriber_id: str | None = None,
        key_id: str | None = None,
        role: str | None = None,
        network_id: str | None = None,
        domain: str | None = None,
        city: str | None = None,
        country: str | None = None,
        status: str | None = None,
        as_on: float | None = None,
    ) -> list[ParticipantRecord]:
        """Every key matching all given filters, with its status at ``as_on``."""
        found: list[ParticipantRecord] = []
        for version in await self._store.scan(ParticipantRecord.KIND, as_on=as_on):
            record = self.effective(ParticipantRecord.from_data(version.data), as_on)
            if (
                (subscriber_id is None or record.subscriber_id == subscriber_id)
                and (key_id is None or record.key_id == key_id)
                and (role is None or record.role.value == role)
                and (network_id is None or record.network_id == network_id)
                and (domain is None or not record.domains or domain in record.domains)
                and (city is None or record.city in (None, "*", city))
                and (country is None or record.country in (None, country))
                and (status is None or record.status.to_subscriber_status().value == status)
            ):
                found.append(record)
        return found

    async def participant_key(self, subscriber_id: str, key_id: str) -> str | None:
        """The signing key of a currently SUBSCRIBED participant key (for governance)."""
        record = await self.lookup(subscriber_id, key_id)
        if record is None or not record.is_valid_at(self._now()):
            return None
        return record.signing_public_key

    async def history(self, subscriber_id: str, key_id: str) -> list[dict[str, object]]:
        """Every version of a key: who wrote it when, and what."""
        key = self._index.get((subscriber_id, key_id))
        if key is None:
            return []
        return [
            {
                "version": v.version,
                "actor": v.actor,
                "written_at": v.written_at,
                "record": dedi_participant(ParticipantRecord.from_data(v.data)),
            }
            for v in await self._store.history(ParticipantRecord.KIND, key)
        ]

    async def check_replacement(self, record: ParticipantRecord) -> ParticipantRecord:
        """A key id keeps its key: re-registering another key under it is a conflict.

        Returns the record to write: a re-registration keeps the key's ``created``.
        """
        existing = await self.lookup(record.subscriber_id, record.key_id)
        if existing is None:
            return record
        if existing.signing_public_key != record.signing_public_key:
            raise Conflict(
                "REG_DUPLICATE_KEY_ID",
                f"{record.subscriber_id!r} already has a different key {record.key_id!r}; "
                "rotate by registering a new key id",
                path="unique_key_id",
            )
        if existing.record_key() != record.record_key():
            raise Conflict(
                "REG_DUPLICATE_KEY_ID",
                f"key {record.key_id!r} of {record.subscriber_id!r} is registered in "
                f"{existing.network_id}",
                path="namespace",
            )
        if existing.status is ParticipantStatus.REVOKED:
            raise Forbidden(
                "REG_KEY_REVOKED", "a revoked key cannot be registered again", path="unique_key_id"
            )
        return record.model_copy(update={"created": existing.created})
