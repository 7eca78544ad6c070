"""VC-JWT: issue and verify with EdDSA and ES256, JWK helpers, and every refusal."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.jwt import (
    b64url_decode,
    b64url_encode,
    ed25519_from_jwk,
    issue_jwt,
    jwk_from_ed25519,
    jwk_from_p256,
    p256_from_jwk,
    p256_private_from_jwk,
    verify_jwt,
)
from iesnode.identity.documents import VerificationMethod
from iesnode.protocol.signing import load_signing_key

ISSUER = "did:web:ies.discom.example"
KID = f"{ISSUER}#key-1"


def _credential(**extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ElectricityCredential"],
        "issuer": ISSUER,
        "validFrom": "2026-01-01T00:00:00+05:30",
        "credentialSubject": {"id": "did:key:z6MkConsumer", "customerNumber": "C-1"},
        **extra,
    }


def _seed() -> tuple[str, bytes]:
    seed = base64.b64encode(os.urandom(32)).decode("ascii")
    return seed, bytes(load_signing_key(seed).verify_key)


def _keys(public: object) -> Callable[[str], object]:
    def key_for(kid: str) -> object:
        if kid != KID:
            raise KeyError(kid)
        return public

    return key_for


def _forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"\0" * 64) -> str:
    parts = (json.dumps(header).encode(), json.dumps(payload).encode(), signature)
    return ".".join(b64url_encode(p) for p in parts)


def _signed_eddsa(header: dict[str, Any], payload: dict[str, Any]) -> tuple[str, bytes]:
    """A token with an arbitrary header, correctly signed with a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    encoded = (b64url_encode(json.dumps(part).encode()) for part in (header, payload))
    head = ".".join(encoded)
    token = f"{head}.{b64url_encode(key.sign(head.encode()))}"
    return token, key.public_key().public_bytes_raw()


def _refusal(token: str, key_for: Callable[[str], object], **kw: Any) -> CredentialError:
    with pytest.raises(CredentialError) as info:
        verify_jwt(token, key_for=key_for, **kw)
    return info.value


def _parts(token: str) -> list[str]:
    return token.split(".")


# --- round trips -------------------------------------------------------------------


def test_eddsa_round_trip_returns_the_credential() -> None:
    """An EdDSA vc+jwt verifies and its payload is the credential plus iss."""
    seed, public = _seed()
    token = issue_jwt(_credential(), alg="EdDSA", key=seed, kid=KID)
    assert verify_jwt(token, key_for=_keys(public)) == {**_credential(), "iss": ISSUER}


def test_es256_round_trip_returns_the_credential() -> None:
    """An ES256 vc+jwt from a fresh P-256 key verifies against its public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = issue_jwt(_credential(), alg="ES256", key=key, kid=KID)
    assert verify_jwt(token, key_for=_keys(key.public_key()))["credentialSubject"]["id"] == (
        "did:key:z6MkConsumer"
    )


def test_es256_round_trip_with_jwk_dicts() -> None:
    """ES256 signs with a private EC JWK and verifies with the public JWK from a DID document."""
    key = ec.generate_private_key(ec.SECP256R1())
    d = b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
    private_jwk = {**jwk_from_p256(key.public_key()), "d": d}
    token = issue_jwt(_credential(), alg="ES256", key=private_jwk, kid=KID)
    assert verify_jwt(token, key_for=_keys(jwk_from_p256(key.public_key())))["iss"] == ISSUER


def test_eddsa_round_trip_with_key_objects_and_okp_jwk() -> None:
    """EdDSA signs with a cryptography key and verifies with its OKP JWK."""
    key = Ed25519PrivateKey.generate()
    token = issue_jwt(_credential(), alg="EdDSA", key=key, kid=KID)
    jwk = jwk_from_ed25519(key.public_key().public_bytes_raw())
    assert verify_jwt(token, key_for=_keys(jwk))["issuer"] == ISSUER


def test_header_names_the_vc_jwt_media_type_and_key() -> None:
    """The protected header is alg, kid, typ vc+jwt and cty vc (VC-JOSE-COSE 3.1.1)."""
    seed, _ = _seed()
    header = json.loads(
        b64url_decode(_parts(issue_jwt(_credential(), alg="EdDSA", key=seed, kid=KID))[0])
    )
    assert header == {"alg": "EdDSA", "kid": KID, "typ": "vc+jwt", "cty": "vc"}


def test_iss_mirrors_an_issuer_object_id() -> None:
    """With issuer as an object, iss is its id."""
    seed, public = _seed()
    cred = _credential(issuer={"id": ISSUER, "name": "DISCOM"})
    token = issue_jwt(cred, alg="EdDSA", key=seed, kid=KID)
    assert verify_jwt(token, key_for=_keys(public))["iss"] == ISSUER


def test_relative_kid_is_resolved_against_the_issuer() -> None:
    """A bare '#key-1' kid reaches key_for as the issuer's absolute DID URL."""
    seed, public = _seed()
    token = issue_jwt(_credential(), alg="EdDSA", key=seed, kid="#key-1")
    assert verify_jwt(token, key_for=_keys(public))["issuer"] == ISSUER


