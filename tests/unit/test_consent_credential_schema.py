"""The ConsentCredential v0.1 schema against what ``ConsentArtefact.to_credential`` issues."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from iesnode.consent.artefact import ConsentArtefact, ConsentMode, MeterDataProfile
from iesnode.credentials.eddsa_jcs_2022 import add_proof
from iesnode.credentials.errors import CredentialError
from iesnode.credentials.issuer import did_key_issuer
from iesnode.credentials.status_list import status_entry
from iesnode.credentials.types import CredentialTypes
from tests.unit.test_consent_artefact import make_terms

KEY = "ConsentCredential-v0.1"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "protocol_specs" / "credentials" / f"{KEY}.json"
ISSUER = "did:web:cm.example"
SEED = base64.b64encode(bytes(range(32))).decode()

SUBJECT_REQUIRED = [
    "id",
    "dataProvider",
    "dataConsumer",
    "purpose",
    "dataCategories",
    "dataRange",
    "frequency",
    "dataLife",
    "mode",
    "meters",
]
# Each envelope member and the path a refusal names ("@context" is not a plain name).
ENVELOPE_REQUIRED = [
    ("@context", '["@context"]'),
    ("id", "id"),
    ("issuer", "issuer"),
    ("validFrom", "validFrom"),
    ("validUntil", "validUntil"),
]
NESTED_REQUIRED: list[list[str | int]] = [
    ["credentialSubject", "purpose", "code"],
    ["credentialSubject", "purpose", "refUri"],
    ["credentialSubject", "dataCategories", 0, "profile"],
    ["credentialSubject", "dataRange", "from"],
    ["credentialSubject", "dataRange", "to"],
    ["credentialSubject", "frequency", "count"],
    ["credentialSubject", "frequency", "period"],
]
DURATION_FIELDS: list[list[str | int]] = [
    ["credentialSubject", "dataLife"],
    ["credentialSubject", "frequency", "period"],
    ["credentialSubject", "filters", "minAggregationInterval"],
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


def _credential(**changes: Any) -> dict[str, Any]:
    return ConsentArtefact.from_terms(make_terms(**changes)).to_credential(ISSUER)


def _refusal(types: CredentialTypes, doc: object) -> CredentialError:
    with pytest.raises(CredentialError) as caught:
        types.validate(doc, strict=True)
    return caught.value


def _schema_enum(*parts: str) -> set[str]:
    node: Any = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for part in parts:
        node = node[part]
    return set(node["enum"])


@pytest.fixture(scope="module")
def types() -> CredentialTypes:
    """The credential types loaded from the repository's protocol_specs/credentials."""
    return CredentialTypes.load()


def test_issued_credential_is_recognised_as_consent_credential(types: CredentialTypes) -> None:
    """type_of names ConsentCredential v0.1 for a credential from to_credential."""
    assert types.type_of(_credential()) == KEY


def test_issued_credential_validates(types: CredentialTypes) -> None:
    """The unsigned credential to_credential renders fits the schema, without status entries."""
    doc = _credential()
    assert "credentialStatus" not in doc
    types.validate(doc, strict=True)


