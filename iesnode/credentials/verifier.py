"""The full verifier chain as one call, with a structured result.

Order (issue 4; VC Data Model 2.0 "Verification", Data Integrity "Verify Proof",
Bitstring Status List "Validate Algorithm"): parse -> context and schema -> resolve the
issuer's DID and check the proof's verification method is the issuer's, authorised
for ``assertionMethod`` -> verify the eddsa-jcs-2022 proof -> optional licence check in
the registry -> every ``credentialStatus`` entry against its (verified) status list ->
validity window -> optional holder binding. The first failing step ends the chain;
the result says which step failed and why, and which steps passed or were skipped.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from iesnode.credentials.eddsa_jcs_2022 import proof_verification_method, verify_proof
from iesnode.credentials.errors import CredentialError, Step
from iesnode.credentials.jwt import b64url_decode, verify_jwt
from iesnode.credentials.model import check_validity, issuer_id, validate_credential
from iesnode.credentials.status_list import check_status
from iesnode.credentials.types import CredentialTypes
from iesnode.errors import ClientError
from iesnode.identity.documents import DidDocument

__all__ = ["CredentialVerifier", "StepOutcome", "VerificationResult"]

Resolve = Callable[[str], Awaitable[DidDocument]]
"""DID -> its document (a ``DidResolver.resolve``)."""
FetchList = Callable[[str], Awaitable[dict[str, Any]]]
"""Status list credential URL -> the list credential."""
LicenceCheck = Callable[[str, datetime], Awaitable[bool]]
"""(issuer DID, at) -> whether the issuer holds a valid licence in the registry."""
RevocationCheck = Callable[[str], Awaitable[bool]]
"""credential id -> whether the registry's revocation registry lists it."""


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step of the chain and how it went."""

    step: Step
    outcome: Literal["passed", "failed", "skipped"]
    detail: str = ""


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What the chain concluded; ``failed_step`` is None when the credential is valid."""

    valid: bool
    failed_step: Step | None = None
    reason: str | None = None
    path: str | None = None
    steps: tuple[StepOutcome, ...] = field(default_factory=tuple)


