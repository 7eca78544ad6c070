"""VCDM 2.0 validation: every refusal with its step and path; the IES example credentials."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.credentials.contexts import (
    ALLOWED_CONTEXTS,
    CREDENTIALS_V2,
    IES_CONTEXTS,
    UNDEFINED_TERMS_V2,
)
from iesnode.credentials.errors import CredentialError
from iesnode.credentials.model import (
    check_validity,
    issuer_id,
    parse_credential,
    parse_date_time_stamp,
    validate_credential,
    validity_window,
)

IES_SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared/upstream/ies-schemas"
EC_CONTEXT = (
    "https://india-energy-stack.github.io/ies-accelerator/schemas/"
    "ElectricityCredential/v1.2/context.jsonld"
)

BASE: dict[str, Any] = {
    "@context": [CREDENTIALS_V2, EC_CONTEXT],
    "id": "urn:uuid:0b1f7c3e-1111-4a3b-9c1d-000000000001",
    "type": ["VerifiableCredential", "ElectricityCredential"],
    "issuer": {"id": "did:web:discom.example", "name": "Example DISCOM"},
    "validFrom": "2026-01-01T00:00:00+05:30",
    "validUntil": "2027-01-01T00:00:00+05:30",
    "credentialSubject": {
        "id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "consumptionProfiles": [{"sanctionedLoad": {"value": 5, "unit": "kW"}}],
        "tariff": {"amount": "12.50", "currency": "INR"},
    },
    "credentialStatus": {
        "id": "https://discom.example/status/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://discom.example/status/1",
    },
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def _refusal(doc: object) -> tuple[str, str | None]:
    with pytest.raises(CredentialError) as info:
        validate_credential(doc)
    return info.value.step, info.value.path


def test_valid_credential_passes() -> None:
    """The reference credential passes every check."""
    validate_credential(_doc())


def test_minimal_credential_passes() -> None:
    """Only @context, type, issuer and credentialSubject are required."""
    validate_credential(
        {
            "@context": [CREDENTIALS_V2],
            "type": "VerifiableCredential",
            "issuer": "https://issuer.example",
            "credentialSubject": {"name": "x"},
        }
    )


@pytest.mark.parametrize("doc", [[], "text", 3, None])
def test_non_object_is_parse_error(doc: object) -> None:
    """Anything but a JSON object fails at step parse."""
    assert _refusal(doc) == ("parse", "$")


@pytest.mark.parametrize(
    ("contexts", "path"),
    [
        (None, "@context"),
        (CREDENTIALS_V2, "@context"),
        ([], "@context"),
        (["https://www.w3.org/2018/credentials/v1"], "@context[0]"),
        ([EC_CONTEXT, CREDENTIALS_V2], "@context[0]"),
        ([CREDENTIALS_V2, "https://evil.example/context.jsonld"], "@context[1]"),
        ([CREDENTIALS_V2, EC_CONTEXT, {"@vocab": "https://evil.example#"}], "@context[2]"),
    ],
)
def test_context_refusals(contexts: object, path: str) -> None:
    """Missing, non-list, wrong first, unknown or inline contexts fail at step context."""
    doc = _doc()
    if contexts is None:
        del doc["@context"]
    else:
        doc["@context"] = contexts
    assert _refusal(doc) == ("context", path)


def test_unknown_context_reason_names_it() -> None:
    """The reason quotes the unknown context URL."""
    doc = _doc(**{"@context": [CREDENTIALS_V2, "https://evil.example/c"]})
    with pytest.raises(
        CredentialError, match=re.escape("unknown context 'https://evil.example/c'")
    ):
        validate_credential(doc)


def test_extra_allowed_contexts() -> None:
    """A caller may widen the allow-list (e.g. for the W3C examples context)."""
    doc = _doc(**{"@context": [CREDENTIALS_V2, "https://www.w3.org/ns/credentials/examples/v2"]})
    assert _refusal(doc)[0] == "context"
    widened = ALLOWED_CONTEXTS | {"https://www.w3.org/ns/credentials/examples/v2"}
    validate_credential(doc, allowed_contexts=widened)


def test_allow_list_contents() -> None:
    """The allow-list holds the v2 base, undefined-terms and every IES credential family."""
    assert {CREDENTIALS_V2, UNDEFINED_TERMS_V2, EC_CONTEXT} <= ALLOWED_CONTEXTS
    assert len(IES_CONTEXTS) == 5
    assert "https://www.w3.org/2018/credentials/v1" not in ALLOWED_CONTEXTS


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"type": None}, "type"),
        ({"type": ["ElectricityCredential"]}, "type"),
        ({"type": []}, "type"),
        ({"type": ["VerifiableCredential", 7]}, "type"),
        ({"id": "not a url"}, "id"),
        ({"issuer": None}, "issuer"),
        ({"issuer": "discom"}, "issuer"),
        ({"issuer": {"name": "No id"}}, "issuer.id"),
        ({"credentialSubject": None}, "credentialSubject"),
        ({"credentialSubject": []}, "credentialSubject"),
        ({"credentialSubject": "did:web:x"}, "credentialSubject"),
        ({"credentialSubject": [{"a": 1}, "b"]}, "credentialSubject[1]"),
        ({"credentialSubject": {"id": "nope"}}, "credentialSubject.id"),
        ({"validFrom": "2026-01-01T00:00:00"}, "validFrom"),
        ({"validUntil": "2027-01-01"}, "validUntil"),
        ({"validFrom": 1767225600}, "validFrom"),
        ({"validUntil": "2027-02-30T00:00:00Z"}, "validUntil"),
        ({"validFrom": "2026-01-01T00:00:00+15:00"}, "validFrom"),
    ],
)
def test_schema_refusals(changes: dict[str, Any], path: str) -> None:
    """Each malformed core property fails at step schema with its path."""
    assert _refusal(_doc(**changes)) == ("schema", path)


def test_issuer_as_string_and_object() -> None:
    """issuer_id reads a plain URL/DID or an object's id."""
    assert issuer_id(_doc()) == "did:web:discom.example"
    assert issuer_id(_doc(issuer="did:web:discom.example")) == "did:web:discom.example"


