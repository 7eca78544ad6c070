"""Verifiable presentations: holder-signed, with challenge and domain, and every refusal."""

from __future__ import annotations

import base64
import copy
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iesnode.credentials.eddsa_jcs_2022 import add_proof, verify_proof
from iesnode.credentials.errors import CredentialError
from iesnode.credentials.presentations import present, verify_presentation
from iesnode.identity.didkey import DidKey
from iesnode.protocol.signing import load_signing_key

ISSUER = "did:web:ies.discom.example"
CHALLENGE = "c-5f1e9a"
DOMAIN = "https://verifier.tsp.example"
CREATED = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class Party:
    """A fresh Ed25519 identity: base64 seed, did:key and its verification method."""

    def __init__(self) -> None:
        self.seed = base64.b64encode(os.urandom(32)).decode("ascii")
        self.public = bytes(load_signing_key(self.seed).verify_key)
        did_key = DidKey(self.public)
        self.did = str(did_key)
        self.vm = did_key.key_id


@pytest.fixture
def alice() -> Party:
    """The holder."""
    return Party()


@pytest.fixture
def issuer() -> Party:
    """The DISCOM's signing key (its did:web is ISSUER)."""
    return Party()


def _credential(issuer: Party, subject: Any) -> dict[str, Any]:
    unsecured = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ElectricityCredential"],
        "issuer": ISSUER,
        "credentialSubject": subject,
    }
    return add_proof(unsecured, private_key=issuer.seed, verification_method=f"{ISSUER}#key-1")


def _vp(holder: Party, issuer: Party, **kw: Any) -> dict[str, Any]:
    return present(
        [_credential(issuer, {"id": holder.did, "customerNumber": "C-1"})],
        holder=holder.did,
        private_key=holder.seed,
        verification_method=holder.vm,
        challenge=kw.get("challenge", CHALLENGE),
        domain=kw.get("domain", DOMAIN),
        created=CREATED,
    )


