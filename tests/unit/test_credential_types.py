"""Credential-type schemas under ``protocol_specs/credentials`` and ``CredentialTypes``."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.types import CredentialTypes
from iesnode.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "protocol_specs" / "credentials"
UPSTREAM = REPO.parent / "shared" / "upstream" / "ies-schemas"
SCHEMA_FILES = sorted(SPECS.glob("*.json"))
OUR_KEYS = {p.stem for p in SCHEMA_FILES if p.stem != "common"}
UPSTREAM_TYPES = {"ElectricityCredential", "MeterDataCredential", "MeterDataRequestCredential"}

# Every upstream example of a credential type and version we have a schema for.
EXAMPLES = sorted(
    path
    for path in UPSTREAM.glob("*/*/examples/*.json")
    if f"{path.parts[-4]}-{path.parts[-3]}" in OUR_KEYS
)
ELECTRICITY = UPSTREAM / "ElectricityCredential" / "v1.2" / "examples" / "example.json"
METER_DATA = UPSTREAM / "MeterDataCredential" / "v0.6" / "examples" / "example-monthly-profile.json"
METER_REQUEST = UPSTREAM / "MeterDataRequestCredential" / "v0.1" / "examples" / "example.json"

_ENVELOPE: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://iesnode.example/contexts/v0.1"],
    "id": "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
    "issuer": "did:web:consent-manager.example",
    "validFrom": "2026-04-01T00:00:00+05:30",
    "validUntil": "2026-10-01T00:00:00+05:30",
    "credentialStatus": [
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://consent-manager.example/status/1",
        },
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
            "statusListIndex": "23452",
            "statusListCredential": "https://consent-manager.example/status/2",
        },
    ],
}
CONSENT: dict[str, Any] = {
    **_ENVELOPE,
    "type": ["VerifiableCredential", "ConsentCredential"],
    "credentialSubject": {
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "dataProvider": "did:web:discom.example",
        "dataConsumer": "did:web:tsp.example",
        "purpose": {"code": "EN-101", "refUri": "https://iesnode.example/purpose/EN-101"},
        "dataCategories": [{"profile": "INTERVAL", "readings": ["1.0.1.8.0.255"]}],
        "dataRange": {"from": "2026-01-01T00:00:00+05:30", "to": "2026-04-01T00:00:00+05:30"},
        "frequency": {"count": 4, "period": "P1D"},
        "dataLife": "P3M",
        "mode": "VIEW",
        "filters": {"minAggregationInterval": "PT1H"},
        "meters": ["DISCOM-SM-2025-654321"],
    },
}
ENROLLMENT: dict[str, Any] = {
    **_ENVELOPE,
    "type": ["VerifiableCredential", "ProgramEnrollmentCredential"],
    "issuer": {"id": "did:web:program-owner.example", "name": "Rooftop P2P programme"},
    "credentialSubject": {
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "enrollmentId": "ENR-2026-0001",
        "programId": "p2p-trading-pilot",
        "userType": "PROSUMER",
        "meters": [
            {
                "meterId": "umid-001",
                "meterNumber": "MET-1",
                "sanctionedLoad": {"value": "5.5", "unit": "kW"},
            }
        ],
        "consents": [{"type": "DATA_COLLECTION", "granted": True}],
    },
}


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _electricity() -> dict[str, Any]:
    return _load(ELECTRICITY)


def _meter_data() -> dict[str, Any]:
    return _load(METER_DATA)


def _meter_request() -> dict[str, Any]:
    return _load(METER_REQUEST)


def _consent() -> dict[str, Any]:
    return copy.deepcopy(CONSENT)


def _enrollment() -> dict[str, Any]:
    return copy.deepcopy(ENROLLMENT)


SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "ElectricityCredential-v1.2": _electricity,
    "MeterDataCredential-v0.6": _meter_data,
    "MeterDataRequestCredential-v0.1": _meter_request,
    "ConsentCredential-v0.1": _consent,
    "ProgramEnrollmentCredential-v0.1": _enrollment,
}

# (type, path to delete or change, wrong value or None to delete, the path the refusal names)
MISSING = [
    ("ElectricityCredential-v1.2", ["credentialSubject", "customerProfile", "customerNumber"]),
    ("MeterDataCredential-v0.6", ["credentialSubject", "meterData", "readings"]),
    ("MeterDataRequestCredential-v0.1", ["credentialSubject", "meterDataRequest", "from"]),
    ("ConsentCredential-v0.1", ["credentialSubject", "purpose"]),
    ("ProgramEnrollmentCredential-v0.1", ["credentialSubject", "programId"]),
]
WRONG_ENUM = [
    (
        "ElectricityCredential-v1.2",
        ["credentialSubject", "customerProfile", "consumptionProfiles", 0, "premisesType"],
        "Domestic",
        "credentialSubject.customerProfile.consumptionProfiles[0].premisesType",
    ),
    (
        "MeterDataCredential-v0.6",
        ["credentialSubject", "meterData", "readings", 0, "validationStatus"],
        "OK",
        "credentialSubject.meterData.readings[0].validationStatus",
    ),
    (
        "MeterDataRequestCredential-v0.1",
        ["credentialSubject", "meterDataRequest", "scope"],
        "Everything",
        "credentialSubject.meterDataRequest.scope",
    ),
    (
        "ConsentCredential-v0.1",
        ["credentialSubject", "mode"],
        "SELL",
        "credentialSubject.mode",
    ),
    (
        "ProgramEnrollmentCredential-v0.1",
        ["credentialSubject", "consents", 0, "type"],
        "MARKETING",
        "credentialSubject.consents[0].type",
    ),
]


def _dotted(parts: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def _set(doc: dict[str, Any], parts: list[str | int], value: object) -> None:
    node: Any = doc
    for part in parts[:-1]:
        node = node[part]
    if value is None:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value


def _refusal(types: CredentialTypes, doc: object, *, strict: bool = False) -> CredentialError:
    with pytest.raises(CredentialError) as caught:
        types.validate(doc, strict=strict)
    return caught.value


@pytest.fixture(scope="module")
def types() -> CredentialTypes:
    """The credential types loaded from the repository's protocol_specs/credentials."""
    return CredentialTypes.load()


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_file_is_draft_2020_12(path: Path) -> None:
    """Each schema file is a valid schema that declares draft 2020-12."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_credential_type_has_a_schema(types: CredentialTypes) -> None:
    """The five IES credential types are loaded, one schema each."""
    assert types.names() == frozenset(SAMPLES) == frozenset(OUR_KEYS)


def test_upstream_examples_cover_every_upstream_type() -> None:
    """The example set is read from /work/shared and holds each published type."""
    assert {path.parts[-4] for path in EXAMPLES} == UPSTREAM_TYPES
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(UPSTREAM)))
def test_upstream_example_validates(types: CredentialTypes, path: Path) -> None:
    """A published example is recognised as its type and version and fits our schema."""
    doc = _load(path)
    assert types.type_of(doc) == f"{path.parts[-4]}-{path.parts[-3]}"
    types.validate(doc, strict=True)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_sample_validates(types: CredentialTypes, key: str) -> None:
    """The valid sample of each type passes and is recognised as that type."""
    doc = SAMPLES[key]()
    assert types.type_of(doc) == key
    types.validate(doc, strict=True)


@pytest.mark.parametrize(("key", "parts"), MISSING, ids=[m[0] for m in MISSING])
def test_missing_required_field_is_refused(
    types: CredentialTypes, key: str, parts: list[str | int]
) -> None:
    """Deleting a required subject field is refused at that field's path."""
    doc = SAMPLES[key]()
    _set(doc, parts, None)
    error = _refusal(types, doc)
    assert (error.step, error.path) == ("schema", _dotted(parts))
    assert error.reason == f"{_dotted(parts)} is required"


