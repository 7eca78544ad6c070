"""The consent artefact: its terms, validation and the unsigned ConsentCredential."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from iesnode.consent.artefact import (
    ConsentArtefact,
    ConsentTerms,
    DataCategory,
    MeterDataProfile,
)

CONSUMER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
PROVIDER = "did:web:discom.example"
REQUESTER = "did:web:tsp.example"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_terms(**changes: Any) -> ConsentTerms:
    """Valid smart-meter consent terms (by alias, as a peer would send them), with ``changes``."""
    data: dict[str, Any] = {
        "consumer": CONSUMER,
        "dataProvider": PROVIDER,
        "dataConsumer": REQUESTER,
        "purpose": {"code": "EE-AUDIT", "refUri": "https://purpose.example/EE-AUDIT"},
        "dataCategories": [
            {"profile": "INTERVAL", "readings": ["1.0.1.8.0.255", "1.0.2.8.0.255"]},
            {"profile": "MONTHLY"},
        ],
        "dataRange": {"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        "validity": {"validFrom": "2026-01-01T00:00:00Z", "validUntil": "2026-07-01T00:00:00Z"},
        "frequency": {"count": 2, "period": "P1D"},
        "dataLife": "P30D",
        "mode": "VIEW",
        "filters": {"minAggregationInterval": "PT1H"},
        "meters": ["DISCOM-SM-2025-654321", "DISCOM-SM-2025-654322"],
    }
    data.update(changes)
    return ConsentTerms.model_validate(data)


def _floats(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_credential_is_an_unsigned_vc2_consent_credential() -> None:
    """to_credential gives the VC 2.0 shell with the consumer as subject and no proof."""
    artefact = ConsentArtefact.from_terms(make_terms(), "urn:uuid:1")
    vc = artefact.to_credential("did:web:cm.example")
    assert vc["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert vc["type"] == ["VerifiableCredential", "ConsentCredential"]
    assert (vc["id"], vc["issuer"]) == ("urn:uuid:1", "did:web:cm.example")
    assert vc["credentialSubject"]["id"] == CONSUMER
    assert vc["credentialSubject"]["dataRange"] == {
        "from": "2025-01-01T00:00:00Z",
        "to": "2026-01-01T00:00:00Z",
    }
    assert "proof" not in vc


def test_credential_times_are_utc_strings_with_zone() -> None:
    """validFrom/validUntil are timezone-aware ISO strings, converted to UTC."""
    terms = make_terms(
        validity={"validFrom": "2026-01-01T05:30:00+05:30", "validUntil": "2026-02-01T00:00:00Z"}
    )
    vc = ConsentArtefact.from_terms(terms).to_credential("did:web:cm.example")
    assert (vc["validFrom"], vc["validUntil"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")


def test_credential_has_no_floats() -> None:
    """No number in the credential is a float, so its JCS bytes are stable."""
    vc = ConsentArtefact.from_terms(make_terms()).to_credential("did:web:cm.example")
    assert _floats(vc) == []


def test_credential_status_entries_are_carried() -> None:
    """Status entries given by the status-list service end up in credentialStatus."""
    entries = [{"type": "BitstringStatusListEntry", "statusPurpose": p} for p in ("a", "b")]
    vc = ConsentArtefact.from_terms(make_terms()).to_credential(
        "did:web:x", credential_status=entries
    )
    assert vc["credentialStatus"] == entries


def test_credential_reads_back_to_the_same_artefact() -> None:
    """from_credential(to_credential(a)) == a."""
    artefact = ConsentArtefact.from_terms(make_terms())
    assert ConsentArtefact.from_credential(artefact.to_credential("did:web:x")) == artefact


def test_from_credential_refuses_another_type() -> None:
    """A credential that is not a ConsentCredential is refused."""
    vc = ConsentArtefact.from_terms(make_terms()).to_credential("did:web:x")
    vc["type"] = ["VerifiableCredential"]
    with pytest.raises(ValueError, match="ConsentCredential"):
        ConsentArtefact.from_credential(vc)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"validity": {"validFrom": "2026-01-01T00:00:00", "validUntil": "2026-02-01T00:00:00"}},
            "validity",
        ),
        (
            {
                "validity": {
                    "validFrom": "2026-02-01T00:00:00Z",
                    "validUntil": "2026-01-01T00:00:00Z",
                }
            },
            "validity",
        ),
        (
            {"dataRange": {"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}},
            "dataRange",
        ),
        ({"meters": ["M1", "M1"]}, "meters"),
        ({"meters": []}, "meters"),
        ({"frequency": {"count": 0, "period": "P1D"}}, "frequency"),
        ({"frequency": {"count": 1, "period": "P0D"}}, "frequency"),
        ({"dataLife": "30 days"}, "dataLife"),
        ({"consumer": "consumer-42"}, "consumer"),
        ({"mode": "QUERY"}, "mode"),
        ({"purpose": {"code": "X", "refUri": "ftp://purpose.example"}}, "purpose"),
        ({"dataCategories": []}, "dataCategories"),
    ],
)
def test_invalid_terms_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    """Naive times, reversed windows, duplicates, zero budgets and unknown modes are refused."""
    with pytest.raises(ValidationError) as info:
        make_terms(**change)
    assert info.value.errors()[0]["loc"][0] == field


def test_artefact_is_immutable() -> None:
    """Terms cannot be changed in place (a change is a new artefact)."""
    artefact = ConsentArtefact.from_terms(make_terms())
    with pytest.raises(ValidationError):
        setattr(artefact, "mode", "STORE")  # noqa: B010 (the assignment mypy would refuse)


def test_fresh_ids_are_urn_uuids() -> None:
    """Two artefacts of the same terms get distinct urn:uuid ids; terms() drops the id."""
    first, second = (ConsentArtefact.from_terms(make_terms()) for _ in range(2))
    assert first.id.startswith("urn:uuid:")
    assert first.id != second.id
    assert first.terms() == second.terms() == make_terms()


def test_category_with_no_readings_grants_every_reading() -> None:
    """A profile granted without readings covers any reading of it, but not other profiles."""
    grant = DataCategory(profile=MeterDataProfile.MONTHLY)
    assert grant.covers(DataCategory(profile=MeterDataProfile.MONTHLY, readings=("kWh",)))
    assert not grant.covers(DataCategory(profile=MeterDataProfile.DAILY))


def test_category_with_readings_grants_only_those() -> None:
    """A grant of some readings does not cover other readings, or the whole profile."""
    grant = DataCategory(profile=MeterDataProfile.INTERVAL, readings=("a", "b"))
    assert grant.covers(DataCategory(profile=MeterDataProfile.INTERVAL, readings=("b",)))
    assert not grant.covers(DataCategory(profile=MeterDataProfile.INTERVAL, readings=("c",)))
    assert not grant.covers(DataCategory(profile=MeterDataProfile.INTERVAL))


_token = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-.", min_size=1, max_size=20)


@given(
    count=st.integers(min_value=1, max_value=10**9),
    days=st.integers(min_value=1, max_value=3650),
    meters=st.lists(_token, min_size=1, max_size=5, unique=True),
    text=st.text(max_size=50),
)
def test_jcs_bytes_read_back_to_the_same_artefact(
    count: int, days: int, meters: list[str], text: str
) -> None:
    """The JCS bytes of any credential parse back to the artefact they came from."""
    terms = make_terms(
        frequency={"count": count, "period": f"P{days}D"},
        meters=meters,
        purpose={"code": "P1", "refUri": "https://p.example/1", "text": text},
    )
    artefact = ConsentArtefact.from_terms(terms)
    canonical = rfc8785.dumps(artefact.to_credential("did:web:cm.example"))
    assert ConsentArtefact.from_credential(json.loads(canonical)) == artefact
