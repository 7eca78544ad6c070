"""Bitstring Status List v1.0: bit order, encoding, the shared vector, list credentials, checks."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.status_list import (
    MAXIMUM_BITS,
    MINIMUM_BITS,
    Bitstring,
    check_status,
    decode,
    decompress_list,
    status_entry,
    status_list_credential,
)

VECTOR = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "vectors"
    / "status-list"
    / "bitstring-status-list.json"
)
LIST_URL = "https://dso.example/status/revocation"
ISSUER = "did:web:dso.example"
T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def _vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(VECTOR.read_text())["vectors"]
    return vectors


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _list(purpose: Any = "revocation", indexes: tuple[int, ...] = (94567,)) -> dict[str, Any]:
    return status_list_credential(
        list_id=LIST_URL,
        issuer=ISSUER,
        purpose=purpose,
        bitstring=Bitstring.with_set(indexes),
        valid_from=T0,
    )


# --- the shared vector -------------------------------------------------------------------


def test_vector_file_has_full_length_and_short_cases() -> None:
    """The vector file holds the cases these tests rely on (a missing file fails, not skips)."""
    vectors = _vectors()
    assert [v["bits"] for v in vectors] == [131072, 131072, 100000]


@pytest.mark.parametrize("number", [0, 1])
def test_vector_decodes_to_exactly_its_set_indexes(number: int) -> None:
    """Each full-length vector decodes to its length with exactly the indexes it names set."""
    vector = _vectors()[number]
    bitstring = decode(vector["encodedList"])
    assert len(bitstring) == vector["bits"]
    assert bitstring.set_indexes() == vector["set_indices"]


def test_vector_made_with_python_gzip_is_reproduced_byte_for_byte() -> None:
    """Encoding the vector's indexes gives its encodedList character for character."""
    vector = _vectors()[1]
    assert vector["source"].startswith("made here with Python gzip")
    encoded = Bitstring.with_set(vector["set_indices"], vector["bits"]).encode()
    assert encoded == vector["encodedList"]


def test_spec_example_round_trips_to_the_same_bits() -> None:
    """The spec's all-clear example re-encodes (with another GZIP header) to the same bits."""
    vector = _vectors()[0]
    original = decode(vector["encodedList"])
    assert decode(original.encode()) == original
    assert original.encode() != vector["encodedList"]  # GZIP headers differ by implementation


def test_short_third_party_vector_bit_order_and_refusal() -> None:
    """The 100,000-bit vector has only bit 50000 set (MSB first) and is refused as too short."""
    vector = _vectors()[2]
    raw = decompress_list(vector["encodedList"])
    assert len(raw) * 8 == vector["bits"]
    assert raw[50000 // 8] == 0x80 >> (50000 % 8)
    assert sum(1 for byte in raw if byte) == 1
    with pytest.raises(CredentialError, match="fewer than the minimum 131072") as caught:
        decode(vector["encodedList"])
    assert caught.value.step == "status"


# --- the bitstring -----------------------------------------------------------------------


def test_index_zero_is_the_most_significant_bit_of_byte_zero() -> None:
    """Setting index 0 sets 0x80 of byte 0; index 7 sets 0x01; the last index the last bit."""
    bitstring = Bitstring.with_set([0, 7, MINIMUM_BITS - 1])
    data = bitstring.to_bytes()
    assert data[0] == 0x81
    assert data[-1] == 0x01


def test_set_false_clears_only_that_bit() -> None:
    """Clearing a bit leaves its neighbours in the same byte set."""
    bitstring = Bitstring.with_set([8, 9, 10])
    bitstring.set(9, False)
    assert bitstring.set_indexes() == [8, 10]
    assert not bitstring.get(9)


@pytest.mark.parametrize("length", [0, 8, MINIMUM_BITS - 8, 100_000])
def test_lists_shorter_than_the_spec_minimum_are_refused(length: int) -> None:
    """A bitstring below 131,072 bits cannot be made."""
    with pytest.raises(ValueError, match="at least 131072"):
        Bitstring(length)


@pytest.mark.parametrize("length", [MINIMUM_BITS + 1, MAXIMUM_BITS + 8])
def test_lengths_off_byte_or_over_the_ceiling_are_refused(length: int) -> None:
    """Lengths must be whole bytes and at most the inflation ceiling."""
    with pytest.raises(ValueError, match="multiple of 8"):
        Bitstring(length)


@pytest.mark.parametrize("index", [-1, MINIMUM_BITS])
def test_out_of_range_index_raises(index: int) -> None:
    """get and set refuse indexes outside the list."""
    with pytest.raises(IndexError):
        Bitstring().get(index)


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.integers(min_value=0, max_value=2 * MINIMUM_BITS - 1), max_size=200),
    st.sampled_from([MINIMUM_BITS, 2 * MINIMUM_BITS]),
)
def test_encode_decode_round_trips_any_set_of_indexes(indexes: set[int], length: int) -> None:
    """decode(encode(b)) has the same length and exactly the same set bits."""
    indexes = {index for index in indexes if index < length}
    encoded = Bitstring.with_set(indexes, length).encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    decoded = decode(encoded)
    assert len(decoded) == length
    assert decoded.set_indexes() == sorted(indexes)


