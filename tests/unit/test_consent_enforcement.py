"""Enforcement: a data request is served only within an active consent and its budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iesnode.consent.artefact import ConsentArtefact
from iesnode.consent.audit import AuditEvent
from iesnode.consent.enforcement import DataRequest, Decision, decide, enforce, usage_window_start
from iesnode.consent.lifecycle import ConsentRecord, ConsentStatus
from tests.unit.test_consent_artefact import CONSUMER, REQUESTER, T0, make_terms
from tests.unit.test_consent_lifecycle import Harness

AT = T0 + timedelta(days=10)


def make_request(**changes: Any) -> DataRequest:
    """A request inside make_terms(), with ``changes``."""
    data: dict[str, Any] = {
        "consumer": CONSUMER,
        "requester": REQUESTER,
        "purpose": "EE-AUDIT",
        "meters": ["DISCOM-SM-2025-654321"],
        "dataCategories": [{"profile": "INTERVAL", "readings": ["1.0.1.8.0.255"]}],
        "dataRange": {"from": "2025-03-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"},
        "granularity": "PT1H",
        "mode": "VIEW",
    }
    data.update(changes)
    return DataRequest.model_validate(data)


def make_consent(status: ConsentStatus = ConsentStatus.ACTIVE, **terms: Any) -> ConsentRecord:
    """A stored consent record of make_terms(**terms) in ``status``."""
    return ConsentRecord(
        artefact=ConsentArtefact.from_terms(make_terms(**terms)),
        status=status,
        changed_at=T0,
        actor="test",
        status_index=1,
    )


def test_request_within_the_consent_is_allowed() -> None:
    """A request matching every term of an active consent is allowed."""
    assert decide(make_request(), make_consent(), 0, AT) == Decision(allowed=True)


def test_coarser_granularity_and_whole_range_are_allowed() -> None:
    """Daily data over the whole consented range is within a PT1H minimum."""
    request = make_request(
        granularity="P1D",
        dataRange={"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        dataCategories=[{"profile": "MONTHLY", "readings": ["kWh"]}],
    )
    assert decide(request, make_consent(), 1, AT).allowed


REFUSALS: list[tuple[str, ConsentRecord, DataRequest, datetime, str]] = [
    ("CONSENT_PAUSED", make_consent(ConsentStatus.PAUSED), make_request(), AT, "status"),
    ("CONSENT_REVOKED", make_consent(ConsentStatus.REVOKED), make_request(), AT, "status"),
    ("CONSENT_NOT_ACTIVE", make_consent(ConsentStatus.APPROVED), make_request(), AT, "status"),
    ("CONSENT_EXPIRED", make_consent(), make_request(), T0 + timedelta(days=200), "status"),
    ("CONSENT_NOT_YET_VALID", make_consent(), make_request(), T0 - timedelta(days=1), "validFrom"),
    (
        "CONSENT_CONSUMER_MISMATCH",
        make_consent(),
        make_request(consumer="did:key:z6MkOther"),
        AT,
        "consumer",
    ),
    (
        "CONSENT_REQUESTER_MISMATCH",
        make_consent(),
        make_request(requester="did:web:other.example"),
        AT,
        "requester",
    ),
    ("CONSENT_PURPOSE_MISMATCH", make_consent(), make_request(purpose="MARKETING"), AT, "purpose"),
    ("CONSENT_MODE_NOT_GRANTED", make_consent(), make_request(mode="STORE"), AT, "mode"),
    (
        "CONSENT_METER_NOT_COVERED",
        make_consent(),
        make_request(meters=["DISCOM-SM-2025-654321", "OTHER"]),
        AT,
        "meters[1]",
    ),
    (
        "CONSENT_CATEGORY_NOT_GRANTED",
        make_consent(),
        make_request(dataCategories=[{"profile": "EVENT"}]),
        AT,
        "dataCategories[0]",
    ),
    (
        "CONSENT_CATEGORY_NOT_GRANTED",
        make_consent(),
        make_request(dataCategories=[{"profile": "INTERVAL", "readings": ["1.0.3.8.0.255"]}]),
        AT,
        "dataCategories[0]",
    ),
    (
        "CONSENT_RANGE_OUTSIDE",
        make_consent(),
        make_request(dataRange={"from": "2025-12-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}),
        AT,
        "dataRange",
    ),
    (
        "CONSENT_GRANULARITY_TOO_FINE",
        make_consent(),
        make_request(granularity="PT15M"),
        AT,
        "granularity",
    ),
]


@pytest.mark.parametrize(
    ("code", "consent", "request_", "at", "field"),
    REFUSALS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(REFUSALS)],
)
def test_refusal_has_its_code_and_names_the_field(
    code: str, consent: ConsentRecord, request_: DataRequest, at: datetime, field: str
) -> None:
    """Each way out of the consent is refused with its own code and the field in the reason."""
    decision = decide(request_, consent, 0, at)
    assert not decision.allowed
    assert decision.code == code
    assert decision.reason is not None
    assert decision.reason.startswith(field)


def test_exhausted_frequency_budget_is_refused() -> None:
    """With count fetches already used in the period, one more is refused."""
    decision = decide(make_request(), make_consent(), 2, AT)
    assert decision.code == "CONSENT_FREQUENCY_EXHAUSTED"
    assert decision.reason == "frequency: 2 of 2 fetches per P1D used"


def test_refusal_reasons_carry_no_identifiers() -> None:
    """Reasons name fields, never the consumer DID or meter numbers."""
    decision = decide(make_request(meters=["SECRET-METER"]), make_consent(), 0, AT)
    assert decision.reason is not None
    assert "SECRET-METER" not in decision.reason
    decision = decide(make_request(consumer="did:key:z6MkSecret"), make_consent(), 0, AT)
    assert decision.reason is not None
    assert "z6MkSecret" not in decision.reason


def test_usage_window_is_one_period_back() -> None:
    """The frequency window of a P1D budget starts one day before the decision time."""
    artefact = make_consent().artefact
    assert usage_window_start(artefact, AT) == AT - timedelta(days=1)


@pytest.fixture
def harness() -> Harness:
    """A fresh ledger and audit log at T0."""
    return Harness()


async def _active(harness: Harness) -> str:
    record = await harness.at_status(ConsentStatus.ACTIVE)
    harness.clock.advance(timedelta(days=10).total_seconds())
    return record.consent_id


def _now(harness: Harness) -> datetime:
    return datetime.fromtimestamp(harness.clock.now(), UTC)


async def test_frequency_budget_counts_allowed_fetches_in_the_audit_log(harness: Harness) -> None:
    """Two fetches per day pass, the third is refused, and a day later fetches pass again."""
    cid = await _active(harness)
    h = harness
    outcomes = []
    for _ in range(3):
        outcomes.append(await enforce(h.ledger, h.audit, cid, make_request(), _now(h)))
        h.clock.advance(60)
    assert [d.allowed for d in outcomes] == [True, True, False]
    assert outcomes[2].code == "CONSENT_FREQUENCY_EXHAUSTED"
    h.clock.advance(timedelta(days=1).total_seconds())
    assert (await enforce(h.ledger, h.audit, cid, make_request(), _now(h))).allowed


async def test_refused_fetches_do_not_use_the_budget(harness: Harness) -> None:
    """FETCH_DENIED records are logged but not counted as uses."""
    cid = await _active(harness)
    h = harness
    for _ in range(3):
        await enforce(h.ledger, h.audit, cid, make_request(purpose="OTHER"), _now(h))
    assert await h.audit.usage_count(cid, _now(h) - timedelta(days=1)) == 0
    assert (await enforce(h.ledger, h.audit, cid, make_request(), _now(h))).allowed


async def test_fetch_after_revocation_is_refused_and_logged(harness: Harness) -> None:
    """A fetch served under an active consent is refused once it is revoked, and both are logged."""
    cid = await _active(harness)
    h = harness
    assert (await enforce(h.ledger, h.audit, cid, make_request(), _now(h))).allowed
    await h.ledger.revoke(cid, reason="consumer withdrew")
    refused = await enforce(h.ledger, h.audit, cid, make_request(), _now(h))
    assert refused.code == "CONSENT_REVOKED"
    last = (await h.audit.records_for(cid))[-1]
    assert last.event is AuditEvent.FETCH_DENIED
    assert last.details["code"] == "CONSENT_REVOKED"


async def test_fetch_under_an_unknown_consent_is_refused(harness: Harness) -> None:
    """No stored consent: CONSENT_NOT_FOUND, and the refusal is logged."""
    refused = await enforce(harness.ledger, harness.audit, "urn:uuid:x", make_request(), AT)
    assert refused.code == "CONSENT_NOT_FOUND"
    assert [r.event for r in await harness.audit.records_for("urn:uuid:x")] == [
        AuditEvent.FETCH_DENIED
    ]
