"""eddsa-jcs-2022: the W3C vectors byte for byte, tampering, option checks, round trips."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from iesnode.credentials.eddsa_jcs_2022 import (
    add_proof,
    canonicalize,
    hash_data,
    proof_configuration,
    proof_verification_method,
    verify_proof,
)
from iesnode.credentials.errors import CredentialError
from iesnode.identity.base58 import b58decode, b58encode
from iesnode.identity.didkey import decode_multikey

VECTORS = Path(__file__).resolve().parents[2].parent / "shared/upstream/vc-di-eddsa/TestVectors"
JCS = VECTORS / "eddsa-jcs-2022"
CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
ED25519_PRIV_CODEC = b"\x80\x26"  # multicodec ed25519-priv (0x1300) as an unsigned varint


def _json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def _text(name: str) -> str:
    return (JCS / name).read_text(encoding="utf-8")


def _seed_b64() -> str:
    private = _json(VECTORS / "keyPair.json")["privateKeyMultibase"]
    raw = b58decode(private[1:])
    assert private.startswith("z")
    assert raw[:2] == ED25519_PRIV_CODEC
    return base64.b64encode(raw[2:]).decode()


PUBLIC_KEY = decode_multikey(_json(VECTORS / "keyPair.json")["publicKeyMultibase"])
UNSIGNED = _json(VECTORS / "unsigned.json")
SIGNED = _json(JCS / "signedJCS.json")
CONFIG = _json(JCS / "proofConfigJCS.json")


def _vector_config() -> dict[str, Any]:
    return proof_configuration(
        UNSIGNED,
        verification_method=CONFIG["verificationMethod"],
        proof_purpose="assertionMethod",
        created=CREATED,
    )


def _sign(document: dict[str, Any], **options: Any) -> dict[str, Any]:
    return add_proof(
        document,
        private_key=_seed_b64(),
        verification_method=CONFIG["verificationMethod"],
        created=CREATED,
        **options,
    )


def test_proof_configuration_matches_vector() -> None:
    """The built configuration (with @context copied) equals proofConfigJCS.json."""
    assert _vector_config() == CONFIG


def test_canonical_document_matches_vector() -> None:
    """JCS of unsigned.json is canonDocJCS.txt byte for byte."""
    assert canonicalize(UNSIGNED) == (JCS / "canonDocJCS.txt").read_bytes()


def test_canonical_proof_config_matches_vector() -> None:
    """JCS of the proof configuration is proofCanonJCS.txt byte for byte."""
    assert canonicalize(_vector_config()) == (JCS / "proofCanonJCS.txt").read_bytes()


def test_hashes_match_vector() -> None:
    """Document hash, proof hash and their proof-first concatenation match the vector."""
    data = hash_data(_vector_config(), UNSIGNED)
    assert hashlib.sha256(canonicalize(UNSIGNED)).hexdigest() == _text("docHashJCS.txt")
    assert data[:32].hex() == _text("proofHashJCS.txt")
    assert data[32:].hex() == _text("docHashJCS.txt")
    assert data.hex() == _text("combinedHashJCS.txt")


def test_signature_matches_vector() -> None:
    """add_proof yields sigBTC58JCS.txt and exactly signedJCS.json."""
    signed = _sign(UNSIGNED)
    assert signed["proof"]["proofValue"] == _text("sigBTC58JCS.txt")
    assert b58decode(signed["proof"]["proofValue"][1:]).hex() == _text("sigHexJCS.txt")
    assert signed == SIGNED


def test_add_proof_does_not_mutate_input() -> None:
    """The caller's document is left without a proof."""
    before = copy.deepcopy(UNSIGNED)
    _sign(UNSIGNED)
    assert before == UNSIGNED


def test_signed_vector_verifies() -> None:
    """signedJCS.json verifies with the vector's public key and returns its proof."""
    proof = verify_proof(SIGNED, PUBLIC_KEY)
    assert proof == SIGNED["proof"]
    assert proof_verification_method(SIGNED) == CONFIG["verificationMethod"]


def _one_char_edits(text: str) -> list[str]:
    return [text[:i] + ("x" if text[i] != "x" else "y") + text[i + 1 :] for i in range(len(text))]