@settings(max_examples=20, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MINIMUM_BITS - 1), max_size=50))
def test_encoding_is_deterministic_and_a_standard_gzip(indexes: set[int]) -> None:
    """Two encodings are equal, and the stdlib gunzips the member to the raw bitstring."""
    bitstring = Bitstring.with_set(indexes)
    encoded = bitstring.encode()
    assert encoded == Bitstring.with_set(indexes).encode()
    member = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert gzip.decompress(member) == bitstring.to_bytes()


# --- tolerant read, strict refusal -------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        lambda text: text[1:],  # no multibase prefix
        lambda text: text + "=" * (-len(text[1:]) % 4),  # padded
        lambda text: text[1:].replace("-", "+").replace("_", "/"),  # standard base64 alphabet
    ],
)
def test_reader_accepts_unprefixed_padded_and_standard_base64(variant: Any) -> None:
    """Variants seen in the wild decode to the same bits as the canonical form."""
    bitstring = Bitstring.with_set([3, 94567])
    encoded = bitstring.encode()
    assert "-" in encoded or "_" in encoded  # the variant really changes the alphabet
    assert decode(variant(encoded)) == bitstring


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "non-empty"),
        ("u" + _b64url(bytes(MINIMUM_BITS // 8)), "not GZIP"),
        ("u" + _b64url(b"\x1f\x8b" + bytes(40)), "not valid GZIP"),
        ("u!!not base64!!", "not base64url"),
        ("uH4sIA", "not base64url"),  # a length no base64 text has
        ("u" + _b64url(gzip.compress(bytes(MINIMUM_BITS // 8), mtime=0)[:-12]), "complete"),
        ("u" + _b64url(gzip.compress(bytes(MINIMUM_BITS // 8), mtime=0) * 2), "exactly one"),
        ("u" + _b64url(gzip.compress(bytes(MINIMUM_BITS // 8 - 1), mtime=0)), "fewer than"),
    ],
)
def test_wrongly_encoded_lists_are_refused_with_a_reason(text: str, reason: str) -> None:
    """Raw, non-GZIP, truncated, doubled, non-base64 and short lists each name their fault."""
    with pytest.raises(CredentialError, match=reason) as caught:
        decode(text)
    assert caught.value.step == "status"


def test_a_gzip_bomb_is_refused_before_inflating_fully() -> None:
    """A list inflating past the 16 MiB ceiling is refused."""
    bomb = gzip.compress(bytes(MAXIMUM_BITS // 8 + 1024), mtime=0)
    with pytest.raises(CredentialError, match="inflates beyond"):
        decode("u" + _b64url(bomb))


# --- list credential and entry -----------------------------------------------------------


def test_list_credential_has_the_vc2_shape() -> None:
    """The builder yields a BitstringStatusListCredential whose subject carries the list."""
    credential = _list("suspension", (5,))
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["id"] == LIST_URL
    assert credential["issuer"] == ISSUER
    assert credential["validFrom"] == "2025-06-01T12:00:00Z"
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "suspension"
    assert decode(subject["encodedList"]).set_indexes() == [5]


def test_list_credential_normalises_offsets_and_refuses_naive_times() -> None:
    """validFrom is written in UTC; a datetime without a timezone is refused."""
    ist = timezone(timedelta(hours=5, minutes=30))
    credential = status_list_credential(
        list_id=LIST_URL,
        issuer=ISSUER,
        purpose="revocation",
        bitstring=Bitstring(),
        valid_from=datetime(2025, 6, 1, 17, 30, tzinfo=ist),
        valid_until=datetime(2025, 6, 2, tzinfo=UTC),
    )
    assert credential["validFrom"] == "2025-06-01T12:00:00Z"
    assert credential["validUntil"] == "2025-06-02T00:00:00Z"
    with pytest.raises(ValueError, match="timezone"):
        _list_with_valid_from(datetime(2025, 6, 1))


def _list_with_valid_from(moment: datetime) -> dict[str, Any]:
    return status_list_credential(
        list_id=LIST_URL,
        issuer=ISSUER,
        purpose="revocation",
        bitstring=Bitstring(),
        valid_from=moment,
    )


def test_unknown_purpose_is_refused_by_the_builders() -> None:
    """Only revocation and suspension lists are built."""
    with pytest.raises(ValueError, match="status purpose"):
        _list("message")
    with pytest.raises(ValueError, match="status purpose"):
        status_entry(LIST_URL, 1, "refresh")  # type: ignore[arg-type]


def test_status_entry_uses_a_decimal_string_index_and_a_distinct_id() -> None:
    """The entry's index is a base-10 string and its id is not the list URL."""
    entry = status_entry(LIST_URL, 94567, "revocation")
    assert entry == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }


# --- check_status ------------------------------------------------------------------------


def test_check_status_is_true_for_a_set_bit_and_false_otherwise() -> None:
    """The entry of a set bit reports True; its neighbour reports False."""
    credential = _list()
    assert check_status(status_entry(LIST_URL, 94567, "revocation"), credential) is True
    assert check_status(status_entry(LIST_URL, 94566, "revocation"), credential) is False


def test_check_status_accepts_a_list_with_several_purposes() -> None:
    """A list whose statusPurpose is an array serves each listed purpose."""
    credential = _list()
    credential["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    assert check_status(status_entry(LIST_URL, 94567, "suspension"), credential) is True


def test_purpose_mismatch_is_refused() -> None:
    """A suspension entry checked against a revocation list names the purpose."""
    with pytest.raises(CredentialError, match="statusPurpose 'suspension'") as caught:
        check_status(status_entry(LIST_URL, 94567, "suspension"), _list())
    assert caught.value.path == "credentialStatus.statusPurpose"


def test_index_past_the_end_of_the_list_is_refused() -> None:
    """An index at the list length is out of range."""
    entry = status_entry(LIST_URL, MINIMUM_BITS, "revocation")
    with pytest.raises(CredentialError, match="outside the list of 131072") as caught:
        check_status(entry, _list())
    assert caught.value.path == "credentialStatus.statusListIndex"


@pytest.mark.parametrize("index", [94567, "-1", "1.0", "0x10", " 7", "", "١٢", "9" * 30, None])
def test_malformed_index_is_refused(index: object) -> None:
    """Numbers, signs, decimals, hex, spaces, non-ASCII digits and absurd lengths are refused."""
    entry = status_entry(LIST_URL, 1, "revocation")
    entry["statusListIndex"] = index
    with pytest.raises(CredentialError, match="base-10 string"):
        check_status(entry, _list())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c.update(type=["VerifiableCredential"]), "not a BitstringStatusListCredential"),
        (lambda c: c.pop("type"), "not a BitstringStatusListCredential"),
        (
            lambda c: c["credentialSubject"].update(type="StatusList2021"),
            "not a BitstringStatusList",
        ),
        (lambda c: c.update(credentialSubject=[]), "not a BitstringStatusList"),
        (lambda c: c.update(id="https://evil.example/list"), "id differs"),
        (lambda c: c["credentialSubject"].update(encodedList=7), "encodedList is not a string"),
        (lambda c: c["credentialSubject"].update(encodedList="uAAAA"), "not GZIP"),
    ],
)
def test_unusable_list_credentials_are_refused(change: Any, reason: str) -> None:
    """Wrong types, a foreign list id and a broken encodedList each name their fault."""
    credential = _list()
    change(credential)
    with pytest.raises(CredentialError, match=reason) as caught:
        check_status(status_entry(LIST_URL, 94567, "revocation"), credential)
    assert caught.value.step == "status"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ([], "not a BitstringStatusListEntry"),
        ({**status_entry(LIST_URL, 1, "revocation"), "type": "StatusList2021Entry"}, "not a Bit"),
        ({**status_entry(LIST_URL, 1, "revocation"), "statusSize": 2}, "statusSize"),
    ],
)
def test_unusable_entries_are_refused(entry: object, reason: str) -> None:
    """Non-objects, other entry types and multi-bit statuses are refused."""
    with pytest.raises(CredentialError, match=reason):
        check_status(entry, _list())


def test_non_object_list_credential_is_refused() -> None:
    """A list credential that is not a JSON object is refused."""
    with pytest.raises(CredentialError, match="not a JSON object"):
        check_status(status_entry(LIST_URL, 1, "revocation"), "https://dso.example/status")
