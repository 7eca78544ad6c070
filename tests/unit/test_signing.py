"""BECKN-006 signing: the published vector, header parsing, signature and time checks."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from iesnode.errors import AuthError
from iesnode.protocol.signing import (
    SIGNED_HEADERS,
    SignatureHeader,
    Signer,
    digest,
    load_signing_key,
    load_verify_key,
    parse_authorization,
    signing_string,
    verify_signature,
    verify_times,
)

VECTORS = Path("/work/shared/vectors/beckn-signing")
VECTOR: dict[str, Any] = json.loads((VECTORS / "beckn-006-search.json").read_text())
BODY = (VECTORS / VECTOR["body_file"]).read_bytes()
KEY_64 = VECTOR["signing_private_key_64_byte_libsodium"]
SEED_32 = base64.b64encode(base64.b64decode(KEY_64)[:32]).decode()
PUBLIC = VECTOR["signing_public_key"]
CREATED: int = VECTOR["created"]
EXPIRES: int = VECTOR["expires"]
HEADER: str = VECTOR["expected_authorization_header"]
SIGNATURE: str = VECTOR["expected_signature_base64"]
KEY_ID = f"{VECTOR['subscriber_id']}|{VECTOR['unique_key_id']}|ed25519"


def _signer(private_key: str = KEY_64) -> Signer:
    return Signer.from_base64(VECTOR["subscriber_id"], VECTOR["unique_key_id"], private_key)


def _code(value: str) -> str:
    with pytest.raises(AuthError) as caught:
        parse_authorization(value)
    return caught.value.code


def test_digest_matches_vector() -> None:
    """The BLAKE2b-512 digest of the vector body matches BECKN-006."""
    assert digest(BODY) == "BLAKE-512=" + VECTOR["expected_digest_base64"]


def test_blake2b_sanity_vector() -> None:
    """BLAKE2b-512 of the quick brown fox matches the published value."""
    sanity = VECTOR["blake2b_512_sanity"]
    assert digest(sanity["input"].encode()) == "BLAKE-512=" + sanity["expected_base64"]


def test_signing_string_matches_vector() -> None:
    """The three-line signing string is byte-identical to the vector's."""
    assert signing_string(CREATED, EXPIRES, digest(BODY)) == VECTOR["expected_signing_string"]


@pytest.mark.parametrize("private_key", [KEY_64, SEED_32], ids=["64-byte", "32-byte-seed"])
def test_signature_matches_vector(private_key: str) -> None:
    """Signing the vector body reproduces the published signature from either key form."""
    assert _signer(private_key).sign_header(BODY, CREATED, EXPIRES).signature == SIGNATURE


@pytest.mark.parametrize("private_key", [KEY_64, SEED_32], ids=["64-byte", "32-byte-seed"])
def test_header_matches_vector(private_key: str) -> None:
    """The full Authorization header is byte-identical to the vector's, from either key form."""
    assert _signer(private_key).sign(BODY, CREATED, EXPIRES) == HEADER


def test_signer_public_key_matches_vector() -> None:
    """The signer exposes the registered public key of the vector."""
    assert _signer(SEED_32).public_key == PUBLIC


def test_default_lifetime_sets_expires() -> None:
    """Without an explicit expires the header expires ``lifetime`` seconds after created."""
    header = _signer().sign_header(BODY, 1000)
    assert (header.created, header.expires) == (1000, 1300)


def test_verify_accepts_vector_header() -> None:
    """The vector header verifies over the vector body with the vector public key."""
    header = parse_authorization(HEADER)
    verify_signature(BODY, header, load_verify_key(PUBLIC))
    verify_times(header, now=CREATED + 10, skew=5)


def test_parse_vector_header_fields() -> None:
    """Parsing the vector header yields its keyId parts, times and signature."""
    assert parse_authorization(HEADER) == SignatureHeader(
        VECTOR["subscriber_id"],
        VECTOR["unique_key_id"],
        "ed25519",
        CREATED,
        EXPIRES,
        SIGNED_HEADERS,
        SIGNATURE,
    )


def _invalid(body: bytes, header: SignatureHeader, public_key: str) -> str:
    with pytest.raises(AuthError) as caught:
        verify_signature(body, header, load_verify_key(public_key))
    return caught.value.code


def test_tampered_body_is_rejected() -> None:
    """One changed byte of the body makes the signature invalid."""
    tampered = BODY.replace(b"Kochi", b"Kochj")
    assert _invalid(tampered, parse_authorization(HEADER), PUBLIC) == "AUT_SIGNATURE_INVALID"


def test_other_key_is_rejected() -> None:
    """A signature checked against another public key is invalid."""
    other = base64.b64encode(bytes(SigningKey(b"\x01" * 32).verify_key)).decode()
    assert _invalid(BODY, parse_authorization(HEADER), other) == "AUT_SIGNATURE_INVALID"


def test_signature_for_other_body_is_rejected() -> None:
    """A valid signature of another body does not verify this body."""
    header = _signer().sign_header(b'{"other":true}', CREATED, EXPIRES)
    assert _invalid(BODY, header, PUBLIC) == "AUT_SIGNATURE_INVALID"


