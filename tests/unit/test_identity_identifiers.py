"""Identifier{scheme, value, namespace} and the extractor, on the IES example documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from iesnode.identity import (
    DidUrl,
    Identifier,
    IdentifierScheme,
    IesDid,
    IesKind,
    TelUri,
    extract_identifiers,
)
from iesnode.identity.identifiers import METER_DATA_SCHEMES, primary

IES_SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "upstream" / "ies-schemas"
EXAMPLES = sorted(IES_SCHEMAS.glob("*/*/examples/*.json"))
IES_KIND_WORDS = tuple(f":{kind.value}:" for kind in IesKind if kind.value)


def _name(path: Path) -> str:
    return str(path.relative_to(IES_SCHEMAS))


def test_the_example_documents_are_there() -> None:
    """The IES examples are readable from the shared checkout (a missing tree fails)."""
    assert len(EXAMPLES) >= 40, IES_SCHEMAS


@pytest.mark.parametrize("path", EXAMPLES, ids=_name)
def test_every_identifier_in_an_example_parses(path: Path) -> None:
    """Each IES example's identifiers parse: no problems, and IES-pattern DIDs parse as IesDid."""
    text = path.read_text(encoding="utf-8")
    extraction = extract_identifiers(json.loads(text))
    assert extraction.problems == []
    if '"scheme"' in text or '"did:' in text:
        assert extraction.found
    for deviation in extraction.deviations:
        assert not any(word in deviation.value for word in IES_KIND_WORDS), deviation


def test_examples_carry_every_ies_did_kind_the_toolkit_knows() -> None:
    """Across the examples, consumer, connection, meter and other asset DIDs are recognised."""
    seen: set[tuple[IesKind, str | None]] = set()
    for path in EXAMPLES:
        for found in extract_identifiers(json.loads(path.read_text())).found:
            if found.ies_did is not None:
                seen.add((found.ies_did.kind, found.ies_did.asset_class))
    assert {
        (IesKind.CONSUMER, None),
        (IesKind.CONNECTION, None),
        (IesKind.ASSET, "meter"),
        (IesKind.ASSET, "feeder"),
        (IesKind.ASSET, "transformer"),
        (IesKind.ASSET, "solar-plant"),
        (IesKind.ORGANISATION, None),
    } <= seen


def test_customer_profile_identifiers_are_found_at_their_paths() -> None:
    """The v0.6 CustomerProfile example yields its customer DID at ``$[0].customer.id``."""
    doc = json.loads((IES_SCHEMAS / "MeterData/v0.6/examples/CustomerProfile.json").read_text())
    found = {f.path: f for f in extract_identifiers(doc).found}
    customer = found["$[0].customer.id"]
    assert isinstance(customer.parsed, Identifier)
    assert customer.parsed.scheme is IdentifierScheme.DID
    assert customer.ies_did == IesDid.consumer("discom.example", "RR-1234")


def test_extractor_reports_malformed_values_with_paths() -> None:
    """Bad DIDs, unknown schemes, bad OBIS codes and bad tel: URIs are problems, by path."""
    doc = {
        "a": {"scheme": "DID", "value": "did:web:x.example:consumers:bad id"},
        "b": [{"scheme": "PLANET", "value": "x"}],
        "c": {"scheme": "OBIS", "value": "1.0.1.8"},
        "holder": "tel:12345",
        "meter": "did:web:-x:assets:meter:1",
        "customerNumber": " C-1",
    }
    problems = {p.path: p for p in extract_identifiers(doc).problems}
    assert set(problems) == {"$.a", "$.b[0]", "$.c", "$.holder", "$.meter", "$.customerNumber"}
    assert "global numbers" in problems["$.holder"].reason
    assert "domain" in problems["$.meter"].reason


