"""The credential revocation registry: revoked (or suspended) credentials by id.

A publisher of the namespace, or an admin, records a credential as revoked
(:class:`~iesnode.registry.records.RevocationRecord`, keyed by the credential id, the
hash of the VC, or its status-list entry URL). A lookup that finds it means revoked;
none means not revoked. Every write is kept, so ``as_on`` answers as of any past moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from iesnode.interfaces import Clock, RecordStore
from iesnode.registry.governance import Governance
from iesnode.registry.participants import ParticipantDirectory
from iesnode.registry.records import RevocationRecord
from iesnode.registry.write_requests import json_object, validation_rejection

__all__ = ["CredentialRevocations"]


class CredentialRevocations:
    """Records and answers credential revocations in a ``RecordStore``."""

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

    async def revoke_credential(
        self, body: bytes, authorization: Sequence[str]
    ) -> dict[str, object]:
        """Record a revoked credential (a publisher of the namespace, or an admin)."""
        doc = json_object(body)
        doc.setdefault("revoked_at", datetime.fromtimestamp(self._clock.now(), UTC))
        try:
            entry = RevocationRecord.model_validate(doc)
        except ValidationError as exc:
            raise validation_rejection(exc) from exc
        writer = await self._governance.authenticate(
            body, authorization, self._directory.participant_key
        )
        self._governance.require_publisher(writer, entry.namespace, entry.registry)
        await self._store.put(
            RevocationRecord.KIND,
            entry.credential_id,
            entry.to_data(),
            actor=writer.actor,
            at=self._clock.now(),
        )
        return dict(entry.model_dump(mode="json"))

    async def credential_revocation(
        self, credential_id: str, *, as_on: float | None = None
    ) -> dict[str, object] | None:
        """The revocation of ``credential_id`` (as of ``as_on``), or None if not revoked."""
        version = await self._store.get(RevocationRecord.KIND, credential_id, as_on=as_on)
        if version is None:
            return None
        return dict(RevocationRecord.from_data(version.data).model_dump(mode="json"))