def test_undecodable_signature_is_rejected() -> None:
    """A signature that is not base64 of 64 bytes is invalid, not a crash."""
    header = parse_authorization(HEADER.replace(SIGNATURE, "bm90IGEgc2lnbmF0dXJl"))
    assert _invalid(BODY, header, PUBLIC) == "AUT_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "value",
    [
        HEADER.replace(",", " , ").replace("=", " = ", 1),
        HEADER.replace('created="1641287875"', "created=1641287875").replace(
            'expires="1641291475"', "expires=1641291475"
        ),
        f'"{HEADER}"',
        HEADER.replace("Signature", "signature", 1),
        HEADER.replace("Signature", "SIGNATURE", 1),
        f"  {HEADER}  ",
    ],
    ids=["spaces", "bare-numbers", "outer-quotes", "lower-case", "upper-case", "padding"],
)
def test_parse_is_tolerant(value: str) -> None:
    """Harmless variations of the vector header parse to the same fields."""
    assert parse_authorization(value) == parse_authorization(HEADER)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (HEADER.replace(f'keyId="{KEY_ID}",', ""), "keyId"),
        (HEADER.replace(KEY_ID, "example-bap.com|ed25519"), "keyId"),
        (HEADER + ',created="1641287876"', "created"),
        (HEADER.replace('created="1641287875"', 'created="soon"'), "created"),
        (HEADER.replace("(created) (expires) digest", "(request-target) digest"), "headers"),
        ("Basic dXNlcjpwYXNz", "Signature"),
        ("Signature", "Signature"),
        ('Signature keyId="a|b|ed25519" algorithm', "parse"),
    ],
    ids=[
        "missing-keyId",
        "two-part-keyId",
        "duplicate",
        "non-integer-created",
        "wrong-headers",
        "other-scheme",
        "no-parameters",
        "garbage",
    ],
)
def test_malformed_header_names_the_problem(value: str, named: str) -> None:
    """Each malformed header is AUT_SIGNATURE_MALFORMED and the message names what is wrong."""
    with pytest.raises(AuthError) as caught:
        parse_authorization(value)
    assert caught.value.code == "AUT_SIGNATURE_MALFORMED"
    assert named in caught.value.message
    assert caught.value.path == "Authorization"


def test_duplicate_parameter_is_named() -> None:
    """A repeated parameter is reported as a duplicate."""
    with pytest.raises(AuthError, match="duplicate parameter 'created'"):
        parse_authorization(HEADER + ',created="1641287876"')


def test_algorithm_mismatch() -> None:
    """A keyId algorithm that differs from algorithm= is AUT_ALGORITHM_MISMATCH."""
    value = HEADER.replace('algorithm="ed25519"', 'algorithm="rsa-sha256"')
    assert _code(value) == "AUT_ALGORITHM_MISMATCH"


def _times(created: int, expires: int, now: float, skew: float = 5) -> None:
    header = _signer().sign_header(BODY, created, expires)
    verify_times(header, now, skew)


def test_created_beyond_skew_is_not_yet_valid() -> None:
    """created more than skew seconds ahead of now is AUT_SIGNATURE_NOT_YET_VALID."""
    with pytest.raises(AuthError) as caught:
        _times(1000, 1300, now=994)
    assert caught.value.code == "AUT_SIGNATURE_NOT_YET_VALID"
    assert "created=1000" in caught.value.message
    assert "now=994" in caught.value.message


def test_created_within_skew_is_accepted() -> None:
    """created up to skew seconds ahead of now is accepted."""
    _times(1000, 1300, now=995)


def test_past_expires_is_expired() -> None:
    """now after expires is AUT_SIGNATURE_EXPIRED with the numbers in the message."""
    with pytest.raises(AuthError) as caught:
        _times(1000, 1300, now=1301)
    assert caught.value.code == "AUT_SIGNATURE_EXPIRED"
    assert "expires=1300" in caught.value.message


def test_expires_itself_is_accepted() -> None:
    """A header is still valid at exactly its expires second."""
    _times(1000, 1300, now=1300)


def test_expires_before_created_is_malformed() -> None:
    """A window that ends before it starts is AUT_SIGNATURE_MALFORMED."""
    with pytest.raises(AuthError) as caught:
        _times(1300, 1000, now=1100)
    assert caught.value.code == "AUT_SIGNATURE_MALFORMED"


def test_mismatched_64_byte_key_is_refused() -> None:
    """A 64-byte key whose public half is not the seed's public key raises ValueError."""
    raw = base64.b64decode(KEY_64)
    broken = base64.b64encode(raw[:32] + bytes(32)).decode()
    with pytest.raises(ValueError, match="public half"):
        load_signing_key(broken)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_private_key_is_refused(value: str) -> None:
    """A private key that is not base64 of 32 or 64 bytes raises ValueError."""
    with pytest.raises(ValueError):
        load_signing_key(value)


_ID_TEXT = st.text(
    alphabet=st.characters(exclude_characters='"|', exclude_categories=["Cs"]), min_size=1
)
_HEADERS = st.builds(
    SignatureHeader,
    subscriber_id=_ID_TEXT,
    key_id=_ID_TEXT,
    algorithm=st.just("ed25519"),
    created=st.integers(min_value=0, max_value=2**40),
    expires=st.integers(min_value=0, max_value=2**40),
    headers=st.just(SIGNED_HEADERS),
    signature=st.binary(min_size=64, max_size=64).map(lambda b: base64.b64encode(b).decode()),
)


@given(_HEADERS)
def test_format_then_parse_round_trips(header: SignatureHeader) -> None:
    """Parsing a formatted header gives back the same fields."""
    assert parse_authorization(header.format()) == header


@given(st.text())
def test_arbitrary_text_raises_only_auth_error(value: str) -> None:
    """Any text either parses or raises AuthError, never anything else."""
    with contextlib.suppress(AuthError):
        parse_authorization(value)


@given(st.text(alphabet=st.sampled_from(list('Signature keyId=algorithm"created,|0 9'))))
def test_near_miss_text_raises_only_auth_error(value: str) -> None:
    """Text made of header fragments either parses or raises AuthError."""
    with contextlib.suppress(AuthError):
        parse_authorization(value)
