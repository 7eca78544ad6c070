"""Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite.

Follows W3C "Data Integrity EdDSA Cryptosuites v1.0" section 3.3 (eddsa-jcs-2022:
Create Proof, Verify Proof, Transformation, Hashing, Proof Configuration, Proof
Serialization) inside the frame of "Verifiable Credential Data Integrity 1.0"
section 4 (Add Proof, Verify Proof):

1. proof configuration = ``type`` DataIntegrityProof, ``cryptosuite``, ``created``,
   ``verificationMethod``, ``proofPurpose`` (plus ``challenge``/``domain``) and the
   document's ``@context`` copied in;
2. canonical forms = RFC 8785 (JCS) of the configuration and of the document
   without ``proof``;
3. hashData = SHA-256(canonical configuration) || SHA-256(canonical document);
4. ``proofValue`` = ``z`` + base58btc(Ed25519 signature of hashData, RFC 8032).

One deliberate tightening on verify: the spec only needs the document's ``@context``
to *start with* the proof's ``@context`` and then hashes the proof's; we require the
two to be equal, so a context appended after signing (which the signature would not
cover) is refused. Proof sets and chains are not supported.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.model import parse_date_time_stamp
from iesnode.identity.base58 import b58decode, b58encode
from iesnode.protocol.signing import load_signing_key

__all__ = [
    "CRYPTOSUITE",
    "DATA_INTEGRITY_PROOF",
    "add_proof",
    "canonicalize",
    "hash_data",
    "proof_configuration",
    "proof_verification_method",
    "verify_proof",
]

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
_SIGNATURE_LEN = 64


def canonicalize(value: object) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value; ``ValueError`` if JCS cannot represent it."""
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"cannot canonicalise: {exc}") from None


def hash_data(proof_config: Mapping[str, Any], document: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical proof configuration, then of the canonical document."""
    config_hash = hashlib.sha256(canonicalize(dict(proof_config))).digest()
    document_hash = hashlib.sha256(canonicalize(dict(document))).digest()
    return config_hash + document_hash


def _format_created(created: datetime) -> str:
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_configuration(
    document: Mapping[str, Any],
    *,
    verification_method: str,
    proof_purpose: str,
    created: datetime,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """The proof options, with ``@context`` copied from ``document`` when it has one."""
    if not verification_method or not proof_purpose:
        raise ValueError("verification_method and proof_purpose are required")
    config: dict[str, Any] = {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": CRYPTOSUITE,
        "created": _format_created(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if challenge is not None:
        config["challenge"] = challenge
    if domain is not None:
        config["domain"] = domain
    if "@context" in document:
        config["@context"] = copy.deepcopy(document["@context"])
    return config


def add_proof(
    document: dict[str, Any],
    *,
    private_key: str,
    verification_method: str,
    proof_purpose: str = "assertionMethod",
    created: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` with an eddsa-jcs-2022 ``proof``.

    ``private_key`` is base64 of a 32-byte Ed25519 seed or a 64-byte seed||public key.
    """
    if "proof" in document:
        raise ValueError("the document already has a proof; proof sets are not supported")
    signing_key = load_signing_key(private_key)
    unsecured = copy.deepcopy(document)
    proof = proof_configuration(
        unsecured,
        verification_method=verification_method,
        proof_purpose=proof_purpose,
        created=created if created is not None else datetime.now(UTC),
        challenge=challenge,
        domain=domain,
    )
    signature = signing_key.sign(hash_data(proof, unsecured)).signature
    proof["proofValue"] = "z" + b58encode(signature)
    unsecured["proof"] = proof
    return unsecured


def _proof_of(document: object) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise CredentialError("proof", "a secured document is a JSON object", path="$")
    proof = document.get("proof")
    if proof is None:
        raise CredentialError("proof", "missing proof", path="proof")
    if isinstance(proof, list):
        raise CredentialError("proof", "proof sets are not supported", path="proof")
    if not isinstance(proof, dict):
        raise CredentialError("proof", "proof must be an object", path="proof")
    return proof


def proof_verification_method(document: object) -> str:
    """The ``verificationMethod`` URL of the document's proof."""
    method = _proof_of(document).get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise CredentialError(
            "proof", "verificationMethod is missing", path="proof.verificationMethod"
        )
    return method


def _check_options(
    proof: dict[str, Any], expected_purpose: str, challenge: str | None, domain: str | None
) -> None:
    if proof.get("type") != DATA_INTEGRITY_PROOF:
        raise CredentialError(
            "proof",
            f"proof type {proof.get('type')!r} is not DataIntegrityProof",
            path="proof.type",
        )
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(
            "proof",
            f"cryptosuite {proof.get('cryptosuite')!r} is not {CRYPTOSUITE}",
            path="proof.cryptosuite",
        )
    if proof.get("proofPurpose") != expected_purpose:
        raise CredentialError(
            "proof",
            f"proof purpose {proof.get('proofPurpose')!r}, expected {expected_purpose!r}",
            path="proof.proofPurpose",
        )
    if challenge is not None and proof.get("challenge") != challenge:
        raise CredentialError("proof", "challenge does not match", path="proof.challenge")
    if domain is not None:
        given = proof.get("domain")
        if not (given == domain or (isinstance(given, list) and domain in given)):
            raise CredentialError("proof", "domain does not match", path="proof.domain")
    for name in ("created", "expires"):
        if name in proof:
            try:
                parse_date_time_stamp(str(proof[name]))
            except ValueError as exc:
                raise CredentialError("proof", str(exc), path=f"proof.{name}") from None


def _signature(proof: dict[str, Any]) -> bytes:
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError(
            "proof", "proofValue must be multibase base58btc ('z...')", path="proof.proofValue"
        )
    try:
        raw = b58decode(value[1:])
    except ValueError as exc:
        raise CredentialError("proof", f"bad multibase: {exc}", path="proof.proofValue") from None
    if len(raw) != _SIGNATURE_LEN:
        raise CredentialError(
            "proof",
            f"bad multibase: signature has {len(raw)} bytes, expected 64",
            path="proof.proofValue",
        )
    return raw


def verify_proof(
    document: dict[str, Any],
    public_key: bytes,
    *,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Verify the eddsa-jcs-2022 proof with a raw 32-byte Ed25519 key; return the proof."""
    proof = _proof_of(document)
    proof_verification_method(document)
    _check_options(proof, expected_purpose, challenge, domain)
    signature = _signature(proof)
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise CredentialError(
            "proof", "the proof's @context differs from the document's", path="proof.@context"
        )
    if len(public_key) != 32:
        raise CredentialError("proof", f"public key has {len(public_key)} bytes, expected 32")
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    try:
        data = hash_data(options, unsecured)
    except ValueError as exc:
        raise CredentialError("proof", str(exc), path="$") from None
    try:
        VerifyKey(public_key).verify(data, signature)
    except BadSignatureError:
        raise CredentialError("proof", "signature invalid", path="proof.proofValue") from None
    return copy.deepcopy(proof)