def test_subject_list_passes() -> None:
    """credentialSubject may be a non-empty list of objects."""
    validate_credential(_doc(credentialSubject=[{"id": "did:web:a"}, {"name": "b"}]))


@pytest.mark.parametrize(
    ("subject", "path"),
    [
        (
            {"sanctionedLoad": {"value": 5.5, "unit": "kW"}},
            "credentialSubject.sanctionedLoad.value",
        ),
        ({"amount": 12.5}, "credentialSubject.amount"),
        ({"readings": [1, 2, 3.0]}, "credentialSubject.readings[2]"),
        (
            {"geo": {"type": "Feature", "coordinates": [1.5, 2.5]}},
            "credentialSubject.geo.coordinates[0]",
        ),
    ],
)
def test_floats_refused_with_path(subject: dict[str, Any], path: str) -> None:
    """Quantities and money as JSON floats fail at step schema naming the path."""
    with pytest.raises(CredentialError, match="float") as info:
        validate_credential(_doc(credentialSubject=subject))
    assert (info.value.step, info.value.path) == ("schema", path)


def test_geojson_coordinates_may_be_floats() -> None:
    """RFC 7946 geometry coordinates are numbers and stay allowed."""
    subject = {"location": {"geo": {"type": "Point", "coordinates": [77.5946, 12.9716]}}}
    validate_credential(_doc(credentialSubject=subject))


