"""Enforcement: is one concrete meter-data request within an active consent?

Follows ``research/trust-layer.md`` section 5.1 ("Enforcement on each data fetch",
steps 3-5) after the VC proof and status bits have been checked (steps 1-2, by the
credential verifier). :func:`decide` is pure: the request must be made under an
ACTIVE consent inside its validity, by the same consumer, requester and purpose, in
the granted mode, for covered meters and granted data categories, over a range inside
the consented one, no finer than the minimum aggregation interval, and with the
frequency budget (fetches per period, counted from the audit log) not exhausted.

Every refusal has its own ``CONSENT_*`` code and a reason naming the field; reasons
never repeat identifiers such as DIDs or meter numbers, so they can be logged and
sent back to the requester. :func:`enforce` adds the side effects: it reads the
consent and use count, decides, and appends ``FETCH_ALLOWED``/``FETCH_DENIED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from iesnode.consent.artefact import (
    ConsentArtefact,
    ConsentMode,
    DataCategory,
    DataRange,
    duration_seconds,
)
from iesnode.consent.audit import AuditEvent, AuditLog
from iesnode.consent.errors import ConsentError
from iesnode.consent.lifecycle import ConsentLedger, ConsentRecord, ConsentStatus

__all__ = ["DataRequest", "Decision", "decide", "enforce", "usage_window_start"]

_STATUS_CODES = {
    ConsentStatus.PAUSED: "CONSENT_PAUSED",
    ConsentStatus.REVOKED: "CONSENT_REVOKED",
    ConsentStatus.EXPIRED: "CONSENT_EXPIRED",
}


def _positive_duration(value: str) -> str:
    text = value.strip().upper()
    if duration_seconds(text) <= 0:
        raise ValueError("granularity must be longer than zero")
    return text


class DataRequest(BaseModel):
    """One concrete request for meter data, as the data provider sees it."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    consumer: str
    requester: str
    purpose: str
    meters: tuple[str, ...] = Field(min_length=1)
    data_categories: tuple[DataCategory, ...] = Field(min_length=1)
    data_range: DataRange
    granularity: Annotated[str, AfterValidator(_positive_duration)]
    mode: ConsentMode


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, or refused with a stable ``code`` and a ``reason`` naming the field."""

    allowed: bool
    reason: str | None = None
    code: str | None = None


_ALLOW = Decision(allowed=True)


def _deny(code: str, reason: str) -> Decision:
    return Decision(allowed=False, reason=reason, code=code)


def usage_window_start(artefact: ConsentArtefact, at: datetime) -> datetime:
    """Start of the frequency window ending at ``at`` (``at`` minus the period)."""
    return at - timedelta(seconds=duration_seconds(artefact.frequency.period))


def _status(consent: ConsentRecord, at: datetime) -> Decision | None:
    status = consent.effective(at).status
    validity = consent.artefact.validity
    if status is not ConsentStatus.ACTIVE:
        code = _STATUS_CODES.get(status, "CONSENT_NOT_ACTIVE")
        return _deny(code, f"status: the consent is {status}, not ACTIVE")
    if at < validity.valid_from:
        return _deny("CONSENT_NOT_YET_VALID", "validFrom: the consent is not valid yet")
    return None


def _parties(request: DataRequest, artefact: ConsentArtefact) -> Decision | None:
    if request.consumer != artefact.consumer:
        return _deny("CONSENT_CONSUMER_MISMATCH", "consumer: not the consent's consumer")
    if request.requester != artefact.data_consumer:
        return _deny("CONSENT_REQUESTER_MISMATCH", "requester: not the consent's dataConsumer")
    if request.purpose != artefact.purpose.code:
        return _deny("CONSENT_PURPOSE_MISMATCH", "purpose: not the consent's purpose code")
    if request.mode is not artefact.mode:
        return _deny(
            "CONSENT_MODE_NOT_GRANTED", f"mode: {request.mode} asked, {artefact.mode} granted"
        )
    return None


def _scope(request: DataRequest, artefact: ConsentArtefact) -> Decision | None:
    covered = set(artefact.meters)
    for index, meter in enumerate(request.meters):
        if meter not in covered:
            return _deny("CONSENT_METER_NOT_COVERED", f"meters[{index}]: not covered")
    for index, category in enumerate(request.data_categories):
        if not any(grant.covers(category) for grant in artefact.data_categories):
            return _deny(
                "CONSENT_CATEGORY_NOT_GRANTED",
                f"dataCategories[{index}]: {category.profile} (with these readings) not granted",
            )
    if not artefact.data_range.contains(request.data_range):
        return _deny(
            "CONSENT_RANGE_OUTSIDE",
            "dataRange: the requested range is not inside the consented dataRange",
        )
    minimum = artefact.filters.min_aggregation_interval
    if minimum is not None and duration_seconds(request.granularity) < duration_seconds(minimum):
        return _deny(
            "CONSENT_GRANULARITY_TOO_FINE",
            f"granularity: {request.granularity} is finer than minAggregationInterval {minimum}",
        )
    return None


def decide(
    request: DataRequest, consent: ConsentRecord, usage_count: int, at: datetime
) -> Decision:
    """Whether ``request`` may be served at ``at`` under ``consent``.

    ``usage_count`` is the number of fetches already allowed in the window starting
    at :func:`usage_window_start`; the first failing check decides the refusal.
    """
    artefact = consent.artefact
    refusal = _status(consent, at) or _parties(request, artefact) or _scope(request, artefact)
    if refusal is not None:
        return refusal
    budget = artefact.frequency
    if usage_count >= budget.count:
        return _deny(
            "CONSENT_FREQUENCY_EXHAUSTED",
            f"frequency: {usage_count} of {budget.count} fetches per {budget.period} used",
        )
    return _ALLOW


async def enforce(
    ledger: ConsentLedger, audit: AuditLog, consent_id: str, request: DataRequest, at: datetime
) -> Decision:
    """Decide ``request`` under the stored consent and append the outcome to the audit log."""
    try:
        consent = await ledger.get(consent_id, at)
    except ConsentError as exc:
        decision = _deny(exc.code, "consentId: no such consent")
    else:
        since = usage_window_start(consent.artefact, at)
        decision = decide(request, consent, await audit.usage_count(consent_id, since), at)
    if decision.allowed:
        await audit.append(consent_id, AuditEvent.FETCH_ALLOWED, {"requester": request.requester})
    else:
        details: dict[str, JsonValue] = {
            "requester": request.requester,
            "code": decision.code,
            "reason": decision.reason,
        }
        await audit.append(consent_id, AuditEvent.FETCH_DENIED, details)
    return decision
