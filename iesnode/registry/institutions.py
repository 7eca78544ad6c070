"""The registry of authorised institutions and service providers.

The role-based registries (:class:`~iesnode.registry.records.InstitutionRole`) list
DISCOMs, TSPs, regulators, aggregators and meter data providers with their licence
and scope (:class:`~iesnode.registry.records.InstitutionRecord`). Admins and
namespace publishers write entries; every change is kept, so a listing ``as_on`` a
past moment answers as the registry stood then, and each entry says whether its
licence is valid at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from iesnode.interfaces import Clock, RecordStore
from iesnode.registry.governance import Governance
from iesnode.registry.participants import ParticipantDirectory
from iesnode.registry.records import InstitutionRecord
from iesnode.registry.write_requests import json_object, validation_rejection

__all__ = ["InstitutionRegistry"]


class InstitutionRegistry:
    """Writes and lists authorised institutions in a ``RecordStore``."""

    def __init__(
        self,
        *,
        store: RecordStore,
        directory: ParticipantDirectory,
        governance: Governance,
        clock: Clock,
    ) -> None:
        self._store = store
        self._directory = directory
        self._governance = governance
        self._clock = clock

    async def publish_institution(
        self, body: bytes, authorization: Sequence[str]
    ) -> dict[str, object]:
        """An admin or namespace publisher records an authorised institution (or a change)."""
        doc = json_object(body)
        try:
            entry = InstitutionRecord.model_validate(doc)
        except ValidationError as exc:
            raise validation_rejection(exc) from exc
        writer = await self._governance.authenticate(
            body, authorization, self._directory.participant_key
        )
        self._governance.require_publisher(writer, entry.namespace, entry.registry)
        await self._store.put(
            InstitutionRecord.KIND,
            entry.record_key(),
            entry.to_data(),
            actor=writer.actor,
            at=self._clock.now(),
        )
        return self._institution_view(entry, None)

    def _institution_view(self, entry: InstitutionRecord, as_on: float | None) -> dict[str, object]:
        at = datetime.fromtimestamp(self._clock.now() if as_on is None else as_on, UTC)
        return {**entry.model_dump(mode="json"), "valid_now": entry.is_valid_at(at)}

    async def institutions(
        self, *, role: str | None = None, org_id: str | None = None, as_on: float | None = None
    ) -> list[dict[str, object]]:
        """Authorised institutions (as of ``as_on``), filtered by role and organisation."""
        found = []
        for version in await self._store.scan(InstitutionRecord.KIND, as_on=as_on):
            entry = InstitutionRecord.from_data(version.data)
            if (role is None or entry.role.value == role) and (
                org_id is None or entry.org_id == org_id
            ):
                found.append(self._institution_view(entry, as_on))
        return found