def _signed(holder: Party, document: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A hand-built VP signed by ``holder`` with the given proof options."""
    options: dict[str, Any] = {
        "proof_purpose": "authentication",
        "challenge": CHALLENGE,
        "domain": DOMAIN,
        "verification_method": holder.vm,
        **kw,
    }
    return add_proof(document, private_key=holder.seed, created=CREATED, **options)


def _unsigned(holder: str, credentials: list[Any]) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": credentials,
    }


def _refusal(vp: dict[str, Any], key: bytes, **kw: Any) -> CredentialError:
    with pytest.raises(CredentialError) as info:
        verify_presentation(
            vp,
            holder_key=key,
            challenge=kw.get("challenge", CHALLENGE),
            domain=kw.get("domain", DOMAIN),
        )
    return info.value


# --- round trips ----------------------------------------------------------------------


def test_round_trip_returns_the_embedded_credentials(alice: Party, issuer: Party) -> None:
    """A fresh VP verifies for its challenge and domain and yields the credentials unchanged."""
    vp = _vp(alice, issuer)
    credentials = verify_presentation(
        vp, holder_key=alice.public, challenge=CHALLENGE, domain=DOMAIN
    )
    assert credentials == vp["verifiableCredential"]
    assert verify_proof(credentials[0], issuer.public)["proofPurpose"] == "assertionMethod"


def test_presentation_shape_and_proof_options(alice: Party, issuer: Party) -> None:
    """The VP is a VCDM 2.0 presentation with an authentication proof carrying challenge/domain."""
    vp = _vp(alice, issuer)
    assert (vp["type"], vp["holder"]) == (["VerifiablePresentation"], alice.did)
    proof = vp["proof"]
    assert (proof["proofPurpose"], proof["challenge"], proof["domain"]) == (
        "authentication",
        CHALLENGE,
        DOMAIN,
    )
    assert (proof["verificationMethod"], proof["cryptosuite"]) == (alice.vm, "eddsa-jcs-2022")


def test_empty_presentation_authenticates_the_holder(alice: Party) -> None:
    """A VP with no credentials (DID authentication) verifies and yields an empty list."""
    vp = present(
        [],
        holder=alice.did,
        private_key=alice.seed,
        verification_method=alice.vm,
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    assert (
        verify_presentation(vp, holder_key=alice.public, challenge=CHALLENGE, domain=DOMAIN) == []
    )


def test_holder_among_several_subjects_is_bound(alice: Party, issuer: Party) -> None:
    """A credential with several subjects is bound when one of them is the holder."""
    subjects = [{"id": "did:web:other.example"}, {"id": alice.did}]
    vp = _signed(alice, _unsigned(alice.did, [_credential(issuer, subjects)]))
    assert (
        len(verify_presentation(vp, holder_key=alice.public, challenge=CHALLENGE, domain=DOMAIN))
        == 1
    )


def test_holder_object_and_single_credential_object_are_read(alice: Party, issuer: Party) -> None:
    """holder as {id} and verifiableCredential as one object are both accepted."""
    document = _unsigned(alice.did, [])
    document["holder"] = {"id": alice.did}
    document["verifiableCredential"] = _credential(issuer, {"id": alice.did})
    vp = _signed(alice, document)
    assert (
        len(verify_presentation(vp, holder_key=alice.public, challenge=CHALLENGE, domain=DOMAIN))
        == 1
    )


@settings(max_examples=15, deadline=None)
@given(challenge=st.text(min_size=1, max_size=30), domain=st.text(min_size=1, max_size=30))
def test_any_challenge_and_domain_round_trip(challenge: str, domain: str) -> None:
    """Any unicode challenge/domain survives JCS; a changed challenge is then refused."""
    holder = Party()
    vp = present(
        [],
        holder=holder.did,
        private_key=holder.seed,
        verification_method=holder.vm,
        challenge=challenge,
        domain=domain,
    )
    assert (
        verify_presentation(vp, holder_key=holder.public, challenge=challenge, domain=domain) == []
    )
    error = _refusal(vp, holder.public, challenge=challenge + "x", domain=domain)
    assert error.reason == "challenge does not match"


# --- refusals: presentation step ------------------------------------------------------


def test_wrong_challenge_is_refused(alice: Party, issuer: Party) -> None:
    """A VP made for another challenge (a replay) is refused at step presentation."""
    error = _refusal(_vp(alice, issuer), alice.public, challenge="c-other")
    assert (error.step, error.reason, error.path) == (
        "presentation",
        "challenge does not match",
        "proof.challenge",
    )


def test_wrong_domain_is_refused(alice: Party, issuer: Party) -> None:
    """A VP made for another verifier's domain is refused."""
    error = _refusal(_vp(alice, issuer), alice.public, domain="https://other.example")
    assert (error.step, error.reason, error.path) == (
        "presentation",
        "domain does not match",
        "proof.domain",
    )


def test_proof_without_challenge_is_refused(alice: Party) -> None:
    """A presentation proof must carry a challenge."""
    vp = _signed(alice, _unsigned(alice.did, []), challenge=None)
    assert _refusal(vp, alice.public).reason == "proof has no challenge"


def test_proof_without_domain_is_refused(alice: Party) -> None:
    """A presentation proof must carry a domain."""
    vp = _signed(alice, _unsigned(alice.did, []), domain=None)
    assert _refusal(vp, alice.public).reason == "proof has no domain"


def test_assertion_purpose_is_refused(alice: Party) -> None:
    """An assertionMethod proof (an issuer's, not a holder's) does not authenticate."""
    vp = _signed(alice, _unsigned(alice.did, []), proof_purpose="assertionMethod")
    error = _refusal(vp, alice.public)
    assert (error.step, error.path) == ("presentation", "proof.proofPurpose")
    assert "expected 'authentication'" in error.reason


def test_key_of_another_did_is_refused(alice: Party) -> None:
    """Mallory signing a VP that names Alice as holder: holder mismatch."""
    mallory = Party()
    vp = _signed(mallory, _unsigned(alice.did, []))
    error = _refusal(vp, mallory.public)
    assert (error.step, error.path) == ("presentation", "proof.verificationMethod")


def test_holder_swapped_after_signing_is_refused(alice: Party, issuer: Party) -> None:
    """Replacing holder with another DID no longer matches the proof's key."""
    vp = _vp(alice, issuer)
    vp["holder"] = Party().did
    assert _refusal(vp, alice.public).path == "proof.verificationMethod"


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda vp: vp.update(type=["VerifiableCredential"]), "type"),
        (
            lambda vp: vp.update({"@context": ["https://www.w3.org/2018/credentials/v1"]}),
            "@context",
        ),
        (lambda vp: vp.pop("holder"), "holder"),
    ],
)
def test_not_a_presentation_is_refused(alice: Party, edit: Any, path: str) -> None:
    """Wrong type, a VC 1.1 context or no holder: refused, naming the member."""
    vp = _signed(alice, _unsigned(alice.did, []))
    edit(vp)
    error = _refusal(vp, alice.public)
    assert (error.step, error.path) == ("presentation", path)