def test_every_one_character_change_fails() -> None:
    """Changing any single character of the signed vector (document or proof) is refused."""
    checked = 0
    for edited in _one_char_edits(canonicalize(SIGNED).decode()):
        try:
            tampered = json.loads(edited)
        except ValueError:
            continue  # no longer JSON: refused before any proof check
        with pytest.raises(CredentialError) as info:
            verify_proof(tampered, PUBLIC_KEY)
        assert info.value.step == "proof"
        checked += 1
    assert checked > 800


def test_every_proof_value_change_fails_as_signature() -> None:
    """Each one-character change of proofValue is a bad multibase or an invalid signature."""
    value = SIGNED["proof"]["proofValue"]
    for edited in _one_char_edits(value)[1:]:
        tampered = copy.deepcopy(SIGNED)
        tampered["proof"]["proofValue"] = edited
        with pytest.raises(CredentialError, match=r"signature invalid|bad multibase"):
            verify_proof(tampered, PUBLIC_KEY)


def test_changed_claim_fails_signature() -> None:
    """A changed credentialSubject claim gives 'signature invalid'."""
    tampered = copy.deepcopy(SIGNED)
    tampered["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(CredentialError, match="signature invalid") as info:
        verify_proof(tampered, PUBLIC_KEY)
    assert info.value.path == "proof.proofValue"


def test_wrong_key_fails() -> None:
    """Another Ed25519 key does not verify the vector."""
    other = bytes(SigningKey(b"\x07" * 32).verify_key)
    with pytest.raises(CredentialError, match="signature invalid"):
        verify_proof(SIGNED, other)


def test_missing_proof() -> None:
    """A document without proof is refused naming 'proof'."""
    with pytest.raises(CredentialError, match="missing proof") as info:
        verify_proof(UNSIGNED, PUBLIC_KEY)
    assert (info.value.step, info.value.path) == ("proof", "proof")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("type", "Ed25519Signature2020", "not DataIntegrityProof"),
        ("cryptosuite", "eddsa-rdfc-2022", "is not eddsa-jcs-2022"),
        ("proofPurpose", "authentication", "expected 'assertionMethod'"),
        ("created", "2023-02-24T23:36:38", "timezone"),
    ],
)
def test_bad_proof_options(field: str, value: str, reason: str) -> None:
    """Wrong type, cryptosuite, purpose or a zone-less created are refused at their path."""
    tampered = copy.deepcopy(SIGNED)
    tampered["proof"][field] = value
    with pytest.raises(CredentialError, match=reason) as info:
        verify_proof(tampered, PUBLIC_KEY)
    assert info.value.path == f"proof.{field}"


def test_expected_purpose_authentication() -> None:
    """A proof made for authentication verifies only when that purpose is expected."""
    signed = _sign(UNSIGNED, proof_purpose="authentication")
    assert verify_proof(signed, PUBLIC_KEY, expected_purpose="authentication")
    with pytest.raises(CredentialError, match="proof purpose"):
        verify_proof(signed, PUBLIC_KEY)


def test_challenge_and_domain_bound() -> None:
    """challenge and domain are signed and must match what the verifier expects."""
    signed = _sign(UNSIGNED, challenge="n-123", domain="https://verifier.example")
    verify_proof(signed, PUBLIC_KEY, challenge="n-123", domain="https://verifier.example")
    with pytest.raises(CredentialError, match="challenge does not match"):
        verify_proof(signed, PUBLIC_KEY, challenge="n-999")
    with pytest.raises(CredentialError, match="domain does not match"):
        verify_proof(signed, PUBLIC_KEY, domain="https://other.example")


def test_missing_challenge_refused_when_expected() -> None:
    """A proof without a challenge fails when the verifier expects one."""
    with pytest.raises(CredentialError, match="challenge") as info:
        verify_proof(SIGNED, PUBLIC_KEY, challenge="n-123")
    assert info.value.path == "proof.challenge"


