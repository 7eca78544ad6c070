"""Verifiable presentations for holder-bound credentials, with challenge and domain.

* Shape: W3C VC Data Model 2.0 section 4.13 (Verifiable Presentations): ``@context``
  starting with the v2 context, ``type`` including ``VerifiablePresentation``,
  ``holder`` (a URL, or an object whose ``id`` is one) and ``verifiableCredential``
  (the embedded, separately secured credentials).
* Proof: Data Integrity 1.0 section 2.1 with the ``eddsa-jcs-2022`` cryptosuite (see
  :mod:`iesnode.credentials.eddsa_jcs_2022`), ``proofPurpose`` ``authentication``
  (section 2.1 "proof purposes") and the anti-replay ``challenge`` and ``domain``
  (section 2.1; verify-proof steps compare them with the verifier's expectations).
* Holder binding (VCDM 2.0 appendix "Subject-Holder Relationships"; IES
  issue-credentials verifier step 7, research energy-domain.md section 4.1): the
  proof's ``verificationMethod`` must be a key of ``holder`` and every embedded
  credential must have ``holder`` as a ``credentialSubject.id``.

The embedded credentials' own proofs, issuers, status and validity are not checked
here: :func:`verify_presentation` returns them for the verifier chain.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog

from iesnode.credentials.contexts import CREDENTIALS_V2
from iesnode.credentials.eddsa_jcs_2022 import add_proof, proof_verification_method, verify_proof
from iesnode.credentials.errors import CredentialError

__all__ = [
    "AUTHENTICATION",
    "VERIFIABLE_PRESENTATION",
    "present",
    "verify_presentation",
]

log = structlog.get_logger(__name__)

VERIFIABLE_PRESENTATION = "VerifiablePresentation"
AUTHENTICATION = "authentication"
"""The proof purpose of a presentation: the holder authenticates to the verifier."""


def _refuse(reason: str, path: str | None = None) -> CredentialError:
    return CredentialError("presentation", reason, path=path)


def _controls(holder: str, verification_method: str) -> bool:
    """True when ``verification_method`` is an absolute DID URL of ``holder``'s DID."""
    return verification_method.partition("#")[0] == holder


def _subject_ids(credential: Mapping[str, Any]) -> list[object]:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    return [s.get("id") for s in subjects if isinstance(s, Mapping)]


def _check_bound(credential: object, holder: str, index: int) -> dict[str, Any]:
    path = f"verifiableCredential[{index}]"
    if not isinstance(credential, dict):
        raise _refuse("an embedded credential must be a JSON object", path)
    if "EnvelopedVerifiableCredential" in _types(credential):
        raise _refuse("enveloped credentials are not supported in presentations", path)
    if holder not in _subject_ids(credential):
        raise CredentialError(
            "holder", "no credentialSubject.id is the holder", path=f"{path}.credentialSubject.id"
        )
    return credential


def _types(document: Mapping[str, Any]) -> list[object]:
    value = document.get("type")
    return value if isinstance(value, list) else [value]


def present(
    credentials: list[dict[str, Any]],
    *,
    holder: str,
    private_key: str,
    verification_method: str,
    challenge: str,
    domain: str,
    created: datetime | None = None,
) -> dict[str, Any]:
    """Wrap holder-bound ``credentials`` in a VP signed by the holder for one verifier.

    ``private_key`` is the holder's base64 Ed25519 seed; ``verification_method`` must be
    a key of ``holder``; ``challenge`` and ``domain`` are the verifier's.
    """
    if not holder:
        raise _refuse("holder is required", "holder")
    if not _controls(holder, verification_method):
        raise _refuse("verificationMethod is not a key of the holder", "proof.verificationMethod")
    if not challenge or not domain:
        raise _refuse("challenge and domain are required", "proof")
    embedded = [_check_bound(c, holder, i) for i, c in enumerate(credentials)]
    presentation: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "type": [VERIFIABLE_PRESENTATION],
        "holder": holder,
        "verifiableCredential": copy.deepcopy(embedded),
    }
    return add_proof(
        presentation,
        private_key=private_key,
        verification_method=verification_method,
        proof_purpose=AUTHENTICATION,
        created=created,
        challenge=challenge,
        domain=domain,
    )


def _holder_of(vp: Mapping[str, Any]) -> str:
    holder = vp.get("holder")
    value = holder.get("id") if isinstance(holder, Mapping) else holder
    if not isinstance(value, str) or not value:
        raise _refuse("presentation has no holder", "holder")
    return value


def _check_shape(vp: object) -> tuple[dict[str, Any], str]:
    if not isinstance(vp, dict):
        raise _refuse("a presentation is a JSON object", "$")
    contexts = vp.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first != CREDENTIALS_V2:
        raise _refuse(f"first @context must be {CREDENTIALS_V2}", "@context")
    if VERIFIABLE_PRESENTATION not in _types(vp):
        raise _refuse(f"type must include {VERIFIABLE_PRESENTATION}", "type")
    return vp, _holder_of(vp)


def _check_options(proof: Mapping[str, Any], holder: str, challenge: str, domain: str) -> None:
    purpose = proof.get("proofPurpose")
    if purpose != AUTHENTICATION:
        raise _refuse(
            f"proof purpose {purpose!r}, expected {AUTHENTICATION!r}", "proof.proofPurpose"
        )
    if "challenge" not in proof:
        raise _refuse("proof has no challenge", "proof.challenge")
    if proof["challenge"] != challenge:
        raise _refuse("challenge does not match", "proof.challenge")
    given = proof.get("domain")
    if given is None:
        raise _refuse("proof has no domain", "proof.domain")
    if not (given == domain or (isinstance(given, list) and domain in given)):
        raise _refuse("domain does not match", "proof.domain")
    if not _controls(holder, str(proof.get("verificationMethod"))):
        raise _refuse(
            "proof verificationMethod is not a key of the holder", "proof.verificationMethod"
        )


def verify_presentation(
    vp: dict[str, Any], *, holder_key: bytes, challenge: str, domain: str
) -> list[dict[str, Any]]:
    """Verify a holder's VP for this ``challenge`` and ``domain``; return its credentials.

    ``holder_key`` is the raw 32-byte Ed25519 key of the proof's verification method
    (resolved by the caller). Refusals: step ``presentation`` (shape, purpose,
    challenge, domain, a key not of the holder), ``proof`` (signature), ``holder`` (an
    embedded credential not about the holder).
    """
    presentation, holder = _check_shape(vp)
    proof_verification_method(presentation)  # a proof with a verificationMethod, or refused
    _check_options(presentation["proof"], holder, challenge, domain)
    verify_proof(
        presentation,
        holder_key,
        expected_purpose=AUTHENTICATION,
        challenge=challenge,
        domain=domain,
    )
    listed = presentation.get("verifiableCredential", [])
    if isinstance(listed, dict):
        listed = [listed]
    if not isinstance(listed, list):
        raise _refuse("verifiableCredential must be a list of credentials", "verifiableCredential")
    credentials = [_check_bound(c, holder, i) for i, c in enumerate(listed)]
    log.debug("presentation_verified", credentials=len(credentials))
    return copy.deepcopy(credentials)
