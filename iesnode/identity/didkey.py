"""did:key for Ed25519 public keys.

W3C CCG "The did:key Method" v0.7, sections 3.1 and 3.1.2: ``did:key:`` + multibase
base58btc (prefix ``z``) of the multicodec varint ``0xed 0x01`` (``ed25519-pub``)
followed by the 32-byte public key, so every Ed25519 did:key starts ``did:key:z6Mk``.
The same multibase string is a ``Multikey`` ``publicKeyMultibase`` (W3C Controlled
Identifiers 1.0, section 2.2.2), and the key's verification method id is
``did:key:<mb>#<mb>``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from iesnode.identity.base58 import b58decode, b58encode
from iesnode.identity.errors import IdentifierError

__all__ = ["ED25519_PUB_CODEC", "DidKey", "decode_multikey", "encode_multikey"]

ED25519_PUB_CODEC = b"\xed\x01"
"""The unsigned-varint multicodec prefix of an Ed25519 public key (code 0xed)."""
_KEY_LEN = 32


def encode_multikey(public_key: bytes) -> str:
    """``z`` + base58btc(0xed01 + key): the Multikey form of an Ed25519 public key."""
    if len(public_key) != _KEY_LEN:
        raise IdentifierError(
            public_key.hex(),
            f"an Ed25519 public key has 32 bytes, not {len(public_key)}",
            path="key",
        )
    return "z" + b58encode(ED25519_PUB_CODEC + public_key)


def decode_multikey(multibase: str, *, whole: str | None = None) -> bytes:
    """The 32-byte Ed25519 key inside a ``z6Mk...`` multibase string."""
    text = multibase if whole is None else whole
    if not multibase.startswith("z"):
        raise IdentifierError(text, "multibase must be base58btc (prefix 'z')", path="multibase")
    try:
        raw = b58decode(multibase[1:])
    except ValueError as exc:
        raise IdentifierError(text, str(exc), path="multibase") from None
    if not raw.startswith(ED25519_PUB_CODEC):
        raise IdentifierError(
            text, f"multicodec {raw[:2].hex()} is not ed25519-pub (ed01)", path="multicodec"
        )
    key = raw[len(ED25519_PUB_CODEC) :]
    if len(key) != _KEY_LEN:
        raise IdentifierError(text, f"key has {len(key)} bytes, expected 32", path="key")
    return key


@dataclass(frozen=True, slots=True)
class DidKey:
    """An Ed25519 did:key; ``public_key`` is the raw 32-byte key."""

    public_key: bytes

    def __post_init__(self) -> None:
        encode_multikey(self.public_key)  # validates the length

    @classmethod
    def from_base64(cls, public_key_b64: str) -> DidKey:
        """From the standard base64 of a 32-byte key (how Beckn registries publish keys)."""
        try:
            raw = base64.b64decode(public_key_b64.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IdentifierError(public_key_b64, "not valid base64", path="key") from exc
        if len(raw) != _KEY_LEN:
            raise IdentifierError(
                public_key_b64, f"key has {len(raw)} bytes, expected 32", path="key"
            )
        return cls(raw)

    @classmethod
    def parse(cls, text: str) -> DidKey:
        """Parse ``did:key:z6Mk...`` (an optional ``#fragment`` must repeat the key)."""
        did, _, fragment = text.partition("#")
        if not did.startswith("did:key:"):
            raise IdentifierError(text, "a did:key starts with 'did:key:'", path="method")
        multibase = did.removeprefix("did:key:")
        if fragment and fragment != multibase:
            raise IdentifierError(text, "fragment is not the key's multibase", path="fragment")
        return cls(decode_multikey(multibase, whole=text))

    @property
    def multibase(self) -> str:
        """The ``publicKeyMultibase`` value (``z6Mk...``)."""
        return encode_multikey(self.public_key)

    @property
    def public_key_b64(self) -> str:
        """The standard base64 of the raw key."""
        return base64.b64encode(self.public_key).decode("ascii")

    @property
    def key_id(self) -> str:
        """The verification method id ``did:key:<mb>#<mb>``."""
        return f"{self}#{self.multibase}"

    def __str__(self) -> str:
        return f"did:key:{self.multibase}"
