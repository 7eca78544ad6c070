"""The registry's ``on_subscribe`` challenge, both sides, as pure logic.

After a ``subscribe`` the registry calls the subscriber's ``POST /on_subscribe`` with
``{"subscriber_id": ..., "challenge": <base64>}``; the subscriber proves it holds the
encryption private key it registered by answering ``{"answer": <plaintext>}``
(``research/beckn-core.md`` sections 3.1-3.3, the PS1 registry API and the ONDC
onboarding flow). The cipher is the one deployed registries use (section 2.5):

* key: the X25519 shared secret of the registry's and the subscriber's encryption
  keys (RFC 7748), used directly as an AES-256 key;
* cipher: AES-256 in ECB mode with PKCS#7 padding, base64 of the ciphertext.

ECB is weak, but the challenge is a short random string under a per-pair key; the
mode is fixed by the registries we must interoperate with.

Keys are accepted as base64 of the raw 32 bytes, of PKCS#8 DER (private; version 0
or 1, with or without the embedded public key) or of SPKI DER (public).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7

__all__ = [
    "ChallengeError",
    "ChallengeFault",
    "answer_challenge",
    "check_answer",
    "decrypt_challenge",
    "encrypt_challenge",
    "generate_encryption_keypair",
    "issue_challenge",
    "load_x25519_private_key",
    "load_x25519_public_key",
    "new_challenge",
    "shared_secret",
]

ChallengeFault = Literal["base64", "length", "padding", "utf8"]

_KEY_BYTES = 32
_BLOCK_BYTES = 16
# DER prefixes (RFC 8410): AlgorithmIdentifier id-X25519 is OID 1.3.101.110.
_X25519_ALGORITHM = bytes.fromhex("300506032b656e")
_SPKI_PREFIX = bytes.fromhex("302a") + _X25519_ALGORITHM + bytes.fromhex("032100")
_PKCS8_OCTETS = _X25519_ALGORITHM + bytes.fromhex("04220420")
_PKCS8_PREFIXES = {
    bytes.fromhex("302e020100") + _PKCS8_OCTETS: False,  # v0 (RFC 5208)
    bytes.fromhex("302e020101") + _PKCS8_OCTETS: False,  # v1, no public key (ONDC docs)
    bytes.fromhex("3051020101") + _PKCS8_OCTETS: True,  # v1 with [1] publicKey (RFC 5958)
}
_LOW_ORDER = "encryption public key is a low-order point: the shared secret is all zero"
_PKCS8_PUBLIC_TAG = bytes.fromhex("812100")
_OTHER_CURVES = {
    bytes.fromhex("06032b6570"): "Ed25519",
    bytes.fromhex("06032b656f"): "X448",
    bytes.fromhex("06032b6571"): "Ed448",
}


class ChallengeError(ValueError):
    """A challenge ciphertext could not be decrypted; ``reason`` says which check failed."""

    def __init__(self, reason: ChallengeFault, message: str) -> None:
        super().__init__(message)
        self.reason: ChallengeFault = reason


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValueError(f"{what} is not valid base64") from exc


def _not_x25519(der: bytes, what: str) -> ValueError:
    for oid, name in _OTHER_CURVES.items():
        if der[:1] == b"\x30" and oid in der[:16]:
            return ValueError(f"{what} is an {name} key, not X25519")
    return ValueError(
        f"{what} must be 32 raw bytes or X25519 DER, got {len(der)} bytes of another format"
    )


def _pkcs8_key(der: bytes) -> bytes | None:
    for prefix, has_public in _PKCS8_PREFIXES.items():
        if not der.startswith(prefix):
            continue
        body = der[len(prefix) :]
        key, rest = body[:_KEY_BYTES], body[_KEY_BYTES:]
        if len(key) != _KEY_BYTES:
            return None
        if not has_public:
            return None if rest else key
        tag, embedded = rest[: len(_PKCS8_PUBLIC_TAG)], rest[len(_PKCS8_PUBLIC_TAG) :]
        if tag != _PKCS8_PUBLIC_TAG or len(embedded) != _KEY_BYTES:
            return None
        if embedded != _public_of(key):
            raise ValueError("encryption private key: embedded public key does not match")
        return key
    return None


def load_x25519_private_key(b64: str) -> bytes:
    """Raw 32-byte X25519 private key from base64 of raw bytes or of PKCS#8 DER."""
    raw = _b64decode(b64, "encryption private key")
    if len(raw) == _KEY_BYTES:
        return raw
    key = _pkcs8_key(raw)
    if key is None:
        raise _not_x25519(raw, "encryption private key")
    return key