@pytest.mark.parametrize(
    ("key", "parts", "value", "path"), WRONG_ENUM, ids=[w[0] for w in WRONG_ENUM]
)
def test_wrong_enum_value_is_refused(
    types: CredentialTypes, key: str, parts: list[str | int], value: str, path: str
) -> None:
    """A value outside a field's list is refused at that path, naming the value."""
    doc = SAMPLES[key]()
    _set(doc, parts, value)
    error = _refusal(types, doc)
    assert (error.step, error.path) == ("schema", path)
    assert f'not "{value}"' in error.reason


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_missing_envelope_field_is_refused(types: CredentialTypes, key: str) -> None:
    """Every type needs validFrom."""
    doc = SAMPLES[key]()
    del doc["validFrom"]
    assert _refusal(types, doc).path == "validFrom"


def test_validity_without_timezone_is_refused(types: CredentialTypes) -> None:
    """validUntil must carry a timezone (VC 2.0 dateTimeStamp)."""
    doc = _meter_data()
    doc["validUntil"] = "2027-04-01T00:00:00"
    error = _refusal(types, doc)
    assert error.path == "validUntil"
    assert "timezone" in error.reason


def test_credential_id_must_be_urn_uuid(types: CredentialTypes) -> None:
    """The IES field lists give the credential id the urn:uuid shape."""
    doc = _electricity()
    doc["id"] = "https://discom.example/credentials/1"
    assert _refusal(types, doc).path == "id"