def test_floats_outside_subject_are_not_policed() -> None:
    """The float rule covers claims, not the envelope (e.g. issuer metadata)."""
    validate_credential(_doc(issuer={"id": "did:web:d.example", "rating": 4.5}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", None),
        ("id", "not a url"),
        ("statusPurpose", ""),
        ("statusListIndex", 94567),
        ("statusListIndex", "-1"),
        ("statusListIndex", "١٢"),
        ("statusListCredential", "status list 1"),
        ("statusSize", 0),
        ("statusSize", True),
    ],
)
def test_bitstring_status_entry_refusals(field: str, value: object) -> None:
    """A malformed BitstringStatusListEntry field fails at step schema with its path."""
    doc = _doc()
    if value is None:
        del doc["credentialStatus"][field]
    else:
        doc["credentialStatus"][field] = value
    assert _refusal(doc) == ("schema", f"credentialStatus.{field}")


def test_status_list_of_entries() -> None:
    """credentialStatus may be a list; an entry's path carries its index."""
    entry = BASE["credentialStatus"]
    validate_credential(_doc(credentialStatus=[entry, entry | {"statusPurpose": "suspension"}]))
    bad = [entry, entry | {"statusListIndex": "x"}]
    assert _refusal(_doc(credentialStatus=bad)) == ("schema", "credentialStatus[1].statusListIndex")


def test_other_status_types_need_only_a_type() -> None:
    """A DeDi registry entry (IES) passes with its own fields."""
    status = {
        "id": "https://dedi.global/dedi/lookup/ns/vc-revocation-registry/abc",
        "type": "dediregistry",
        "statusPurpose": "revocation",
    }
    validate_credential(_doc(credentialStatus=status))


def test_valid_from_after_valid_until() -> None:
    """validFrom later than validUntil fails at step validity."""
    doc = _doc(validFrom="2027-01-02T00:00:00Z", validUntil="2027-01-01T00:00:00Z")
    assert _refusal(doc) == ("validity", "validUntil")


def test_validity_compares_instants_not_text() -> None:
    """Different offsets are compared as instants: 10:00+05:30 is before 05:00Z."""
    validate_credential(
        _doc(validFrom="2026-01-01T10:00:00+05:30", validUntil="2026-01-01T05:00:00Z")
    )


def test_validity_window_values() -> None:
    """validity_window returns aware datetimes, None where absent."""
    start, end = validity_window(_doc(validUntil=None))
    assert start == datetime(2025, 12, 31, 18, 30, tzinfo=UTC)
    assert end is None


def test_check_validity_inside_window() -> None:
    """An instant inside the window (ends included) passes."""
    start, end = validity_window(_doc())
    assert start is not None
    assert end is not None
    for at in (start, start + timedelta(days=30), end):
        check_validity(_doc(), at)


def test_not_yet_valid_names_times() -> None:
    """Before validFrom: step validity, reason naming validFrom and the check time."""
    at = datetime(2025, 6, 1, tzinfo=UTC)
    with pytest.raises(CredentialError, match="not yet valid: validFrom 2026-01-01") as info:
        check_validity(_doc(), at)
    assert (info.value.step, info.value.path) == ("validity", "validFrom")
    assert "2025-06-01T00:00:00+00:00" in info.value.reason