def test_es256_signature_is_64_bytes_r_then_s() -> None:
    """The ES256 signature is R||S (32 + 32 bytes, big-endian), which re-encoded as DER verifies."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = issue_jwt(_credential(), alg="ES256", key=key, kid=KID)
    header, payload, sig = _parts(token)
    raw = b64url_decode(sig)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k != "id"),
        st.one_of(st.text(max_size=20), st.integers(-(2**53), 2**53), st.booleans()),
        max_size=5,
    )
)
def test_any_json_subject_round_trips(subject: dict[str, Any]) -> None:
    """Arbitrary subject members (unicode included) survive issue then verify."""
    key = Ed25519PrivateKey.generate()
    cred = _credential(credentialSubject={"id": "did:key:z6Mk", **subject})
    token = issue_jwt(cred, alg="EdDSA", key=key, kid=KID)
    public = key.public_key().public_bytes_raw()
    assert (
        verify_jwt(token, key_for=_keys(public))["credentialSubject"] == cred["credentialSubject"]
    )


# --- base64url and JWK helpers -------------------------------------------------------


@given(st.binary(max_size=80))
def test_b64url_round_trips(data: bytes) -> None:
    """b64url_decode inverts b64url_encode, and the encoding has no padding."""
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@given(st.text(max_size=12))
def test_b64url_decode_accepts_only_canonical_text(text: str) -> None:
    """Any text either fails with ValueError or is exactly the encoding of what it decodes to."""
    try:
        raw = b64url_decode(text)
    except ValueError:
        return
    assert b64url_encode(raw) == text


@pytest.mark.parametrize("text", ["AA==", "a+b/", "AB", "A", "QQ=", " QQ"])
def test_b64url_decode_refuses_padding_alphabet_and_stray_bits(text: str) -> None:
    """Padding, '+'/'/', non-zero trailing bits, impossible lengths and spaces are refused."""
    with pytest.raises(ValueError):
        b64url_decode(text)


def test_ed25519_jwk_round_trips_and_is_read_by_did_documents() -> None:
    """jwk_from_ed25519 output goes back to the same bytes, here and in a DID document."""
    _, public = _seed()
    jwk = jwk_from_ed25519(public)
    assert ed25519_from_jwk(jwk) == public
    method = VerificationMethod.model_validate(
        {"id": KID, "type": "JsonWebKey2020", "controller": ISSUER, "publicKeyJwk": jwk}
    )
    assert method.ed25519_public_key() == public


def test_p256_jwk_round_trips() -> None:
    """jwk_from_p256 then p256_from_jwk is the same key; coordinates are padded to 32 bytes."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    jwk = jwk_from_p256(key)
    assert len(b64url_decode(jwk["x"])) == len(b64url_decode(jwk["y"])) == 32
    assert p256_from_jwk(jwk).public_numbers() == key.public_numbers()


def test_p256_jwk_off_the_curve_is_refused() -> None:
    """A JWK whose point is not on P-256 is refused."""
    jwk = {**jwk_from_p256(ec.generate_private_key(ec.SECP256R1()).public_key())}
    jwk["y"] = b64url_encode(
        (int.from_bytes(b64url_decode(jwk["y"]), "big") ^ 1).to_bytes(32, "big")
    )
    with pytest.raises(CredentialError, match="not on P-256"):
        p256_from_jwk(jwk)