def test_bearer_electricity_credential_validates(types: CredentialTypes) -> None:
    """Without credentialSubject.id the ElectricityCredential is a valid bearer credential."""
    doc = _electricity()
    del doc["credentialSubject"]["id"]
    types.validate(doc)


def test_passport_holder_must_be_did_or_tel(types: CredentialTypes) -> None:
    """A holder-bound energy passport names its holder by DID or tel: number."""
    doc = _electricity()
    doc["credentialSubject"]["id"] = "customer-abc123"
    error = _refusal(types, doc)
    assert error.path == "credentialSubject.id"
    assert "DID" in error.reason


def test_passport_with_did_key_holder_validates(types: CredentialTypes) -> None:
    """A did:key holder binding is accepted."""
    doc = _electricity()
    doc["credentialSubject"]["id"] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    types.validate(doc)


def test_resource_kind_attributes_are_checked(types: CredentialTypes) -> None:
    """A BESS's storageType is checked against the storage list."""
    doc = _electricity()
    doc["credentialSubject"]["customerProfile"]["energyResources"][3]["attributes"][
        "storageType"
    ] = "Potato"
    path = "credentialSubject.customerProfile.energyResources[3].attributes.storageType"
    assert _refusal(types, doc).path == path


def test_unknown_resource_kind_is_refused(types: CredentialTypes) -> None:
    """energyResources[].type must be one of the seven kinds' values."""
    doc = _electricity()
    doc["credentialSubject"]["customerProfile"]["energyResources"][0]["type"] = "TOASTER"
    path = "credentialSubject.customerProfile.energyResources[0].type"
    assert _refusal(types, doc).path == path


def test_our_types_refuse_float_quantities(types: CredentialTypes) -> None:
    """Credentials we define carry amounts as integers or decimal strings, not floats."""
    doc = _enrollment()
    doc["credentialSubject"]["meters"][0]["sanctionedLoad"]["value"] = 5.5
    path = "credentialSubject.meters[0].sanctionedLoad.value"
    assert _refusal(types, doc).path == path


def test_consent_filter_value_matches_its_type(types: CredentialTypes) -> None:
    """A minimum aggregation interval filter needs an ISO 8601 duration."""
    doc = _consent()
    doc["credentialSubject"]["filters"]["minAggregationInterval"] = "hourly"
    error = _refusal(types, doc)
    assert error.path == "credentialSubject.filters.minAggregationInterval"
    assert "ISO 8601 duration" in error.reason