def test_expired_names_times() -> None:
    """After validUntil: step validity, reason naming validUntil and the check time."""
    at = datetime(2027, 1, 1, 0, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with pytest.raises(CredentialError, match="expired: validUntil 2027-01-01T00:00:00") as info:
        check_validity(_doc(), at)
    assert (info.value.step, info.value.path) == ("validity", "validUntil")


def test_open_window_always_valid() -> None:
    """Without validFrom and validUntil a credential is valid at any instant."""
    check_validity(_doc(validFrom=None, validUntil=None), datetime(1990, 1, 1, tzinfo=UTC))


def test_check_validity_needs_aware_instant() -> None:
    """A naive instant is a programming error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        check_validity(_doc(), datetime(2026, 6, 1))


def test_parse_credential() -> None:
    """JSON text parses; bad JSON, non-objects and duplicate members fail at step parse."""
    assert parse_credential(json.dumps(BASE).encode()) == BASE
    for text in ('{"a":', "[1]", '{"id":"a","id":"b"}', b"\xff"):
        with pytest.raises(CredentialError) as info:
            parse_credential(text)
        assert info.value.step == "parse"


@given(
    st.datetimes(
        min_value=datetime(1, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-14))]
        ),
    )
)
def test_date_time_stamp_round_trips(moment: datetime) -> None:
    """Any aware datetime written as ISO 8601 parses back to the same instant."""
    assert parse_date_time_stamp(moment.isoformat()) == moment


@given(st.text(max_size=30))
def test_date_time_stamp_never_crashes(text: str) -> None:
    """Arbitrary text either parses to an aware datetime or raises ValueError."""
    try:
        parsed = parse_date_time_stamp(text)
    except ValueError:
        return
    assert parsed.tzinfo is not None


def test_fraction_and_zulu() -> None:
    """Fractions longer than microseconds are truncated; Z is UTC."""
    parsed = parse_date_time_stamp("2026-01-01T00:00:00.1234567Z")
    assert parsed == datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)


# -- the IES example credentials ------------------------------------------------------------

EXAMPLE_FILES = sorted(IES_SCHEMAS.glob("*/*/examples/*.json"))

# The upstream examples write quantities as JSON floats; our rule refuses them at the first
# float claim. Every other check passes (proved below by rewriting the floats as strings).
FLOAT_REFUSALS = {
    "ElectricityCredential/v1.0/examples/example.json": (
        "credentialSubject.generationProfiles[1].capacityKW"
    ),
    "ElectricityCredential/v1.1/examples/example-submetering.json": (
        "credentialSubject.customerProfile.consumptionProfiles[0].contractMaxDemandKw"
    ),
    "ElectricityCredential/v1.1/examples/example.json": (
        "credentialSubject.customerProfile.energyResources[2].attributes.ratedPowerKw"
    ),
    "ElectricityCredential/v1.2/examples/example-submetering.json": (
        "credentialSubject.customerProfile.consumptionProfiles[0].contractMaxDemand.value"
    ),
    "ElectricityCredential/v1.2/examples/example.json": (
        "credentialSubject.customerProfile.energyResources[1].attributes.dcArrayCapacity.value"
    ),
    "MeterDataCredential/v0.6/examples/example-customer-profile.json": (
        "credentialSubject.meterData.customer.sanctionedLoadKw"
    ),
    "MeterDataCredential/v0.6/examples/example-interval-profile.json": (
        "credentialSubject.meterData[1].intervals[0].payloads[0]"
    ),
    "MeterDataCredential/v0.6/examples/example-monthly-profile.json": (
        "credentialSubject.meterData.readings[0].value"
    ),
}
PASSING = {
    "ElectricityCredential/v1.1/examples/example-parallel-metering.json",
    "ElectricityCredential/v1.2/examples/example-parallel-metering.json",
    "MeterDataRequestCredential/v0.1/examples/example.json",
}


def _example_vcs() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in EXAMPLE_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "VerifiableCredential" in doc.get("type", []):
            found[path.relative_to(IES_SCHEMAS).as_posix()] = doc
    return found


def _floats_as_strings(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [_floats_as_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: _floats_as_strings(item) for key, item in value.items()}
    return value


def test_example_inventory() -> None:
    """The upstream examples hold exactly the eleven VCs this module is checked against."""
    assert set(_example_vcs()) == PASSING | set(FLOAT_REFUSALS)


@pytest.mark.parametrize("name", sorted(PASSING))
def test_ies_example_passes(name: str) -> None:
    """IES example credentials without float quantities validate."""
    validate_credential(_example_vcs()[name])


@pytest.mark.parametrize("name", sorted(FLOAT_REFUSALS))
def test_ies_example_float_refusal(name: str) -> None:
    """IES examples with float quantities fail only at their first float claim."""
    doc = _example_vcs()[name]
    with pytest.raises(CredentialError, match="is a float") as info:
        validate_credential(doc)
    assert (info.value.step, info.value.path) == ("schema", FLOAT_REFUSALS[name])
    validate_credential(_floats_as_strings(doc))