@pytest.mark.parametrize(
    ("jwk", "reason"),
    [
        ({"kty": "EC", "crv": "P-256", "x": "AA"}, "expected OKP/Ed25519"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "'x' is not 32"),
        ({"kty": "OKP", "crv": "Ed25519"}, "'x' is not 32"),
    ],
)
def test_bad_okp_jwk_is_refused(jwk: dict[str, str], reason: str) -> None:
    """Wrong key type, short or missing x: each refusal says which."""
    with pytest.raises(CredentialError, match=reason):
        ed25519_from_jwk(jwk)


def test_private_jwk_with_foreign_d_is_refused() -> None:
    """A private EC JWK whose d does not belong to its x/y is refused."""
    other = ec.generate_private_key(ec.SECP256R1())
    jwk = {
        **jwk_from_p256(ec.generate_private_key(ec.SECP256R1()).public_key()),
        "d": b64url_encode(other.private_numbers().private_value.to_bytes(32, "big")),
    }
    with pytest.raises(CredentialError, match="does not match"):
        p256_private_from_jwk(jwk)


# --- issuance refusals ----------------------------------------------------------------


def test_issue_refuses_a_credential_without_issuer() -> None:
    """No issuer id: refused (the VCDM issuer check)."""
    seed, _ = _seed()
    cred = _credential()
    del cred["issuer"]
    with pytest.raises(CredentialError) as info:
        issue_jwt(cred, alg="EdDSA", key=seed, kid=KID)
    assert (info.value.step, info.value.path) == ("schema", "issuer")


def test_issue_refuses_a_kid_of_another_did() -> None:
    """Signing as someone else's key: step issuer."""
    seed, _ = _seed()
    with pytest.raises(CredentialError) as info:
        issue_jwt(_credential(), alg="EdDSA", key=seed, kid="did:web:other.example#key-1")
    assert info.value.step == "issuer"


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("EdDSA", ec.generate_private_key(ec.SECP256R1())),
        ("ES256", ec.generate_private_key(ec.SECP384R1())),
        ("ES256", Ed25519PrivateKey.generate()),
    ],
)
def test_issue_refuses_a_key_that_does_not_fit_alg(alg: Any, key: Any) -> None:
    """The key must be of the algorithm's type and curve."""
    with pytest.raises(CredentialError, match=f"alg {alg} needs") as info:
        issue_jwt(_credential(), alg=alg, key=key, kid=KID)
    assert info.value.step == "proof"


# --- verification refusals ------------------------------------------------------------


@pytest.fixture
def eddsa() -> tuple[str, bytes]:
    """A fresh EdDSA token and its public key."""
    seed, public = _seed()
    return issue_jwt(_credential(), alg="EdDSA", key=seed, kid=KID), public


@pytest.mark.parametrize("shape", ["a.b", "a.b.c.d", "", "abc"])
def test_not_three_parts_is_refused(shape: str) -> None:
    """A compact JWS has exactly three parts."""
    error = _refusal(shape, _keys(b""))
    assert (error.step, "three parts" in error.reason) == ("proof", True)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_bad_base64url_in_any_part_is_refused(eddsa: tuple[str, bytes], index: int) -> None:
    """A '+' (base64, not base64url) in header, payload or signature is refused."""
    token, public = eddsa
    parts = _parts(token)
    parts[index] = "+" + parts[index][1:]
    error = _refusal(".".join(parts), _keys(public))
    assert (error.step, "not base64url" in error.reason) == ("proof", True)


def test_header_not_json_is_refused(eddsa: tuple[str, bytes]) -> None:
    """A header that is not JSON: step proof."""
    token, public = eddsa
    error = _refusal(".".join([b64url_encode(b"{alg"), *_parts(token)[1:]]), _keys(public))
    assert (error.step, error.path, error.reason.startswith("header is not JSON")) == (
        "proof",
        "header",
        True,
    )


def test_header_json_array_is_refused(eddsa: tuple[str, bytes]) -> None:
    """A header that is JSON but not an object is refused."""
    token, public = eddsa
    error = _refusal(".".join([b64url_encode(b"[]"), *_parts(token)[1:]]), _keys(public))
    assert error.reason == "header is not a JSON object"