def test_enveloped_credential_is_refused(alice: Party) -> None:
    """Enveloped (e.g. vc+jwt) credentials are not handled inside a VP here."""
    envelope = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiableCredential",
        "id": "data:application/vc+jwt,eyJ",
    }
    vp = _signed(alice, _unsigned(alice.did, [envelope]))
    assert "enveloped" in _refusal(vp, alice.public).reason


# --- refusals: proof and holder steps -------------------------------------------------


def test_wrong_holder_key_fails_the_proof(alice: Party, issuer: Party) -> None:
    """Checking with a key that is not Alice's fails the signature."""
    error = _refusal(_vp(alice, issuer), Party().public)
    assert (error.step, error.reason) == ("proof", "signature invalid")


def test_challenge_edited_to_match_fails_the_proof(alice: Party, issuer: Party) -> None:
    """Rewriting proof.challenge to the verifier's new challenge breaks the signature."""
    vp = _vp(alice, issuer)
    vp["proof"]["challenge"] = "c-new"
    assert _refusal(vp, alice.public, challenge="c-new").step == "proof"


def test_tampered_embedded_credential_fails_the_proof(alice: Party, issuer: Party) -> None:
    """Changing an embedded credential after presenting breaks the holder's signature."""
    vp = _vp(alice, issuer)
    vp["verifiableCredential"][0]["credentialSubject"]["customerNumber"] = "C-2"
    assert _refusal(vp, alice.public).step == "proof"


def test_credential_about_someone_else_is_refused(alice: Party, issuer: Party) -> None:
    """A credential whose subject is not the holder fails at step holder."""
    stolen = _credential(issuer, {"id": Party().did})
    vp = _signed(alice, _unsigned(alice.did, [_credential(issuer, {"id": alice.did}), stolen]))
    error = _refusal(vp, alice.public)
    assert (error.step, error.path) == ("holder", "verifiableCredential[1].credentialSubject.id")


def test_bearer_credential_is_not_holder_bound(alice: Party, issuer: Party) -> None:
    """A bearer credential (no credentialSubject.id) cannot be presented as holder-bound."""
    vp = _signed(alice, _unsigned(alice.did, [_credential(issuer, {"customerNumber": "C-1"})]))
    assert _refusal(vp, alice.public).step == "holder"


# --- present() refusals ---------------------------------------------------------------


def test_present_refuses_a_credential_about_someone_else(alice: Party, issuer: Party) -> None:
    """The holder side refuses to present a credential it is not the subject of."""
    with pytest.raises(CredentialError) as info:
        present(
            [_credential(issuer, {"id": Party().did})],
            holder=alice.did,
            private_key=alice.seed,
            verification_method=alice.vm,
            challenge=CHALLENGE,
            domain=DOMAIN,
        )
    assert info.value.step == "holder"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"verification_method": "did:key:z6MkOther#z6MkOther"}, "not a key of the holder"),
        ({"verification_method": "#key-1"}, "not a key of the holder"),
        ({"challenge": ""}, "challenge and domain are required"),
        ({"domain": ""}, "challenge and domain are required"),
    ],
)
def test_present_refuses_bad_options(alice: Party, overrides: dict[str, str], reason: str) -> None:
    """A key not of the holder, or an empty challenge/domain, is refused before signing."""
    options = {"verification_method": alice.vm, "challenge": CHALLENGE, "domain": DOMAIN}
    options.update(overrides)
    with pytest.raises(CredentialError, match=reason) as info:
        present(
            [],
            holder=alice.did,
            private_key=alice.seed,
            verification_method=options["verification_method"],
            challenge=options["challenge"],
            domain=options["domain"],
        )
    assert info.value.step == "presentation"


def test_present_does_not_mutate_its_input(alice: Party, issuer: Party) -> None:
    """The caller's credential list is left as it was."""
    credentials = [_credential(issuer, {"id": alice.did})]
    before = copy.deepcopy(credentials)
    present(
        credentials,
        holder=alice.did,
        private_key=alice.seed,
        verification_method=alice.vm,
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    assert credentials == before