def test_extractor_finds_tel_did_urls_and_legacy_fields() -> None:
    """tel: holders, DID URLs and legacy-number fields are all returned."""
    doc = {
        "holder": "tel:+91-98765-43210",
        "verificationMethod": "did:web:discom.example#key-1",
        "customerNumber": "DISCOM-2025-00987654",
        "odd key": "did:web:discom.example:meter:M1",
    }
    extraction = extract_identifiers(doc)
    parsed = {f.path: f.parsed for f in extraction.found}
    assert parsed["$.holder"] == TelUri("+919876543210")
    assert parsed["$.verificationMethod"] == DidUrl.parse("did:web:discom.example#key-1")
    assert parsed["$.customerNumber"] == Identifier(
        scheme=IdentifierScheme.CONSUMER_NUMBER, value="DISCOM-2025-00987654"
    )
    assert [d.path for d in extraction.deviations] == ["$['odd key']"]


@pytest.mark.parametrize(
    ("scheme", "value"),
    [
        ("DID", "did:web:discom.example:assets:meter:M-1"),
        ("DID", "did:example:customer:abc123"),
        ("OBIS", "1.0.1.8.0.255"),
        ("OBIS", "1-0:1.8.0"),
        ("SHORT_CODE", "kWh imp block"),
        ("METER_SERIAL", "HP3008071"),
        ("FEEDER", "FDR-11KV-NDL-072"),
    ],
)
def test_valid_identifiers_are_accepted(scheme: str, value: str) -> None:
    """Values of the right shape validate for their scheme."""
    assert Identifier.model_validate({"scheme": scheme, "value": value}).value == value


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scheme": "DID", "value": "discom.example:consumers:1"}, "starts with 'did:'"),
        ({"scheme": "OBIS", "value": "1.0.1.8.0.300"}, "not in 0..255"),
        ({"scheme": "METER_SERIAL", "value": ""}, "empty"),
        ({"scheme": "METER_SERIAL", "value": "M1 "}, "white space"),
        ({"scheme": "OTHER", "value": "a\nb"}, "control character"),
        ({"scheme": "OTHER", "value": "a", "namespace": ""}, "namespace is empty"),
        ({"scheme": "UMID", "value": "umid-001"}, "Input should be"),
        ({"scheme": "OTHER", "value": "a", "type": "x"}, "Extra inputs"),
    ],
)
def test_malformed_identifiers_are_refused(data: dict[str, str], message: str) -> None:
    """Each bad identifier fails validation with a message naming the problem."""
    with pytest.raises(ValidationError, match=message):
        Identifier.model_validate(data)


def test_identifier_exposes_parsed_did_and_obis() -> None:
    """DID and OBIS identifiers give back their parsed forms; others give None."""
    meter = IesDid.meter("discom.example", "M-1")
    ident = Identifier.of_did(meter)
    assert ident.did is not None
    assert str(ident.did) == str(meter)
    obis = Identifier(scheme=IdentifierScheme.OBIS, value="1-0:1.8.0*255")
    assert str(obis.obis) == "1.0.1.8.0.255"
    assert Identifier(scheme=IdentifierScheme.OTHER, value="x").did is None


def test_identifier_list_primary_is_the_first() -> None:
    """The primary of an IdentifierList is its first element; empty lists are refused."""
    serial = Identifier(scheme=IdentifierScheme.METER_SERIAL, value="HP3008071")
    assert (
        primary([serial, Identifier.of_did("did:web:d.example:assets:meter:HP3008071")]) is serial
    )
    with pytest.raises(ValueError, match="at least one"):
        primary([])


def test_meter_data_schemes_are_the_v06_closed_list() -> None:
    """METER_DATA_SCHEMES holds exactly the ten MeterData v0.6 schemes."""
    assert {s.value for s in METER_DATA_SCHEMES} == {
        "METER_SERIAL",
        "METER_BADGE",
        "MRID",
        "OBIS",
        "SHORT_CODE",
        "CONSUMER_NUMBER",
        "SERVICE_DELIVERY_POINT",
        "DID",
        "ORG",
        "OTHER",
    }
