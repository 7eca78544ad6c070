"""did:key for Ed25519 and base58btc: round trips, a published key pair, malformed input."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from iesnode.identity import DidKey, IdentifierError
from iesnode.identity.base58 import b58decode, b58encode
from iesnode.identity.didkey import decode_multikey, encode_multikey

KEY_PAIR = (
    Path(__file__).resolve().parents[3] / "shared/upstream/vc-di-eddsa/TestVectors/keyPair.json"
)
keys = st.binary(min_size=32, max_size=32)


@given(st.binary(max_size=64))
def test_base58_round_trips_with_leading_zeros(data: bytes) -> None:
    """Any bytes, leading zero bytes included, survive encode -> decode."""
    assert b58decode(b58encode(data)) == data


def test_base58_known_values() -> None:
    """Leading zero bytes become '1's; the empty string encodes empty."""
    assert b58encode(b"") == ""
    assert b58encode(b"\0\0\x01") == "112"
    assert b58encode(b"\x00\xff") == "15Q"


@given(keys)
def test_did_key_round_trips(key: bytes) -> None:
    """build -> str -> parse -> str is the identity and every key starts z6Mk."""
    did = DidKey(key)
    assert str(did).startswith("did:key:z6Mk")
    again = DidKey.parse(str(did))
    assert again == did
    assert str(again) == str(did)


@given(keys)
def test_did_key_from_base64_matches_raw(key: bytes) -> None:
    """The base64 form Beckn registries publish gives the same did:key, and back."""
    did = DidKey.from_base64(base64.b64encode(key).decode())
    assert did.public_key == key
    assert DidKey.from_base64(did.public_key_b64) == did


def test_did_key_of_a_published_key_pair_matches() -> None:
    """The vc-di-eddsa test key pair: our multibase of its public key is the published one."""
    pair = json.loads(KEY_PAIR.read_text())
    private = b58decode(pair["privateKeyMultibase"][1:])
    assert private[:2] == b"\x80\x26"  # multicodec ed25519-priv
    public = bytes(SigningKey(private[2:]).verify_key)
    assert encode_multikey(public) == pair["publicKeyMultibase"]
    assert decode_multikey(pair["publicKeyMultibase"]) == public


def test_key_id_repeats_the_multibase_as_fragment() -> None:
    """The verification method id of a did:key is did#multibase and parses back."""
    did = DidKey(bytes(range(32)))
    assert did.key_id == f"{did}#{did.multibase}"
    assert DidKey.parse(did.key_id) == did


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("did:web:z6Mkexample", "method"),
        ("did:key:6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "multibase"),
        ("did:key:z6Mk0OIl", "multibase"),
        ("did:key:z" + b58encode(b"\xe7\x01" + bytes(33)), "multicodec"),
        ("did:key:z" + b58encode(b"\xed\x01" + bytes(31)), "key"),
        ("did:key:z" + b58encode(b"\xed\x01" + bytes(33)), "key"),
        ("did:key:z" + b58encode(b"\xed\x01" + bytes(32)) + "#other", "fragment"),
    ],
)
def test_malformed_did_keys_name_the_bad_part(text: str, path: str) -> None:
    """Wrong method, multibase, alphabet, codec, length or fragment each fail specifically."""
    with pytest.raises(IdentifierError) as info:
        DidKey.parse(text)
    assert info.value.path == path


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(bytes(31)).decode()])
def test_bad_base64_public_keys_are_refused(value: str) -> None:
    """Non-base64 text and keys of the wrong length are refused."""
    with pytest.raises(IdentifierError, match="key"):
        DidKey.from_base64(value)


def test_raw_keys_of_the_wrong_length_are_refused() -> None:
    """A DidKey holds exactly 32 bytes."""
    with pytest.raises(IdentifierError, match="32 bytes"):
        DidKey(bytes(33))