class CredentialVerifier:
    """Verifies credentials; every dependency is injected so tests run on loopback."""

    def __init__(
        self,
        *,
        resolve: Resolve,
        fetch_status_list: FetchList | None = None,
        licence_check: LicenceCheck | None = None,
        revocation_registry: RevocationCheck | None = None,
        types: CredentialTypes | None = None,
        allowed_contexts: frozenset[str] | None = None,
    ) -> None:
        self._resolve = resolve
        self._fetch = fetch_status_list
        self._licence = licence_check
        self._revoked_in_registry = revocation_registry
        self._types = types
        self._contexts = allowed_contexts

    async def verify(
        self, credential: object, *, at: datetime | None = None, holder: str | None = None
    ) -> VerificationResult:
        """Run the whole chain (a JSON credential or a ``vc+jwt`` string); never raises."""
        at = at or datetime.now(UTC)
        done: list[StepOutcome] = []
        step: Step = "parse"
        enveloped = isinstance(credential, str)
        try:
            if isinstance(credential, str):
                credential = await self._from_jwt(credential)
            if not isinstance(credential, dict):
                raise CredentialError("parse", "a credential must be a JSON object", path="$")
            step = "context"
            if self._contexts is None:
                validate_credential(credential)
            else:
                validate_credential(credential, allowed_contexts=self._contexts)
            done.append(StepOutcome("context", "passed"))
            step = "schema"
            if self._types is not None:
                self._types.validate(credential)
                done.append(StepOutcome("schema", "passed"))
            else:
                done.append(StepOutcome("schema", "skipped", "no credential type schemas"))
            step = "issuer"
            if enveloped:
                done.append(StepOutcome("issuer", "passed", issuer_id(credential)))
                done.append(StepOutcome("proof", "passed", "vc+jwt"))
            else:
                key = await self._issuer_key(credential)
                done.append(StepOutcome("issuer", "passed", issuer_id(credential)))
                step = "proof"
                verify_proof(credential, key)
                done.append(StepOutcome("proof", "passed", "eddsa-jcs-2022"))
            step = "licence"
            await self._check_licence(credential, at, done)
            step = "status"
            await self._check_status(credential, done)
            step = "validity"
            check_validity(credential, at)
            done.append(StepOutcome("validity", "passed"))
            step = "holder"
            self._check_holder(credential, holder, done)
        except CredentialError as exc:
            done.append(StepOutcome(exc.step, "failed", exc.reason))
            return VerificationResult(False, exc.step, exc.reason, exc.path, tuple(done))
        except (ClientError, ValueError) as exc:
            done.append(StepOutcome(step, "failed", str(exc)))
            return VerificationResult(False, step, str(exc), None, tuple(done))
        return VerificationResult(True, steps=tuple(done))

    async def _from_jwt(self, token: str) -> dict[str, Any]:
        """A VC-JWT: resolve the issuer named in the payload, then verify with its key."""
        parts = token.split(".")
        try:
            payload = json.loads(b64url_decode(parts[1])) if len(parts) == 3 else None
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            raise CredentialError("parse", "not a VC-JWT (header.payload.signature)")
        document = await self._resolve(issuer_id(payload))

        def key_for(kid: str) -> object:
            method = document.find_method(kid)
            if method is None or not document.authorises(kid, "assertion_method"):
                raise LookupError(kid)
            jwk = method.public_key_jwk
            if jwk is not None and jwk.get("kty") == "EC":
                return jwk
            return method.ed25519_public_key()

        return verify_jwt(token, key_for=key_for)

    async def _issuer_key(self, credential: dict[str, Any]) -> bytes:
        issuer = issuer_id(credential)
        method = proof_verification_method(credential)
        if method.split("#", 1)[0] != issuer:
            raise CredentialError(
                "issuer",
                f"the proof's key {method!r} is not one of the issuer {issuer!r}",
                path="proof.verificationMethod",
            )
        document = await self._resolve(issuer)
        found = document.find_method(method)
        if found is None or not document.authorises(method, "assertion_method"):
            raise CredentialError(
                "issuer",
                f"{issuer!r} does not authorise {method!r} for assertionMethod",
                path="proof.verificationMethod",
            )
        return found.ed25519_public_key()

    async def _check_licence(
        self, credential: dict[str, Any], at: datetime, done: list[StepOutcome]
    ) -> None:
        if self._licence is None:
            done.append(StepOutcome("licence", "skipped", "no registry licence check"))
            return
        issuer = issuer_id(credential)
        if not await self._licence(issuer, at):
            raise CredentialError("licence", f"{issuer!r} holds no valid licence", path="issuer")
        done.append(StepOutcome("licence", "passed"))

    async def _check_status(self, credential: dict[str, Any], done: list[StepOutcome]) -> None:
        credential_id = credential.get("id")
        listed = self._revoked_in_registry
        if listed is not None and isinstance(credential_id, str) and await listed(credential_id):
            raise CredentialError(
                "status", "the credential is listed in the revocation registry", path="id"
            )
        raw = credential.get("credentialStatus")
        if raw is None:
            done.append(StepOutcome("status", "skipped", "no credentialStatus"))
            return
        entries: Sequence[Any] = raw if isinstance(raw, list) else [raw]
        if self._fetch is None:
            raise CredentialError("status", "the credential has a status but no list can be read")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(
                entry.get("statusListCredential"), str
            ):
                raise CredentialError(
                    "status", "statusListCredential is missing", path=f"credentialStatus[{i}]"
                )
            status_list = await self._fetch(entry["statusListCredential"])
            await self._verify_list(status_list, issuer_id(credential), i)
            if check_status(entry, status_list):
                purpose = entry.get("statusPurpose", "status")
                raise CredentialError(
                    "status",
                    "the credential is revoked"
                    if purpose == "revocation"
                    else f"the credential's {purpose} bit is set",
                    path=f"credentialStatus[{i}]",
                )
        done.append(StepOutcome("status", "passed", f"{len(entries)} entries"))

    async def _verify_list(self, status_list: dict[str, Any], issuer: str, i: int) -> None:
        """A status list must be signed by the credential's issuer, or it proves nothing."""
        if "proof" not in status_list:
            raise CredentialError(
                "status", "the status list is not signed", path=f"credentialStatus[{i}]"
            )
        if issuer_id(status_list) != issuer:
            raise CredentialError(
                "status",
                "the status list has another issuer than the credential",
                path=f"credentialStatus[{i}]",
            )
        try:
            key = await self._issuer_key(status_list)
            verify_proof(status_list, key)
        except CredentialError as exc:
            raise CredentialError(
                "status", f"the status list's proof fails: {exc.reason}", path=exc.path
            ) from exc

    @staticmethod
    def _check_holder(
        credential: dict[str, Any], holder: str | None, done: list[StepOutcome]
    ) -> None:
        if holder is None:
            done.append(StepOutcome("holder", "skipped", "no holder to bind"))
            return
        subjects = credential.get("credentialSubject")
        listed = subjects if isinstance(subjects, list) else [subjects]
        ids = {s.get("id") for s in listed if isinstance(s, dict)}
        if holder not in ids:
            raise CredentialError(
                "holder", f"the credential is not about {holder!r}", path="credentialSubject.id"
            )
        done.append(StepOutcome("holder", "passed"))
