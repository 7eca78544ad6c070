"""The consent ledger: requests, transitions and reads of stored consents.

Applies the lifecycle of ``research/trust-layer.md`` section 5.1 ("Lifecycle"); the
statuses, the legal moves between them and expiry are in :mod:`iesnode.consent.transitions`
(re-exported here). A move first touches the consent's status-list entry (``StatusBits``:
an index allocated on ACTIVE, the suspension bit set on pause and cleared on resume, the
revocation bit set on REVOKED), then stores and audits the new version.

Changing terms is a new artefact and the revocation of the old one (ReBIT: a signed
consent "cannot change"): :meth:`ConsentLedger.replace` records the new artefact as
requested, approved and active (the caller is the party agreeing to the new terms)
and then revokes the old one, linking the two both ways.

Records live behind the ``RecordStore`` seam, one key per consent; every change is a
new version, so ``get(id, at)`` also answers as of a past time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import structlog
from pydantic import JsonValue

from iesnode.consent.artefact import ConsentArtefact, ConsentTerms
from iesnode.consent.audit import AuditEvent, AuditLog
from iesnode.consent.errors import ConsentError
from iesnode.consent.transitions import (
    ConsentRecord,
    ConsentStatus,
    check_replacement,
    check_transition,
)
from iesnode.interfaces import Clock, RecordStore

__all__ = ["ConsentLedger", "ConsentRecord", "ConsentStatus", "StatusBits"]

log = structlog.get_logger(__name__)

_KIND: Final = "consent"


class StatusBits(Protocol):
    """The status-list entries of consent VCs (one index per consent, both purposes)."""

    async def allocate(self) -> int:
        """Reserve a fresh index for a newly issued consent VC."""
        ...

    async def suspend(self, index: int) -> None:
        """Set the suspension bit (PAUSED)."""
        ...

    async def resume(self, index: int) -> None:
        """Clear the suspension bit (ACTIVE again)."""
        ...

    async def revoke(self, index: int) -> None:
        """Set the revocation bit (REVOKED, for good)."""
        ...


class ConsentLedger:
    """Requests, transitions and reads consents; every change is validated and audited."""

    def __init__(
        self,
        store: RecordStore,
        status_bits: StatusBits,
        clock: Clock,
        *,
        audit: AuditLog | None = None,
        actor: str = "consent-manager",
    ) -> None:
        self._store = store
        self._bits = status_bits
        self._clock = clock
        self._audit = audit
        self._actor = actor
        self._lock = asyncio.Lock()

    def _now(self) -> tuple[float, datetime]:
        now = self._clock.now()
        return now, datetime.fromtimestamp(now, UTC)

    async def get(self, consent_id: str, at: datetime | None = None) -> ConsentRecord:
        """The consent as of ``at`` (default now), expiry applied; ``CONSENT_NOT_FOUND`` if none."""
        version = await self._store.get(
            _KIND, consent_id, as_on=None if at is None else at.timestamp()
        )
        if version is None:
            raise ConsentError("CONSENT_NOT_FOUND", "no such consent", consent_id=consent_id)
        return ConsentRecord.model_validate_json(version.data).effective(at or self._now()[1])

    async def request(
        self, terms: ConsentTerms, *, consent_id: str | None = None, actor: str | None = None
    ) -> ConsentRecord:
        """Record a new consent request (REQUESTED) for ``terms``; return it."""
        artefact = ConsentArtefact.from_terms(terms, consent_id)
        async with self._lock:
            if await self._store.get(_KIND, artefact.id) is not None:
                raise ConsentError(
                    "CONSENT_EXISTS", "a consent with this id exists", consent_id=artefact.id
                )
            now, at = self._now()
            record = ConsentRecord(
                artefact=artefact,
                status=ConsentStatus.REQUESTED,
                changed_at=at,
                actor=actor or self._actor,
            )
            await self._write(record, now, AuditEvent.REQUESTED)
        return record

    async def approve(self, consent_id: str, *, actor: str | None = None) -> ConsentRecord:
        """REQUESTED -> APPROVED."""
        return await self._move(consent_id, ConsentStatus.APPROVED, AuditEvent.APPROVED, actor)

    async def reject(
        self, consent_id: str, *, reason: str | None = None, actor: str | None = None
    ) -> ConsentRecord:
        """REQUESTED -> REJECTED (terminal)."""
        return await self._move(
            consent_id, ConsentStatus.REJECTED, AuditEvent.REJECTED, actor, reason=reason
        )

    async def activate(self, consent_id: str, *, actor: str | None = None) -> ConsentRecord:
        """APPROVED -> ACTIVE, allocating the consent's status-list index."""
        return await self._move(
            consent_id,
            ConsentStatus.ACTIVE,
            AuditEvent.ACTIVATED,
            actor,
            allocate=True,
            source=ConsentStatus.APPROVED,
        )

    async def pause(
        self, consent_id: str, *, reason: str | None = None, actor: str | None = None
    ) -> ConsentRecord:
        """ACTIVE -> PAUSED; sets the suspension bit first."""
        return await self._move(
            consent_id,
            ConsentStatus.PAUSED,
            AuditEvent.PAUSED,
            actor,
            reason=reason,
            bits=self._bits.suspend,
            source=ConsentStatus.ACTIVE,
        )

    async def resume(self, consent_id: str, *, actor: str | None = None) -> ConsentRecord:
        """PAUSED -> ACTIVE; clears the suspension bit first."""
        return await self._move(
            consent_id,
            ConsentStatus.ACTIVE,
            AuditEvent.RESUMED,
            actor,
            bits=self._bits.resume,
            source=ConsentStatus.PAUSED,
        )

    async def revoke(
        self, consent_id: str, *, reason: str | None = None, actor: str | None = None
    ) -> ConsentRecord:
        """ACTIVE | PAUSED -> REVOKED (terminal); sets the revocation bit first."""
        return await self._move(
            consent_id,
            ConsentStatus.REVOKED,
            AuditEvent.REVOKED,
            actor,
            reason=reason,
            bits=self._bits.revoke,
        )

    async def replace(
        self, old_id: str, new_terms: ConsentTerms, *, actor: str | None = None
    ) -> ConsentRecord:
        """New terms for a live consent: a new ACTIVE artefact, and the old one REVOKED."""
        old = await self.get(old_id)
        check_replacement(old, new_terms)
        new = await self.request(new_terms, actor=actor)
        await self._move(new.consent_id, ConsentStatus.APPROVED, AuditEvent.APPROVED, actor)
        new = await self._move(
            new.consent_id, ConsentStatus.ACTIVE, AuditEvent.ACTIVATED, actor,
            allocate=True, source=ConsentStatus.APPROVED, extra={"replaces": old_id},
        )  # fmt: skip
        await self._move(
            old_id, ConsentStatus.REVOKED, AuditEvent.REVOKED, actor,
            reason=f"replaced by {new.consent_id}", bits=self._bits.revoke,
            extra={"replaced_by": new.consent_id},
        )  # fmt: skip
        return new

    async def _move(
        self,
        consent_id: str,
        target: ConsentStatus,
        event: AuditEvent,
        actor: str | None,
        *,
        reason: str | None = None,
        allocate: bool = False,
        bits: Callable[[int], Awaitable[None]] | None = None,
        source: ConsentStatus | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ConsentRecord:
        """Check ``current -> target`` is legal, flip the status bit, then store and audit."""
        async with self._lock:
            now, at = self._now()
            current = await self.get(consent_id)  # the latest version, expiry applied now
            check_transition(current, target, event, source)
            index = await self._bits.allocate() if allocate else current.status_index
            if bits is not None:
                assert index is not None, "a live consent always has a status index"
                await bits(index)
            record = current.model_copy(
                update={
                    "status": target,
                    "changed_at": at,
                    "actor": actor or self._actor,
                    "reason": reason,
                    "status_index": index,
                    **(extra or {}),
                }
            )
            await self._write(record, now, event)
            return record

    async def _write(self, record: ConsentRecord, now: float, event: AuditEvent) -> None:
        data = record.model_dump_json().encode()
        await self._store.put(_KIND, record.consent_id, data, actor=record.actor, at=now)
        log.info("consent_transition", consent_id=record.consent_id, status=record.status.value)
        if self._audit is not None:
            details: dict[str, JsonValue] = {"actor": record.actor, "status": record.status.value}
            for name in ("reason", "status_index", "replaces", "replaced_by"):
                if (value := getattr(record, name)) is not None:
                    details[name] = value
            await self._audit.append(record.consent_id, event, details)
