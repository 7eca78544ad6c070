"""JOSE building blocks for compact JWS: base64url, JWKs, EdDSA/ES256 signatures, segments.

* Serialisation: RFC 7515 section 7.1 (compact), base64url without padding (section 2),
  duplicate member names refused (section 5.2 step 4).
* ``EdDSA``: RFC 8037 section 3.1 with Ed25519; OKP JWK of section 2.
* ``ES256``: RFC 7518 section 3.4, ECDSA P-256 + SHA-256, the signature being the
  64-byte big-endian ``R || S`` (not DER); EC JWK of section 6.2.

Nothing here knows about credentials; :mod:`iesnode.credentials.jwt` builds VC-JWT on it
(and re-exports the public names).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from iesnode.credentials.errors import CredentialError
from iesnode.protocol.signing import load_signing_key

__all__ = [
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "b64url_decode",
    "b64url_encode",
    "ed25519_from_jwk",
    "encode_json",
    "json_object",
    "jwk_from_ed25519",
    "jwk_from_p256",
    "p256_from_jwk",
    "p256_private_from_jwk",
    "proof_error",
    "sign",
    "verify_signature",
]

Algorithm = Literal["EdDSA", "ES256"]
PrivateKey: TypeAlias = str | Ed25519PrivateKey | ec.EllipticCurvePrivateKey | Mapping[str, Any]
"""EdDSA: base64 32-byte seed (or 64-byte libsodium key), a key object or an OKP JWK with
``d``. ES256: a P-256 key object or an EC JWK with ``d``."""
PublicKey: TypeAlias = bytes | Ed25519PublicKey | ec.EllipticCurvePublicKey | Mapping[str, Any]
"""EdDSA: the 32 raw bytes, a key object or an OKP JWK. ES256: a P-256 key or EC JWK."""

_P256_LEN = 32


def proof_error(reason: str, path: str | None = None) -> CredentialError:
    """A :class:`CredentialError` of the ``proof`` step."""
    return CredentialError("proof", reason, path=path)


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of :func:`b64url_encode`; ``ValueError`` for any other text."""
    if text.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise ValueError("characters outside the base64url alphabet (or padding)")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    if b64url_encode(raw) != text:  # non-zero trailing bits: one value, one encoding
        raise ValueError("not the canonical base64url encoding")
    return raw


def _b64_field(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    try:
        raw = b64url_decode(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise proof_error(
            f"JWK member {name!r} is not {size} base64url bytes", f"publicKeyJwk.{name}"
        )
    return raw


def _expect(jwk: Mapping[str, Any], kty: str, crv: str) -> None:
    if jwk.get("kty") != kty or jwk.get("crv") != crv:
        got = f"{jwk.get('kty')}/{jwk.get('crv')}"
        raise proof_error(f"JWK is {got}, expected {kty}/{crv}", "publicKeyJwk")


def jwk_from_ed25519(public_key: bytes) -> dict[str, str]:
    """The OKP JWK (RFC 8037 section 2) of a raw 32-byte Ed25519 public key."""
    if len(public_key) != _P256_LEN:
        raise proof_error(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}


def ed25519_from_jwk(jwk: Mapping[str, Any]) -> bytes:
    """The raw 32-byte Ed25519 public key of an OKP JWK."""
    _expect(jwk, "OKP", "Ed25519")
    return _b64_field(jwk, "x", 32)


def jwk_from_p256(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The EC JWK (RFC 7518 section 6.2.1) of a P-256 public key; coordinates are 32 bytes."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise proof_error(f"key is on {public_key.curve.name}, not P-256")
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(_P256_LEN, "big")),
        "y": b64url_encode(numbers.y.to_bytes(_P256_LEN, "big")),
    }


def p256_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of an EC JWK; refused when the point is not on the curve."""
    _expect(jwk, "EC", "P-256")
    x = int.from_bytes(_b64_field(jwk, "x", _P256_LEN), "big")
    y = int.from_bytes(_b64_field(jwk, "y", _P256_LEN), "big")
    try:
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError as exc:
        raise proof_error("JWK point is not on P-256", "publicKeyJwk") from exc


def p256_private_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of an EC JWK with ``d``; ``x``/``y`` must match it."""
    d = int.from_bytes(_b64_field(jwk, "d", _P256_LEN), "big")
    key = ec.derive_private_key(d, ec.SECP256R1())
    if jwk_from_p256(key.public_key()) != jwk_from_p256(p256_from_jwk(jwk)):
        raise proof_error("JWK 'd' does not match its 'x'/'y'", "publicKeyJwk")
    return key


def sign(alg: Algorithm, key: PrivateKey, data: bytes) -> bytes:
    """The JWS signature of ``data``: Ed25519 (RFC 8037) or 64-byte ``R || S`` ES256."""
    if alg == "EdDSA":
        if isinstance(key, str):
            try:
                return bytes(load_signing_key(key).sign(data).signature)
            except ValueError as exc:
                raise proof_error(f"EdDSA private key: {exc}") from exc
        if isinstance(key, Mapping):
            _expect(key, "OKP", "Ed25519")
            key = Ed25519PrivateKey.from_private_bytes(_b64_field(key, "d", 32))
        if isinstance(key, Ed25519PrivateKey):
            return key.sign(data)
        raise proof_error(f"alg EdDSA needs an Ed25519 private key, not {type(key).__name__}")
    if isinstance(key, Mapping):
        key = p256_private_from_jwk(key)
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_P256_LEN, "big") + s.to_bytes(_P256_LEN, "big")
    raise proof_error(f"alg ES256 needs a P-256 private key, not {type(key).__name__}")


def _eddsa_key(key: object) -> Ed25519PublicKey:
    if isinstance(key, Mapping):
        key = ed25519_from_jwk(key)
    if isinstance(key, bytes) and len(key) == 32:
        key = Ed25519PublicKey.from_public_bytes(key)
    if not isinstance(key, Ed25519PublicKey):
        raise proof_error(f"alg EdDSA does not match the key ({type(key).__name__})", "alg")
    return key


def _p256_key(key: object) -> ec.EllipticCurvePublicKey:
    if isinstance(key, Mapping):
        key = p256_from_jwk(key)
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        raise proof_error(f"alg ES256 does not match the key ({type(key).__name__})", "alg")
    return key


def verify_signature(alg: str, key: object, data: bytes, signature: bytes) -> None:
    """Check the JWS ``signature`` of ``data`` under ``key`` for ``alg`` (EdDSA or ES256)."""
    try:
        if alg == "EdDSA":
            _eddsa_key(key).verify(signature, data)
            return
        p256 = _p256_key(key)
        if len(signature) != 2 * _P256_LEN:
            raise proof_error(
                f"an ES256 signature is 64 bytes R||S, got {len(signature)}", "signature"
            )
        r = int.from_bytes(signature[:_P256_LEN], "big")
        s = int.from_bytes(signature[_P256_LEN:], "big")
        p256.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise proof_error("signature does not verify", "signature") from exc


def json_object(raw: bytes, what: str, step: Literal["proof", "parse"]) -> dict[str, Any]:
    """A decoded JWS segment as a JSON object; duplicate member names are refused."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError("duplicate member name")
        return dict(pairs)

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CredentialError(step, f"{what} is not JSON: {exc}", path=what) from exc
    if not isinstance(value, dict):
        raise CredentialError(step, f"{what} is not a JSON object", path=what)
    return value


def encode_json(value: Mapping[str, Any]) -> str:
    """A JWS segment: compact JSON of ``value``, UTF-8, base64url."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return b64url_encode(text.encode("utf-8"))
