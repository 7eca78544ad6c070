"""Administering participant keys: direct publication and status changes.

Admins and namespace publishers (:mod:`iesnode.registry.governance`) write participant
keys without the ``on_subscribe`` challenge (``publish``), and revoke, suspend or
reinstate keys (``set_status``, the key lifecycle of IES issue 3). Revocation is final:
a revoked key can neither be reinstated nor registered again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from iesnode.errors import Forbidden, RequestRejected
from iesnode.interfaces import Clock
from iesnode.registry.governance import Governance
from iesnode.registry.participants import WITHDRAWN, ParticipantDirectory
from iesnode.registry.records import ParticipantRecord, ParticipantStatus
from iesnode.registry.write_requests import json_object, participant_from, status_change

__all__ = ["KeyAdministration"]

log = structlog.get_logger(__name__)


class KeyAdministration:
    """Handles ``publish`` and ``set_status`` for admins and namespace publishers."""

    def __init__(
        self, *, directory: ParticipantDirectory, governance: Governance, clock: Clock
    ) -> None:
        self._directory = directory
        self._governance = governance
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    async def publish(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """An admin or namespace publisher writes a participant key directly."""
        doc = json_object(body)
        raw_status = doc.pop("status", ParticipantStatus.SUBSCRIBED)
        try:
            status = ParticipantStatus(raw_status)
        except ValueError:
            known = ", ".join(s.value for s in ParticipantStatus)
            raise RequestRejected(
                "SCH_VALIDATION_FAILED", f"status must be one of {known}", path="status"
            ) from None
        record = participant_from(doc, status, self._now())
        writer = await self._governance.authenticate(
            body, authorization, self._directory.participant_key
        )
        self._governance.require_publisher(writer, record.namespace, record.registry)
        record = await self._directory.check_replacement(record)
        await self._directory.write(record, writer.actor)
        return record

    async def set_status(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """Revoke, suspend or reinstate a key; revocation is final."""
        doc = json_object(body)
        writer = await self._governance.authenticate(
            body, authorization, self._directory.participant_key
        )
        change = status_change(doc)
        sid, kid, status = change.subscriber_id, change.key_id, change.status
        if status not in (*WITHDRAWN, ParticipantStatus.SUBSCRIBED):
            raise RequestRejected(
                "SCH_VALIDATION_FAILED", f"cannot set status {status.value}", path="status"
            )
        record = await self._directory.lookup(sid, kid)
        if record is None:
            raise RequestRejected("REG_NOT_FOUND", f"no key {kid!r} of {sid!r}", path="key_id")
        self._governance.require_publisher(writer, record.namespace, record.registry)
        if record.status is ParticipantStatus.REVOKED and status is not record.status:
            raise Forbidden("REG_KEY_REVOKED", "a revoked key stays revoked", path="status")
        changed = record.model_copy(update={"status": status, "updated": self._now()})
        await self._directory.write(changed, writer.actor)
        log.info(
            "key_status_set",
            subscriber_id=sid,
            key_id=kid,
            status=status.value,
            reason=change.reason,
        )
        return changed