def test_signed_credential_with_status_entries_validates(types: CredentialTypes) -> None:
    """With the gate's revocation and suspension entries and a real proof it still fits."""
    issuer, method = did_key_issuer(SEED)
    entries = [
        status_entry(f"https://cm.example/status/{purpose}", 7, purpose)
        for purpose in ("revocation", "suspension")
    ]
    artefact = ConsentArtefact.from_terms(make_terms())
    unsigned = artefact.to_credential(issuer, credential_status=entries)
    signed = add_proof(
        unsigned,
        private_key=SEED,
        verification_method=method,
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    types.validate(signed, strict=True)


def test_single_status_entry_validates(types: CredentialTypes) -> None:
    """One status entry is rendered as an object, which the schema accepts."""
    entry = status_entry("https://cm.example/status/revocation", 3, "revocation")
    doc = ConsentArtefact.from_terms(make_terms()).to_credential(ISSUER, credential_status=[entry])
    assert isinstance(doc["credentialStatus"], dict)
    types.validate(doc, strict=True)


@pytest.mark.parametrize("field", SUBJECT_REQUIRED)
def test_missing_subject_field_is_refused(types: CredentialTypes, field: str) -> None:
    """Deleting a required subject member is refused at its path."""
    doc = _credential()
    del doc["credentialSubject"][field]
    error = _refusal(types, doc)
    assert (error.step, error.path) == ("schema", f"credentialSubject.{field}")
    assert error.reason == f"credentialSubject.{field} is required"


@pytest.mark.parametrize(
    ("field", "path"), ENVELOPE_REQUIRED, ids=[e[0] for e in ENVELOPE_REQUIRED]
)
def test_missing_envelope_field_is_refused(types: CredentialTypes, field: str, path: str) -> None:
    """Deleting a required envelope member is refused at its path."""
    doc = _credential()
    del doc[field]
    error = _refusal(types, doc)
    assert (error.step, error.path, error.reason) == ("schema", path, f"{path} is required")


@pytest.mark.parametrize("parts", NESTED_REQUIRED, ids=_dotted)
def test_missing_nested_field_is_refused(types: CredentialTypes, parts: list[str | int]) -> None:
    """Deleting a required member of a nested term is refused at its dotted path."""
    doc = _credential()
    _set(doc, parts, None)
    error = _refusal(types, doc)
    assert (error.path, error.reason) == (_dotted(parts), f"{_dotted(parts)} is required")


@pytest.mark.parametrize("mode", ["QUERY", "view", "SELL"])
def test_wrong_mode_is_refused(types: CredentialTypes, mode: str) -> None:
    """A mode other than VIEW, STORE or STREAM is refused at credentialSubject.mode."""
    doc = _credential()
    doc["credentialSubject"]["mode"] = mode
    error = _refusal(types, doc)
    assert (error.step, error.path) == ("schema", "credentialSubject.mode")
    assert f'not "{mode}"' in error.reason


def test_wrong_profile_is_refused(types: CredentialTypes) -> None:
    """A data category names a MeterData profile, not the MeterDataRequest spelling."""
    doc = _credential()
    doc["credentialSubject"]["dataCategories"][1]["profile"] = "MonthlyProfile"
    assert _refusal(types, doc).path == "credentialSubject.dataCategories[1].profile"


def test_schema_enums_match_the_artefact() -> None:
    """The schema's mode and profile lists are exactly the artefact's enums."""
    subject = ("properties", "credentialSubject", "properties")
    profile = (*subject, "dataCategories", "items", "properties", "profile")
    assert _schema_enum(*subject, "mode") == {m.value for m in ConsentMode}
    assert _schema_enum(*profile) == {p.value for p in MeterDataProfile}


@pytest.mark.parametrize("parts", DURATION_FIELDS, ids=_dotted)
@pytest.mark.parametrize("value", ["P0D", "PT0.0S", "p1d", "1 day", "P", "PT"])
def test_non_positive_or_malformed_duration_is_refused(
    types: CredentialTypes, parts: list[str | int], value: str
) -> None:
    """Durations are upper-case ISO 8601 and longer than zero, as the artefact requires."""
    doc = _credential()
    _set(doc, parts, value)
    error = _refusal(types, doc)
    assert error.path == _dotted(parts)
    assert "ISO 8601 duration" in error.reason


@pytest.mark.parametrize(
    "parts",
    [["validFrom"], ["validUntil"], ["credentialSubject", "dataRange", "from"]],
    ids=_dotted,
)
def test_time_without_timezone_is_refused(types: CredentialTypes, parts: list[str | int]) -> None:
    """Validity and data-range times must carry a timezone."""
    doc = _credential()
    _set(doc, parts, "2026-01-01T00:00:00")
    error = _refusal(types, doc)
    assert error.path == _dotted(parts)
    assert "timezone" in error.reason


def test_subject_must_be_a_did(types: CredentialTypes) -> None:
    """The consumer is named by a DID."""
    doc = _credential()
    doc["credentialSubject"]["id"] = "customer-42"
    assert _refusal(types, doc).path == "credentialSubject.id"


def test_empty_meter_list_is_refused(types: CredentialTypes) -> None:
    """A consent covers at least one meter."""
    doc = _credential()
    doc["credentialSubject"]["meters"] = []
    assert _refusal(types, doc).path == "credentialSubject.meters"


def test_zero_frequency_count_is_refused(types: CredentialTypes) -> None:
    """At least one fetch per period."""
    doc = _credential()
    doc["credentialSubject"]["frequency"]["count"] = 0
    assert _refusal(types, doc).path == "credentialSubject.frequency.count"


def test_purpose_link_must_be_http(types: CredentialTypes) -> None:
    """The purpose text is linked by an http(s) URL."""
    doc = _credential()
    doc["credentialSubject"]["purpose"]["refUri"] = "ftp://purpose.example/x"
    assert _refusal(types, doc).path == "credentialSubject.purpose.refUri"


def test_empty_context_is_refused(types: CredentialTypes) -> None:
    """The context list holds at least the VC 2.0 base context."""
    doc = _credential()
    doc["@context"] = []
    assert _refusal(types, doc).path == '["@context"]'


_DURATION_TEXT = st.from_regex(
    r"P([0-9]{1,3}(\.[0-9])?[YMWD]){0,2}(T([0-9]{1,3}(\.[0-9])?[HMS]){0,2})?", fullmatch=True
) | st.text(alphabet="PYMWDTHS0123456789.", max_size=10)


@settings(max_examples=150, deadline=None)
@given(text=_DURATION_TEXT)
def test_schema_and_artefact_agree_on_durations(types: CredentialTypes, text: str) -> None:
    """A normalised duration fits the schema exactly when the artefact accepts it."""
    try:
        doc = _credential(dataLife=text)
    except ValidationError:
        doc = _credential()
        doc["credentialSubject"]["dataLife"] = text
        with pytest.raises(CredentialError):
            types.validate(doc, strict=True)
    else:
        types.validate(doc, strict=True)


_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=3))]
)