def test_duplicate_header_member_is_refused() -> None:
    """Duplicate names in the header are refused (RFC 7515 section 5.2)."""
    head = b64url_encode(b'{"alg":"EdDSA","kid":"%s","alg":"none"}' % KID.encode())
    token = f"{head}.{b64url_encode(json.dumps(_credential()).encode())}.AAAA"
    assert "duplicate" in _refusal(token, _keys(b"")).reason


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "none", "kid": KID}, "alg none"),
        ({"kid": KID}, "no alg"),
        ({"alg": "HS256", "kid": KID}, "unsupported alg 'HS256'"),
        ({"alg": "RS256", "kid": KID}, "unsupported alg 'RS256'"),
        ({"alg": "EdDSA"}, "no kid"),
        ({"alg": "EdDSA", "kid": ""}, "no kid"),
        ({"alg": "EdDSA", "kid": 7}, "no kid"),
        ({"alg": "EdDSA", "kid": KID, "crit": ["b64"], "b64": False}, "critical"),
        ({"alg": "EdDSA", "kid": KID, "typ": "vp+jwt"}, "typ 'vp+jwt'"),
        ({"alg": "EdDSA", "kid": KID, "typ": "JWT"}, "typ 'JWT'"),
        ({"alg": "EdDSA", "kid": KID, "cty": "vp"}, "cty 'vp'"),
    ],
)
def test_bad_header_is_refused_even_when_signed(header: dict[str, Any], reason: str) -> None:
    """alg none/missing/unknown, no kid, crit, a non-VC typ/cty: each refused with its reason."""
    token, public = _signed_eddsa(header, _credential())
    error = _refusal(token, _keys(public))
    assert error.step == "proof"
    assert reason in error.reason


@pytest.mark.parametrize("typ", ["vc+jwt", "application/vc+jwt", "VC+JWT", "vc+ld+json+jwt"])
def test_vc_typ_spellings_are_accepted(typ: str) -> None:
    """typ with or without 'application/', any case, and the 2023 draft name verify."""
    token, public = _signed_eddsa({"alg": "EdDSA", "kid": KID, "typ": typ}, _credential())
    assert verify_jwt(token, key_for=_keys(public))["issuer"] == ISSUER


def test_es256_token_with_an_ed25519_key_is_refused() -> None:
    """alg ES256 against an Ed25519 key: mismatch, before any signature check."""
    token = issue_jwt(
        _credential(), alg="ES256", key=ec.generate_private_key(ec.SECP256R1()), kid=KID
    )
    error = _refusal(token, _keys(_seed()[1]))
    assert (error.step, error.path) == ("proof", "alg")
    assert "alg ES256 does not match the key (bytes)" in error.reason


def test_eddsa_token_with_a_p256_key_is_refused(eddsa: tuple[str, bytes]) -> None:
    """alg EdDSA against a P-256 key (object or JWK): mismatch."""
    token, _ = eddsa
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert "alg EdDSA does not match" in _refusal(token, _keys(p256)).reason
    assert "expected OKP/Ed25519" in _refusal(token, _keys(jwk_from_p256(p256))).reason


def test_es256_token_with_a_p384_key_is_refused() -> None:
    """ES256 is P-256 only."""
    token = issue_jwt(
        _credential(), alg="ES256", key=ec.generate_private_key(ec.SECP256R1()), kid=KID
    )
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert "alg ES256 does not match" in _refusal(token, _keys(p384)).reason


def test_der_es256_signature_is_refused() -> None:
    """An ES256 signature in DER (not 64-byte R||S) is refused by length."""
    key = ec.generate_private_key(ec.SECP256R1())
    header, payload, _ = _parts(issue_jwt(_credential(), alg="ES256", key=key, kid=KID))
    der = key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    error = _refusal(f"{header}.{payload}.{b64url_encode(der)}", _keys(key.public_key()))
    assert "64 bytes R||S" in error.reason


def test_wrong_key_fails_the_signature(eddsa: tuple[str, bytes]) -> None:
    """A valid-looking token checked with another Ed25519 key does not verify."""
    token, _ = eddsa
    error = _refusal(token, _keys(_seed()[1]))
    assert (error.step, error.reason) == ("proof", "signature does not verify")