def load_x25519_public_key(b64: str) -> bytes:
    """Raw 32-byte X25519 public key from base64 of raw bytes or of SPKI DER."""
    raw = _b64decode(b64, "encryption public key")
    if len(raw) == _KEY_BYTES:
        return raw
    if raw.startswith(_SPKI_PREFIX) and len(raw) == len(_SPKI_PREFIX) + _KEY_BYTES:
        return raw[len(_SPKI_PREFIX) :]
    raise _not_x25519(raw, "encryption public key")


def _public_of(private_raw: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes_raw()


def shared_secret(private_b64: str, public_b64: str) -> bytes:
    """X25519(private, public): the 32-byte AES key both sides derive (RFC 7748 section 6.1)."""
    private = X25519PrivateKey.from_private_bytes(load_x25519_private_key(private_b64))
    public = X25519PublicKey.from_public_bytes(load_x25519_public_key(public_b64))
    try:
        secret = private.exchange(public)
    except ValueError:  # cryptography itself refuses the all-zero result
        secret = bytes(_KEY_BYTES)
    if hmac.compare_digest(secret, bytes(_KEY_BYTES)):
        raise ValueError(_LOW_ORDER)
    return secret


def _cipher(key: bytes) -> Cipher[modes.ECB]:
    if len(key) != _KEY_BYTES:
        raise ValueError(f"challenge key must be {_KEY_BYTES} bytes, got {len(key)}")
    # ECB is what deployed registries use for the challenge; see the module docstring.
    return Cipher(algorithms.AES256(key), modes.ECB())  # noqa: S305


def encrypt_challenge(plaintext: str, key: bytes) -> str:
    """Base64 of AES-256-ECB/PKCS#7 over the UTF-8 plaintext."""
    padder = PKCS7(_BLOCK_BYTES * 8).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = _cipher(key).encryptor()
    return _b64encode(encryptor.update(padded) + encryptor.finalize())


def decrypt_challenge(ciphertext_b64: str, key: bytes) -> str:
    """Plaintext of a base64 AES-256-ECB/PKCS#7 challenge; :class:`ChallengeError` if malformed."""
    cipher = _cipher(key)
    try:
        ciphertext = _b64decode(ciphertext_b64, "challenge")
    except ValueError as exc:
        raise ChallengeError("base64", str(exc)) from exc
    if not ciphertext or len(ciphertext) % _BLOCK_BYTES:
        raise ChallengeError(
            "length",
            f"challenge must be a non-empty multiple of {_BLOCK_BYTES} bytes, "
            f"got {len(ciphertext)}",
        )
    decryptor = cipher.decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = PKCS7(_BLOCK_BYTES * 8).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise ChallengeError(
            "padding", "challenge has bad PKCS#7 padding (wrong key or corrupted)"
        ) from exc
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChallengeError("utf8", "challenge plaintext is not UTF-8 (wrong key?)") from exc


def new_challenge() -> str:
    """A fresh random, URL-safe challenge plaintext (256 bits)."""
    return secrets.token_urlsafe(32)


def answer_challenge(
    challenge_b64: str,
    *,
    own_encryption_private_key: str,
    registry_encryption_public_key: str,
) -> str:
    """Subscriber side: the plaintext to send back as ``{"answer": ...}``."""
    key = shared_secret(own_encryption_private_key, registry_encryption_public_key)
    return decrypt_challenge(challenge_b64, key)


def issue_challenge(
    *,
    registry_encryption_private_key: str,
    subscriber_encryption_public_key: str,
) -> tuple[str, str]:
    """Registry side: a new ``(plaintext, ciphertext_b64)``; send the ciphertext, keep the rest."""
    key = shared_secret(registry_encryption_private_key, subscriber_encryption_public_key)
    plaintext = new_challenge()
    return plaintext, encrypt_challenge(plaintext, key)


def check_answer(expected: str, answer: object) -> bool:
    """Registry side: whether the subscriber's ``answer`` equals the plaintext, in constant time."""
    if not isinstance(answer, str):
        return False
    try:
        given = answer.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot have come from a decryption
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given)


def generate_encryption_keypair() -> tuple[str, str]:
    """A new X25519 key pair as ``(private_b64, public_b64)``, both raw 32 bytes."""
    private = X25519PrivateKey.generate()
    raw_private = private.private_bytes_raw()
    raw_public = private.public_key().public_bytes_raw()
    return _b64encode(raw_private), _b64encode(raw_public)