@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from(list(ConsentMode)),
    profiles=st.lists(st.sampled_from(list(MeterDataProfile)), min_size=1, max_size=4),
    count=st.integers(min_value=1, max_value=10**6),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    zone=_ZONES,
    micros=st.booleans(),
    filters=st.sampled_from([{}, {"minAggregationInterval": "pt15m"}]),
    text=st.none() | st.text(max_size=40),
)
def test_any_artefact_credential_validates(
    types: CredentialTypes,
    mode: ConsentMode,
    profiles: list[MeterDataProfile],
    count: int,
    start: datetime,
    zone: timezone,
    micros: bool,
    filters: dict[str, str],
    text: str | None,
) -> None:
    """Whatever terms the artefact accepts, its credential fits the schema."""
    begin = start.replace(tzinfo=zone, microsecond=start.microsecond if micros else 0)
    purpose: dict[str, Any] = {"code": "EE-AUDIT", "refUri": "https://purpose.example/EE-AUDIT"}
    if text is not None:
        purpose["text"] = text
    doc = _credential(
        mode=mode.value,
        dataCategories=[{"profile": p.value} for p in profiles],
        frequency={"count": count, "period": "p1d"},
        validity={
            "validFrom": begin.isoformat(),
            "validUntil": (begin + timedelta(days=1)).isoformat(),
        },
        dataRange={"from": begin.isoformat(), "to": (begin + timedelta(hours=1)).isoformat()},
        filters=filters,
        purpose=purpose,
    )
    types.validate(copy.deepcopy(doc), strict=True)
