"""Consent states: the statuses, the legal moves between them, expiry, and the stored record.

Follows ``research/trust-layer.md`` section 5.1 ("Lifecycle"), which merges the three
ReBIT state enums (section 5): ``REQUESTED -> APPROVED | REJECTED``,
``APPROVED -> ACTIVE`` (the consent VC is issued and a status-list index allocated),
``ACTIVE <-> PAUSED`` (suspension bit), ``ACTIVE | PAUSED -> REVOKED`` (revocation
bit, terminal) and any non-terminal state ``-> EXPIRED`` once ``validUntil`` has
passed. Expiry is applied when a consent is read, never stored
(:meth:`ConsentRecord.effective`).

Changing terms is a new artefact and the revocation of the old one (ReBIT: a signed
consent "cannot change"); :func:`check_replacement` says when that is allowed: the old
consent can still be revoked, the parties stay the same and the terms differ.

These are pure rules; :class:`iesnode.consent.lifecycle.ConsentLedger` applies them to
stored consents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

from iesnode.consent.artefact import ConsentArtefact, ConsentTerms
from iesnode.consent.chain import AuditEvent
from iesnode.consent.errors import ConsentError

__all__ = ["ConsentRecord", "ConsentStatus", "check_replacement", "check_transition"]


class ConsentStatus(StrEnum):
    """Where a consent is in its life."""

    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


_NEXT: Final[dict[ConsentStatus, frozenset[ConsentStatus]]] = {
    ConsentStatus.REQUESTED: frozenset({ConsentStatus.APPROVED, ConsentStatus.REJECTED}),
    ConsentStatus.APPROVED: frozenset({ConsentStatus.ACTIVE}),
    ConsentStatus.ACTIVE: frozenset({ConsentStatus.PAUSED, ConsentStatus.REVOKED}),
    ConsentStatus.PAUSED: frozenset({ConsentStatus.ACTIVE, ConsentStatus.REVOKED}),
    ConsentStatus.REJECTED: frozenset(),
    ConsentStatus.REVOKED: frozenset(),
    ConsentStatus.EXPIRED: frozenset(),
}
_TERMINAL: Final = frozenset({ConsentStatus.REJECTED, ConsentStatus.REVOKED, ConsentStatus.EXPIRED})


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class ConsentRecord(BaseModel):
    """A consent artefact with its status, as one stored version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artefact: ConsentArtefact
    status: ConsentStatus
    changed_at: Annotated[AwareDatetime, AfterValidator(_utc)]
    actor: str
    reason: str | None = None
    status_index: int | None = None
    replaces: str | None = None
    replaced_by: str | None = None

    @property
    def consent_id(self) -> str:
        """The artefact id."""
        return self.artefact.id

    def effective(self, at: datetime) -> ConsentRecord:
        """This record as seen at ``at``: a non-terminal consent past ``validUntil`` is EXPIRED."""
        if self.status not in _TERMINAL and at >= self.artefact.validity.valid_until:
            return self.model_copy(update={"status": ConsentStatus.EXPIRED})
        return self


def check_transition(
    current: ConsentRecord,
    target: ConsentStatus,
    event: AuditEvent,
    source: ConsentStatus | None = None,
) -> None:
    """Refuse ``current -> target`` unless it is legal (and ``current`` is ``source``, if given).

    Raises :class:`ConsentError` ``CONSENT_ILLEGAL_TRANSITION`` naming both states and ``event``.
    """
    if target not in _NEXT[current.status] or source not in (None, current.status):
        raise ConsentError(
            "CONSENT_ILLEGAL_TRANSITION",
            f"a {current.status} consent cannot become {target} ({event})",
            consent_id=current.consent_id,
        )


def check_replacement(old: ConsentRecord, new_terms: ConsentTerms) -> None:
    """Refuse replacing ``old`` by ``new_terms`` unless it is live, same parties, new terms.

    Raises :class:`ConsentError` ``CONSENT_ILLEGAL_TRANSITION`` (``old`` is not ACTIVE or
    PAUSED), ``CONSENT_PARTIES_CHANGED`` or ``CONSENT_TERMS_UNCHANGED``.
    """
    old_id = old.consent_id
    if ConsentStatus.REVOKED not in _NEXT[old.status]:
        raise ConsentError(
            "CONSENT_ILLEGAL_TRANSITION",
            f"only an ACTIVE or PAUSED consent can be replaced, this one is {old.status}",
            consent_id=old_id,
        )
    for field in ("consumer", "data_provider", "data_consumer"):
        if getattr(new_terms, field) != getattr(old.artefact, field):
            raise ConsentError(
                "CONSENT_PARTIES_CHANGED",
                f"{field} cannot change on replacement; request a new consent",
                consent_id=old_id,
            )
    if new_terms == old.artefact.terms():
        raise ConsentError(
            "CONSENT_TERMS_UNCHANGED", "the new terms equal the old", consent_id=old_id
        )