def test_tampered_payload_fails_the_signature(eddsa: tuple[str, bytes]) -> None:
    """Changing one subject value (still valid JSON) breaks the signature."""
    token, public = eddsa
    header, payload, sig = _parts(token)
    claims = json.loads(b64url_decode(payload))
    claims["credentialSubject"]["customerNumber"] = "C-2"
    forged = f"{header}.{b64url_encode(json.dumps(claims).encode())}.{sig}"
    assert _refusal(forged, _keys(public)).reason == "signature does not verify"


def test_tampered_header_fails_the_signature(eddsa: tuple[str, bytes]) -> None:
    """Re-encoding the header (an accepted typ spelling) breaks the signature."""
    token, public = eddsa
    header, payload, sig = _parts(token)
    fields = {**json.loads(b64url_decode(header)), "typ": "application/vc+jwt"}
    forged = f"{b64url_encode(json.dumps(fields).encode())}.{payload}.{sig}"
    assert _refusal(forged, _keys(public)).reason == "signature does not verify"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_tampered_signature_is_refused(alg: Any) -> None:
    """Flipping one signature bit fails verification for both algorithms."""
    key: Any = (
        Ed25519PrivateKey.generate() if alg == "EdDSA" else ec.generate_private_key(ec.SECP256R1())
    )
    header, payload, sig = _parts(issue_jwt(_credential(), alg=alg, key=key, kid=KID))
    raw = bytearray(b64url_decode(sig))
    raw[5] ^= 0x01
    error = _refusal(f"{header}.{payload}.{b64url_encode(bytes(raw))}", _keys(key.public_key()))
    assert (error.step, error.reason) == ("proof", "signature does not verify")


def test_unknown_kid_is_refused(eddsa: tuple[str, bytes]) -> None:
    """key_for raising LookupError becomes a proof refusal naming the kid."""
    token, _ = eddsa

    def nobody(kid: str) -> object:
        raise KeyError(kid)

    error = _refusal(token, nobody)
    assert (error.step, error.path, KID in error.reason) == ("proof", "kid", True)


def test_kid_of_another_did_is_refused() -> None:
    """A key of a different DID cannot sign for the issuer: step issuer."""
    token, public = _signed_eddsa({"alg": "EdDSA", "kid": "did:key:z6MkAttacker#k"}, _credential())
    error = _refusal(token, lambda _: public)
    assert (error.step, error.path) == ("issuer", "kid")


def test_iss_differing_from_issuer_is_refused() -> None:
    """iss must mirror the issuer (VC-JOSE-COSE 3.1.1)."""
    token, public = _signed_eddsa(
        {"alg": "EdDSA", "kid": KID}, {**_credential(), "iss": "did:web:x"}
    )
    error = _refusal(token, _keys(public))
    assert (error.step, error.path) == ("issuer", "iss")


def test_payload_not_an_object_is_a_parse_refusal() -> None:
    """An authentic-looking token whose payload is a JSON string fails at parse."""
    head = b64url_encode(json.dumps({"alg": "EdDSA", "kid": KID}).encode())
    body = b64url_encode(json.dumps("vc").encode())
    token = f"{head}.{body}.AAAA"
    error = _refusal(token, _keys(b""))
    assert (error.step, error.reason) == ("parse", "payload is not a JSON object")


def test_expired_token_is_refused_when_now_is_given() -> None:
    """exp in the past: step validity; without now the claim is left to the caller."""
    token, public = _signed_eddsa({"alg": "EdDSA", "kid": KID}, {**_credential(), "exp": 1000})
    assert verify_jwt(token, key_for=_keys(public))["exp"] == 1000
    error = _refusal(token, _keys(public), now=1000.0)
    assert (error.step, error.path) == ("validity", "exp")


def test_token_before_nbf_is_refused() -> None:
    """nbf in the future: step validity."""
    token, public = _signed_eddsa({"alg": "EdDSA", "kid": KID}, {**_credential(), "nbf": 2000})
    assert _refusal(token, _keys(public), now=1999.0).path == "nbf"
    assert verify_jwt(token, key_for=_keys(public), now=2000.0)["nbf"] == 2000