def test_status_list_entry_needs_index(types: CredentialTypes) -> None:
    """A BitstringStatusListEntry without statusListIndex is refused."""
    doc = _consent()
    del doc["credentialStatus"][1]["statusListIndex"]
    assert _refusal(types, doc).path == "credentialStatus[1].statusListIndex"


def test_dedi_status_purpose_is_checked(types: CredentialTypes) -> None:
    """A DeDi status entry's purpose is revocation or suspension."""
    doc = _meter_request()
    doc["credentialStatus"]["statusPurpose"] = "refresh"
    assert _refusal(types, doc).path == "credentialStatus.statusPurpose"


def test_shallowest_error_is_reported(types: CredentialTypes) -> None:
    """With several faults the refusal names the shallowest one, every time."""
    doc = _electricity()
    doc["credentialSubject"]["customerProfile"]["energyResources"][0]["type"] = "TOASTER"
    del doc["issuer"]["name"]
    paths = {_refusal(types, copy.deepcopy(doc)).path for _ in range(3)}
    assert paths == {"issuer.name"}


def test_unknown_type_passes_unless_strict(types: CredentialTypes) -> None:
    """A credential of a type we have no schema for is not checked, unless strict."""
    doc = {"type": ["VerifiableCredential", "UniversityDegreeCredential"]}
    types.validate(doc)
    error = _refusal(types, doc, strict=True)
    assert (error.step, error.path) == ("schema", "type")


def test_other_version_is_unknown(types: CredentialTypes) -> None:
    """An ElectricityCredential v1.1 (by its context URL) is not checked as v1.2."""
    doc = _load(UPSTREAM / "ElectricityCredential" / "v1.1" / "examples" / "example.json")
    assert types.type_of(doc) is None
    types.validate(doc)


def test_type_without_version_hint_takes_newest(types: CredentialTypes) -> None:
    """Without a version in its contexts, a credential is checked against our newest schema."""
    doc = _meter_data()
    doc["@context"] = ["https://www.w3.org/ns/credentials/v2", "https://example.org/ctx"]
    assert types.type_of(doc) == "MeterDataCredential-v0.6"


def test_credential_schema_id_is_a_version_hint(types: CredentialTypes) -> None:
    """OpenCred's kebab-case schema id names the version too."""
    doc = _meter_data()
    doc["@context"] = ["https://www.w3.org/ns/credentials/v2", "https://example.org/ctx"]
    doc["credentialSchema"] = {"id": "ies/meter-data-credential/v0.5", "type": "JsonSchema"}
    assert types.type_of(doc) is None


@pytest.mark.parametrize("value", [None, "text", 3, [], {"type": 7}, {"type": [1, None]}])
def test_type_of_odd_documents_is_none(types: CredentialTypes, value: object) -> None:
    """Non-credentials and malformed type lists have no type."""
    assert types.type_of(value) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(subject=_JSON, key=st.sampled_from(sorted(SAMPLES)))
def test_arbitrary_subject_is_accepted_or_refused_cleanly(
    types: CredentialTypes, subject: object, key: str
) -> None:
    """Any JSON subject either fits or is refused with a CredentialError naming a path."""
    doc = SAMPLES[key]()
    doc["credentialSubject"] = subject
    error: CredentialError | None = None
    try:
        types.validate(doc)
    except CredentialError as caught:
        error = caught
    if error is not None:
        assert error.step == "schema"
        assert (error.path or "").startswith("credentialSubject")


def test_dangling_ref_fails_at_load(tmp_path: Path) -> None:
    """A schema folder with an unresolvable $ref does not load."""
    broken = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "common.json#/$defs/nothing",
    }
    (tmp_path / "BrokenCredential-v1.0.json").write_text(json.dumps(broken))
    with pytest.raises(ConfigError):
        CredentialTypes.load(tmp_path)


def test_empty_folder_fails_at_load(tmp_path: Path) -> None:
    """A folder without credential schemas does not load."""
    with pytest.raises(ConfigError):
        CredentialTypes.load(tmp_path)
