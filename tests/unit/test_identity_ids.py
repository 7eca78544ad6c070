"""IES did:web identifiers, generic DIDs, tel: URIs and OBIS codes: round trips, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.identity import AssetClass, Did, DidUrl, IdentifierError, IesDid, IesKind, TelUri
from iesnode.identity.obis import ObisCode
from iesnode.identity.percent import decode_part, encode_part

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.lists(labels, min_size=1, max_size=4).map(".".join)
domains = st.one_of(hosts, st.tuples(hosts, st.integers(1, 65535)).map(lambda t: f"{t[0]}:{t[1]}"))
local_ids = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)
kebab = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)


@given(domains, local_ids)
def test_consumer_did_round_trips(domain: str, number: str) -> None:
    """Any consumer number survives build -> str -> parse -> str."""
    did = IesDid.consumer(domain, number)
    again = IesDid.parse(str(did))
    assert again == did
    assert str(again) == str(did)
    assert again.local_id == number


@given(domains, st.sampled_from(list(AssetClass)), local_ids)
def test_asset_did_round_trips(domain: str, asset_class: AssetClass, asset_id: str) -> None:
    """Every IES asset class round trips with any local id."""
    did = IesDid.asset(domain, asset_class, asset_id)
    assert IesDid.parse(str(did)) == did
    assert str(did).startswith(f"did:web:{domain.replace(':', '%3A')}:assets:{asset_class}:")


@given(domains, kebab, local_ids)
def test_dataset_did_round_trips(domain: str, dataset_class: str, dataset_id: str) -> None:
    """Dataset DIDs keep their kebab-case class and any id."""
    did = IesDid.dataset(domain, dataset_class, dataset_id)
    assert IesDid.parse(str(did)) == did


@given(domains, local_ids)
def test_connection_and_organisation_dids_round_trip(domain: str, conn: str) -> None:
    """Connection and bare organisation DIDs round trip."""
    for did in (IesDid.connection(domain, conn), IesDid.organisation(domain)):
        assert IesDid.parse(str(did)) == did


@given(local_ids)
def test_percent_encoding_leaves_only_unreserved_characters(value: str) -> None:
    """Encoded parts use only [A-Za-z0-9._-] and %XX, and decode back."""
    encoded = encode_part(value)
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%")
    assert decode_part(encoded, whole=encoded, path="x") == value


def test_examples_from_the_ies_pattern_table_build_as_written() -> None:
    """The builders produce the textual forms of the IES identifier table."""
    assert str(IesDid.meter("ies.discom.example", "MET-IMPORT-001")) == (
        "did:web:ies.discom.example:assets:meter:MET-IMPORT-001"
    )
    assert str(IesDid.dataset("d.example", "meter-telemetry", "2026-01")) == (
        "did:web:d.example:datasets:meter-telemetry:2026-01"
    )
    assert str(IesDid.consumer("d.example:8443", "RR 12/A")) == (
        "did:web:d.example%3A8443:consumers:RR%2012%2FA"
    )


def test_parse_exposes_the_parts() -> None:
    """Parsing a meter DID yields kind, class and the decoded serial."""
    did = IesDid.parse("did:web:Discom.Example:assets:meter:MTR%3A0042")
    assert did == IesDid("discom.example", IesKind.ASSET, AssetClass.METER, "MTR:0042")


def test_non_canonical_escapes_are_normalised() -> None:
    """Lower-case or needless escapes parse, and print in canonical form."""
    did = IesDid.parse("did:web:d.example:consumers:%41b%2f")
    assert str(did) == "did:web:d.example:consumers:Ab%2F"


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        ("urn:web:d.example", "scheme", "did:"),
        ("did:key:z6Mk", "method", "did:web"),
        ("did:web:-bad.example:consumers:1", "domain", "label"),
        ("did:web:d.example%3A99999:consumers:1", "domain", "port"),
        ("did:web:d.example%2F:consumers:1", "domain", "port"),
        ("did:web:d.example:meter:M1", "kind", "unknown kind 'meter'"),
        ("did:web:d.example:assets:pump:P1", "asset_class", "unknown asset class"),
        ("did:web:d.example:datasets:Meter_Telemetry:1", "asset_class", "kebab-case"),
        ("did:web:d.example:consumers:1:2", "path", "takes <id>"),
        ("did:web:d.example:assets:meter", "path", "<class>:<id>"),
        ("did:web:d.example:consumers:", "local_id", "empty"),
        ("did:web:d.example:consumers:a b", "local_id", "' ' must be percent-encoded"),
        ("did:web:d.example:consumers:a%2", "local_id", "percent-escape"),
        ("did:web:d.example:consumers:%C3%28", "local_id", "UTF-8"),
    ],
)
def test_malformed_ies_dids_name_the_bad_part(text: str, path: str, fragment: str) -> None:
    """Each malformed IES DID raises IdentifierError naming the failing part."""
    with pytest.raises(IdentifierError) as info:
        IesDid.parse(text)
    assert info.value.path == path
    assert fragment in info.value.reason
    assert isinstance(info.value, ValueError)


def test_building_with_bad_parts_is_refused() -> None:
    """The dataclass refuses a class on consumers and an empty local id."""
    with pytest.raises(IdentifierError, match="asset_class"):
        IesDid("d.example", IesKind.CONSUMER, "meter", "1")
    with pytest.raises(IdentifierError, match="local_id"):
        IesDid.meter("d.example", "")


def test_generic_did_and_did_url_parse() -> None:
    """Non-IES DIDs and DID URLs with fragments parse with the generic grammar."""
    assert Did.parse("did:example:customer:abc123").method == "example"
    url = DidUrl.parse("did:web:discom.example#key-1")
    assert (str(url.did), url.fragment) == ("did:web:discom.example", "key-1")
    assert str(url) == "did:web:discom.example#key-1"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("did:Web:x", "method"),
        ("did:web", "method_specific_id"),
        ("did:web:x:", "method_specific_id"),
    ],
)
def test_malformed_generic_dids_are_refused(text: str, path: str) -> None:
    """Upper-case methods, missing or empty-tailed ids are refused."""
    with pytest.raises(IdentifierError) as info:
        Did.parse(text)
    assert info.value.path == path


@given(st.integers(1, 9), st.text("0123456789", min_size=3, max_size=12))
def test_tel_uri_round_trips(first: int, rest: str) -> None:
    """A global number round trips through str and parse."""
    tel = TelUri(f"+{first}{rest}")
    assert TelUri.parse(str(tel)) == tel


@given(
    st.integers(1, 9),
    st.lists(
        st.tuples(
            st.sampled_from(["", "-", ".", "(", ")"]), st.text("0123456789", min_size=1, max_size=3)
        ),
        min_size=3,
        max_size=4,
    ),
)
def test_tel_visual_separators_are_dropped(first: int, groups: list[tuple[str, str]]) -> None:
    """Visual separators anywhere in the number normalise away."""
    written = f"tel:+{first}" + "".join(sep + digits for sep, digits in groups)
    digits = f"+{first}" + "".join(d for _, d in groups)
    assert str(TelUri.parse(written)) == f"tel:{digits}"


def test_tel_example_normalises_and_keeps_extension() -> None:
    """The RFC 3966 example form normalises; ext survives."""
    assert str(TelUri.parse("tel:+91-80-1234-5678")) == "tel:+918012345678"
    assert str(TelUri.parse("TEL:+1-555-0100;ext=42")) == "tel:+15550100;ext=42"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("mailto:a@b", "scheme"),
        ("tel:8012345678", "number"),
        ("tel:+91 80 1234", "number"),
        ("tel:+0801234567", "number"),
        ("tel:+12", "number"),
        ("tel:+1234567890123456", "number"),
        ("tel:+918012345678;phone-context=x", "parameter"),
        ("tel:+918012345678;ext=", "ext"),
    ],
)
def test_malformed_tel_uris_name_the_bad_part(text: str, path: str) -> None:
    """Local numbers, bad characters and unknown parameters each fail specifically."""
    with pytest.raises(IdentifierError) as info:
        TelUri.parse(text)
    assert info.value.path == path


@given(st.lists(st.integers(0, 255), min_size=6, max_size=6))
def test_obis_forms_round_trip(groups: list[int]) -> None:
    """Dotted, reduced and hex forms of one OBIS code parse to the same code."""
    code = ObisCode(*groups)
    assert ObisCode.parse(str(code)) == code
    assert ObisCode.parse(code.reduced) == code
    assert ObisCode.parse(bytes(groups).hex()) == code


def test_obis_reduced_form_defaults_f_to_255() -> None:
    """``1-0:1.8.0`` is the same code as the dotted ``1.0.1.8.0.255``."""
    assert ObisCode.parse("1-0:1.8.0") == ObisCode.parse("1.0.1.8.0.255")


@pytest.mark.parametrize(
    ("text", "path"), [("1.0.1.8.0", "obis"), ("1.0.1.8.0.256", "group f"), ("kWh", "obis")]
)
def test_malformed_obis_codes_are_refused(text: str, path: str) -> None:
    """Wrong group counts, out-of-range groups and words fail."""
    with pytest.raises(IdentifierError) as info:
        ObisCode.parse(text)
    assert info.value.path == path
