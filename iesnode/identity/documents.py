"""DID documents: the model a resolver returns, a node's own did:web document, did:key documents.

* Data model: W3C DID Core 1.0 section 5 (``id``, ``controller``, ``alsoKnownAs``,
  ``verificationMethod``, the verification relationships ``authentication``,
  ``assertionMethod``, ``keyAgreement`` ..., and ``service``), JSON representation of
  section 6.2; unknown members are kept.
* Key types: ``Multikey`` with an Ed25519 ``publicKeyMultibase`` (W3C Controlled
  Identifiers 1.0 section 2.2.2), its predecessor ``Ed25519VerificationKey2020``, and
  OKP/Ed25519 ``publicKeyJwk`` (RFC 8037 section 2).
* did:key documents: "The did:key Method" v0.7 section 3.1.2 (one key, referenced from
  every verification relationship).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from iesnode.identity.did import Did, DidUrl, did_web
from iesnode.identity.didkey import DidKey, decode_multikey
from iesnode.identity.errors import IdentifierError

__all__ = [
    "DID_CONTEXT",
    "MULTIKEY_CONTEXT",
    "DidDocument",
    "Relationship",
    "Service",
    "VerificationMethod",
    "did_key_document",
    "node_did_document",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
_MULTIBASE_TYPES = frozenset({"Multikey", "Ed25519VerificationKey2020"})
_JWK_TYPES = frozenset({"JsonWebKey", "JsonWebKey2020"})

Relationship = Literal[
    "authentication",
    "assertion_method",
    "key_agreement",
    "capability_invocation",
    "capability_delegation",
]
"""A verification relationship, by its field name on :class:`DidDocument`."""

_MODEL = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class VerificationMethod(BaseModel):
    """One public key of a DID subject."""

    model_config = _MODEL

    id: str
    type: str
    controller: str
    public_key_multibase: str | None = Field(default=None, alias="publicKeyMultibase")
    public_key_jwk: dict[str, Any] | None = Field(default=None, alias="publicKeyJwk")

    @field_validator("id", "controller")
    @classmethod
    def _did_url(cls, value: str) -> str:
        DidUrl.parse(value)
        return value

    def ed25519_public_key(self) -> bytes:
        """The raw 32-byte Ed25519 key; :class:`IdentifierError` for other key types."""
        if self.type in _MULTIBASE_TYPES and self.public_key_multibase is not None:
            return decode_multikey(self.public_key_multibase)
        jwk = self.public_key_jwk
        if self.type in _JWK_TYPES and jwk is not None:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise IdentifierError(self.id, "JWK is not OKP/Ed25519", path="publicKeyJwk")
            x = str(jwk.get("x", ""))
            try:
                raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            except (binascii.Error, ValueError) as exc:
                raise IdentifierError(self.id, "x is not base64url", path="publicKeyJwk") from exc
            if len(raw) != 32:
                raise IdentifierError(self.id, "x is not 32 bytes", path="publicKeyJwk")
            return raw
        raise IdentifierError(self.id, f"no Ed25519 key in a {self.type}", path="type")


class Service(BaseModel):
    """A service endpoint of a DID subject (DID Core section 5.4)."""

    model_config = _MODEL

    id: str
    type: str | list[str]
    service_endpoint: str | dict[str, Any] | list[Any] = Field(alias="serviceEndpoint")


class DidDocument(BaseModel):
    """A DID document; members this model does not name are kept as extras."""

    model_config = _MODEL

    context: str | list[Any] = Field(default=DID_CONTEXT, alias="@context")
    id: str
    controller: str | list[str] | None = None
    also_known_as: list[str] = Field(default_factory=list, alias="alsoKnownAs")
    verification_method: list[VerificationMethod] = Field(
        default_factory=list, alias="verificationMethod"
    )
    authentication: list[str | VerificationMethod] = Field(default_factory=list)
    assertion_method: list[str | VerificationMethod] = Field(
        default_factory=list, alias="assertionMethod"
    )
    key_agreement: list[str | VerificationMethod] = Field(
        default_factory=list, alias="keyAgreement"
    )
    capability_invocation: list[str | VerificationMethod] = Field(
        default_factory=list, alias="capabilityInvocation"
    )
    capability_delegation: list[str | VerificationMethod] = Field(
        default_factory=list, alias="capabilityDelegation"
    )
    service: list[Service] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _is_did(cls, value: str) -> str:
        Did.parse(value)
        return value

    def _absolute(self, ref: str) -> str:
        return f"{self.id}{ref}" if ref.startswith("#") else ref

    def find_method(self, ref: str) -> VerificationMethod | None:
        """The verification method ``ref`` names (``#key-1`` or an absolute DID URL)."""
        wanted = self._absolute(ref)
        embedded = [
            m
            for rel in (self.authentication, self.assertion_method, self.key_agreement)
            for m in rel
            if isinstance(m, VerificationMethod)
        ]
        for method in (*self.verification_method, *embedded):
            if self._absolute(method.id) == wanted:
                return method
        return None

    def authorises(self, ref: str, relationship: Relationship = "assertion_method") -> bool:
        """True when ``ref`` is listed under ``relationship`` (e.g. ``authentication``)."""
        listed: list[str | VerificationMethod] = getattr(self, relationship)
        wanted = self._absolute(ref)
        return any(self._absolute(m if isinstance(m, str) else m.id) == wanted for m in listed)

    def to_json(self) -> dict[str, Any]:
        """The JSON representation, with the DID Core member names."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {name: value for name, value in data.items() if value != []}


def node_did_document(
    host: str,
    *,
    signing_public_key: str,
    service_endpoint: str,
    key_name: str = "key-1",
    service_type: str = "BecknSubscriber",
) -> DidDocument:
    """The did:web document a node serves at ``https://<host>/.well-known/did.json``.

    ``signing_public_key`` is the base64 of the node's 32-byte Ed25519 key (the one its
    registry entry carries); it becomes one ``Multikey`` used for ``authentication`` and
    ``assertionMethod``; ``service_endpoint`` is the node's subscriber URL.
    """
    did = str(did_web(host))
    key = DidKey.from_base64(signing_public_key)
    method = VerificationMethod.model_validate(
        {
            "id": f"{did}#{key_name}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.multibase,
        }
    )
    ref = f"{did}#{key_name}"
    return DidDocument.model_validate(
        {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
            "id": did,
            "verificationMethod": [method],
            "authentication": [ref],
            "assertionMethod": [ref],
            "service": [
                {"id": f"{did}#beckn", "type": service_type, "serviceEndpoint": service_endpoint}
            ],
        }
    )


def did_key_document(key: DidKey) -> DidDocument:
    """The document a did:key expands to: its one key in every verification relationship."""
    did, ref = str(key), key.key_id
    method = {"id": ref, "type": "Multikey", "controller": did, "publicKeyMultibase": key.multibase}
    return DidDocument.model_validate(
        {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
            "id": did,
            "verificationMethod": [method],
            "authentication": [ref],
            "assertionMethod": [ref],
            "capabilityInvocation": [ref],
            "capabilityDelegation": [ref],
        }
    )
