"""The verifier chain through the API: issue -> verify -> suspend/resume -> revoke, and each
refusal named by its step (issuer, proof, status, validity, holder, licence)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iesnode.clock import FrozenClock
from iesnode.credentials.issuer import CredentialIssuer, did_key_issuer
from iesnode.credentials.jwt import issue_jwt
from iesnode.credentials.verifier import CredentialVerifier, VerificationResult
from iesnode.identity.didkey import DidKey
from iesnode.identity.documents import DidDocument, did_key_document
from iesnode.storage.records import MemoryRecordStore
from iesnode.testing import generate_signing_key

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SUBJECT = "did:web:discom.example:consumers:12345"
LISTS = "https://issuer.example/status"


def credential(**extra: Any) -> dict[str, Any]:
    """An unsigned VC 2.0 about one consumer."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": SUBJECT, "sanctionedLoad": "5"},
        **extra,
    }


async def resolve(did: str) -> DidDocument:
    """did:key documents, resolved locally."""
    return did_key_document(DidKey.parse(did))


class Rig:
    """An issuer with status lists, and a verifier reading those lists."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key or generate_signing_key()[0]
        did, method = did_key_issuer(self.key)
        self.issuer = CredentialIssuer(
            issuer=did,
            verification_method=method,
            private_key=self.key,
            store=MemoryRecordStore(),
            clock=FrozenClock(NOW.timestamp()),
            list_base_url=LISTS,
        )
        self.lists: dict[str, dict[str, Any]] = {}

    async def fetch(self, url: str) -> dict[str, Any]:
        """Serve the issuer's current signed lists (or an override set by a test)."""
        if url in self.lists:
            return self.lists[url]
        purpose = url.rsplit("/", 1)[1]
        return (await self.issuer.signed_list(purpose)).credential  # type: ignore[arg-type]

    async def verify(self, vc: dict[str, Any] | str, **kw: Any) -> VerificationResult:
        """Run the chain at NOW."""
        verifier = CredentialVerifier(
            resolve=resolve, fetch_status_list=self.fetch, **kw.pop("v", {})
        )
        return await verifier.verify(vc, at=kw.pop("at", NOW), **kw)


async def test_issue_verify_suspend_resume_revoke_round_trip() -> None:
    """Valid; suspended fails at status; resumed valid; revoked fails for good."""
    rig = Rig()
    vc = await rig.issuer.issue(credential())
    index = int(vc["credentialStatus"][0]["statusListIndex"])
    assert (await rig.verify(vc)).valid
    await rig.issuer.status.suspend(index)
    suspended = await rig.verify(vc)
    assert (suspended.failed_step, suspended.reason) == (
        "status",
        "the credential's suspension bit is set",
    )
    await rig.issuer.status.resume(index)
    assert (await rig.verify(vc)).valid
    await rig.issuer.status.revoke(index)
    revoked = await rig.verify(vc)
    assert (revoked.failed_step, revoked.reason) == ("status", "the credential is revoked")


async def test_tampered_credential_fails_the_proof() -> None:
    """Changing the subject after signing breaks the proof."""
    rig = Rig()
    vc = await rig.issuer.issue(credential(), with_status=False)
    vc["credentialSubject"]["sanctionedLoad"] = "50"
    assert (await rig.verify(vc)).failed_step == "proof"


async def test_credential_signed_by_another_key_than_its_issuer_is_refused() -> None:
    """The proof's key must be the issuer's: a re-labelled issuer fails at the issuer step."""
    rig, other = Rig(), Rig()
    vc = await other.issuer.issue(credential(), with_status=False)
    vc["issuer"] = rig.issuer.issuer
    result = await rig.verify(vc)
    assert result.failed_step == "issuer"
    assert result.path == "proof.verificationMethod"


async def test_unsigned_or_foreign_status_list_is_refused() -> None:
    """A list without proof, or signed by another issuer, proves nothing: status step fails."""
    rig, other = Rig(), Rig()
    vc = await rig.issuer.issue(credential())
    url = vc["credentialStatus"][0]["statusListCredential"]
    unsigned = copy.deepcopy((await rig.issuer.signed_list("revocation")).credential)
    del unsigned["proof"]
    rig.lists[url] = unsigned
    assert (await rig.verify(vc)).reason == "the status list is not signed"
    rig.lists[url] = (await other.issuer.signed_list("revocation")).credential
    assert (await rig.verify(vc)).failed_step == "status"


@pytest.mark.parametrize(
    ("at", "words"),
    [(NOW - timedelta(days=2), "not yet valid"), (NOW + timedelta(days=40), "expired")],
)
async def test_validity_window_is_enforced(at: datetime, words: str) -> None:
    """Before validFrom and after validUntil the chain fails at validity."""
    rig = Rig()
    window = {"validFrom": NOW.isoformat(), "validUntil": (NOW + timedelta(days=30)).isoformat()}
    vc = await rig.issuer.issue(credential(**window), with_status=False)
    result = await rig.verify(vc, at=at)
    assert result.failed_step == "validity"
    assert words in (result.reason or "")


async def test_holder_binding_and_licence_steps() -> None:
    """A credential about someone else fails at holder; an unlicensed issuer at licence."""
    rig = Rig()
    vc = await rig.issuer.issue(credential(), with_status=False)
    assert (await rig.verify(vc, holder=SUBJECT)).valid
    assert (await rig.verify(vc, holder="did:web:someone.else")).failed_step == "holder"

    async def unlicensed(issuer: str, at: datetime) -> bool:
        return False

    result = await rig.verify(vc, v={"licence_check": unlicensed})
    assert result.failed_step == "licence"
    assert [s.step for s in result.steps][:4] == ["context", "schema", "issuer", "proof"]


async def test_vc_jwt_goes_through_the_same_chain() -> None:
    """A vc+jwt signed by the issuer's did:key verifies; revoking its status entry fails it."""
    rig = Rig()
    allocation = await rig.issuer.status.allocate()
    unsigned = {**credential(), "issuer": rig.issuer.issuer, "credentialStatus": allocation.entries}
    _, method = did_key_issuer(rig.key)
    token = issue_jwt(unsigned, alg="EdDSA", key=rig.key, kid=method)
    result = await rig.verify(token)
    assert result.valid, result
    assert [s.detail for s in result.steps if s.step == "proof"] == ["vc+jwt"]
    await rig.issuer.status.revoke(allocation.index)
    assert (await rig.verify(token)).failed_step == "status"
    assert (await rig.verify(token[:-4] + "AAAA")).failed_step == "proof"


async def test_issuer_object_is_kept_with_our_id() -> None:
    """An issuer object (name, licence) survives issuing; its id becomes ours; it verifies."""
    rig = Rig()
    vc = await rig.issuer.issue(credential(issuer={"id": "x", "name": "Example DISCOM"}))
    assert vc["issuer"] == {"id": rig.issuer.issuer, "name": "Example DISCOM"}
    assert (await rig.verify(vc)).valid