@pytest.mark.parametrize("value", ["u2HnFSSP", "z0OIl", "z" + b58encode(b"\1" * 63), 42])
def test_bad_multibase(value: object) -> None:
    """A non-z prefix, non-base58 characters, a wrong length or a non-string are refused."""
    tampered = copy.deepcopy(SIGNED)
    tampered["proof"]["proofValue"] = value
    with pytest.raises(CredentialError, match="multibase") as info:
        verify_proof(tampered, PUBLIC_KEY)
    assert info.value.path == "proof.proofValue"


def test_appended_context_refused() -> None:
    """A context appended after signing (outside the proof's @context) is refused."""
    tampered = copy.deepcopy(SIGNED)
    tampered["@context"].append("https://www.w3.org/ns/credentials/undefined-terms/v2")
    with pytest.raises(CredentialError, match="@context differs") as info:
        verify_proof(tampered, PUBLIC_KEY)
    assert info.value.path == "proof.@context"


def test_proof_set_refused() -> None:
    """A list of proofs (a proof set) is not supported."""
    tampered = copy.deepcopy(SIGNED)
    tampered["proof"] = [tampered["proof"]]
    with pytest.raises(CredentialError, match="proof sets"):
        verify_proof(tampered, PUBLIC_KEY)


def test_missing_verification_method() -> None:
    """proof_verification_method names the missing field."""
    tampered = copy.deepcopy(SIGNED)
    del tampered["proof"]["verificationMethod"]
    with pytest.raises(CredentialError) as info:
        proof_verification_method(tampered)
    assert info.value.path == "proof.verificationMethod"


def test_add_proof_refuses_existing_proof_and_naive_created() -> None:
    """Signing a signed document or with a naive created time is a caller error."""
    with pytest.raises(ValueError, match="already has a proof"):
        _sign(SIGNED)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_proof(
            UNSIGNED,
            private_key=_seed_b64(),
            verification_method="did:key:z#z",
            created=datetime(2023, 1, 1),
        )


def test_created_is_normalised_to_utc_seconds() -> None:
    """created is written in UTC with a Z and whole seconds."""
    local = datetime(2023, 2, 25, 5, 6, 38, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    signed = add_proof(
        UNSIGNED, private_key=_seed_b64(), verification_method="did:key:z#z", created=local
    )
    assert signed["proof"]["created"] == "2023-02-24T23:36:38Z"


def test_64_byte_private_key_accepted() -> None:
    """A libsodium seed||public key signs the same as its seed."""
    seed = base64.b64decode(_seed_b64())
    full = base64.b64encode(seed + PUBLIC_KEY).decode()
    signed = add_proof(
        UNSIGNED,
        private_key=full,
        verification_method=CONFIG["verificationMethod"],
        created=CREATED,
    )
    assert signed == SIGNED


def test_oversized_integer_refused() -> None:
    """An integer JCS cannot represent exactly (>= 2**53) is refused, not mis-signed."""
    tampered = copy.deepcopy(SIGNED)
    tampered["credentialSubject"]["count"] = 2**60
    with pytest.raises(CredentialError, match="canonicalise"):
        verify_proof(tampered, PUBLIC_KEY)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
documents = st.dictionaries(
    st.text(max_size=8).filter(lambda key: key != "proof"), json_values, max_size=6
)


@settings(max_examples=60, deadline=None)
@given(documents, st.binary(min_size=32, max_size=32))
def test_round_trip_any_document(document: dict[str, Any], seed: bytes) -> None:
    """add_proof then verify_proof succeeds for any JSON object and key."""
    signed = add_proof(
        document,
        private_key=base64.b64encode(seed).decode(),
        verification_method="did:key:z6Mk#z6Mk",
        created=CREATED,
    )
    proof = verify_proof(signed, bytes(SigningKey(seed).verify_key))
    assert proof["cryptosuite"] == "eddsa-jcs-2022"


@settings(max_examples=60, deadline=None)
@given(documents)
def test_canonical_form_ignores_member_order(document: dict[str, Any]) -> None:
    """JCS output is independent of member order and parses back to the same value."""
    reordered = dict(reversed(list(document.items())))
    assert canonicalize(reordered) == canonicalize(document)
    # JCS writes numbers the ES6 way (1.0 -> 1, 6.2e16 -> 62...): compare them as floats
    canonical = json.loads(canonicalize(document), parse_int=float)
    assert canonical == json.loads(json.dumps(document), parse_int=float)
