"""VC-JWT: W3C VC 2.0 credentials secured with JOSE compact JWS (EdDSA, ES256).

* Securing mechanism: W3C "Securing Verifiable Credentials using JOSE and COSE"
  section 3.1.1: the JWS payload *is* the credential; header ``typ`` ``vc+jwt`` (media
  type ``application/vc+jwt``) and ``cty`` ``vc``; ``iss``, when present, names the
  credential's issuer; ``kid`` is the issuer's verification method (a DID URL).
  Research (energy-domain.md section 4.1) names ``vc-jwt`` the IES default format and
  is silent on header values, so the Recommendation's are used.
* Serialisation: RFC 7515 section 7.1 (compact), base64url without padding (section 2),
  duplicate member names refused (section 5.2 step 4), ``crit`` refused (section
  4.1.11: no extension is understood), ``alg: none`` refused (RFC 8725 section 3.2).
* ``EdDSA``: RFC 8037 section 3.1 with Ed25519; OKP JWK of section 2.
* ``ES256``: RFC 7518 section 3.4, ECDSA P-256 + SHA-256, the signature being the
  64-byte big-endian ``R || S`` (not DER); EC JWK of section 6.2.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.model import issuer_id
from iesnode.protocol.signing import load_signing_key

__all__ = [
    "MEDIA_TYPE",
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "b64url_decode",
    "b64url_encode",
    "ed25519_from_jwk",
    "issue_jwt",
    "jwk_from_ed25519",
    "jwk_from_p256",
    "p256_from_jwk",
    "p256_private_from_jwk",
    "verify_jwt",
]

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/vc+jwt"
Algorithm = Literal["EdDSA", "ES256"]
PrivateKey: TypeAlias = str | Ed25519PrivateKey | ec.EllipticCurvePrivateKey | Mapping[str, Any]
"""EdDSA: base64 32-byte seed (or 64-byte libsodium key), a key object or an OKP JWK with
``d``. ES256: a P-256 key object or an EC JWK with ``d``."""
PublicKey: TypeAlias = bytes | Ed25519PublicKey | ec.EllipticCurvePublicKey | Mapping[str, Any]
"""EdDSA: the 32 raw bytes, a key object or an OKP JWK. ES256: a P-256 key or EC JWK."""

_TYP = frozenset({"vc+jwt", "vc+ld+json+jwt"})  # the second: 2023 drafts
_CTY = frozenset({"vc", "vc+ld+json"})
_P256_LEN = 32


def _proof(reason: str, path: str | None = None) -> CredentialError:
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
        raise _proof(f"JWK member {name!r} is not {size} base64url bytes", f"publicKeyJwk.{name}")
    return raw


def _expect(jwk: Mapping[str, Any], kty: str, crv: str) -> None:
    if jwk.get("kty") != kty or jwk.get("crv") != crv:
        got = f"{jwk.get('kty')}/{jwk.get('crv')}"
        raise _proof(f"JWK is {got}, expected {kty}/{crv}", "publicKeyJwk")


def jwk_from_ed25519(public_key: bytes) -> dict[str, str]:
    """The OKP JWK (RFC 8037 section 2) of a raw 32-byte Ed25519 public key."""
    if len(public_key) != _P256_LEN:
        raise _proof(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}


def ed25519_from_jwk(jwk: Mapping[str, Any]) -> bytes:
    """The raw 32-byte Ed25519 public key of an OKP JWK."""
    _expect(jwk, "OKP", "Ed25519")
    return _b64_field(jwk, "x", 32)


def jwk_from_p256(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The EC JWK (RFC 7518 section 6.2.1) of a P-256 public key; coordinates are 32 bytes."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise _proof(f"key is on {public_key.curve.name}, not P-256")
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
        raise _proof("JWK point is not on P-256", "publicKeyJwk") from exc


def p256_private_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of an EC JWK with ``d``; ``x``/``y`` must match it."""
    d = int.from_bytes(_b64_field(jwk, "d", _P256_LEN), "big")
    key = ec.derive_private_key(d, ec.SECP256R1())
    if jwk_from_p256(key.public_key()) != jwk_from_p256(p256_from_jwk(jwk)):
        raise _proof("JWK 'd' does not match its 'x'/'y'", "publicKeyJwk")
    return key


def _sign(alg: Algorithm, key: PrivateKey, data: bytes) -> bytes:
    if alg == "EdDSA":
        if isinstance(key, str):
            try:
                return bytes(load_signing_key(key).sign(data).signature)
            except ValueError as exc:
                raise _proof(f"EdDSA private key: {exc}") from exc
        if isinstance(key, Mapping):
            _expect(key, "OKP", "Ed25519")
            key = Ed25519PrivateKey.from_private_bytes(_b64_field(key, "d", 32))
        if isinstance(key, Ed25519PrivateKey):
            return key.sign(data)
        raise _proof(f"alg EdDSA needs an Ed25519 private key, not {type(key).__name__}")
    if isinstance(key, Mapping):
        key = p256_private_from_jwk(key)
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_P256_LEN, "big") + s.to_bytes(_P256_LEN, "big")
    raise _proof(f"alg ES256 needs a P-256 private key, not {type(key).__name__}")


def _eddsa_key(key: object) -> Ed25519PublicKey:
    if isinstance(key, Mapping):
        key = ed25519_from_jwk(key)
    if isinstance(key, bytes) and len(key) == 32:
        key = Ed25519PublicKey.from_public_bytes(key)
    if not isinstance(key, Ed25519PublicKey):
        raise _proof(f"alg EdDSA does not match the key ({type(key).__name__})", "alg")
    return key


def _p256_key(key: object) -> ec.EllipticCurvePublicKey:
    if isinstance(key, Mapping):
        key = p256_from_jwk(key)
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        raise _proof(f"alg ES256 does not match the key ({type(key).__name__})", "alg")
    return key


def _verify(alg: str, key: object, data: bytes, signature: bytes) -> None:
    try:
        if alg == "EdDSA":
            _eddsa_key(key).verify(signature, data)
            return
        p256 = _p256_key(key)
        if len(signature) != 2 * _P256_LEN:
            raise _proof(f"an ES256 signature is 64 bytes R||S, got {len(signature)}", "signature")
        r = int.from_bytes(signature[:_P256_LEN], "big")
        s = int.from_bytes(signature[_P256_LEN:], "big")
        p256.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _proof("signature does not verify", "signature") from exc


def _json_object(raw: bytes, what: str, step: Literal["proof", "parse"]) -> dict[str, Any]:
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


def _bound_kid(kid: str, issuer: str) -> str:
    """``kid`` as an absolute DID URL; it must be a verification method of ``issuer``."""
    absolute = issuer + kid if kid.startswith("#") else kid
    if absolute.partition("#")[0] != issuer:
        raise CredentialError(
            "issuer", f"kid {kid!r} is not a key of issuer {issuer!r}", path="kid"
        )
    return absolute


def _encode(value: Mapping[str, Any]) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return b64url_encode(text.encode("utf-8"))


def issue_jwt(credential: dict[str, Any], *, alg: Algorithm, key: PrivateKey, kid: str) -> str:
    """Secure ``credential`` as a compact ``vc+jwt`` signed by ``kid`` (a key of its issuer)."""
    issuer = issuer_id(credential)
    if credential.get("iss", issuer) != issuer:
        raise CredentialError("parse", "'iss' differs from the issuer", path="iss")
    if alg not in ("EdDSA", "ES256"):
        raise _proof(f"unsupported alg {alg!r}; use EdDSA or ES256", "alg")
    if not kid:
        raise _proof("kid is required", "kid")
    _bound_kid(kid, issuer)
    header = {"alg": alg, "kid": kid, "typ": "vc+jwt", "cty": "vc"}
    signing_input = f"{_encode(header)}.{_encode({**credential, 'iss': issuer})}"
    signature = _sign(alg, key, signing_input.encode("ascii"))
    log.debug("vc_jwt_issued", alg=alg)
    return f"{signing_input}.{b64url_encode(signature)}"


def _check_header(header: Mapping[str, Any]) -> tuple[str, str]:
    alg = header.get("alg")
    if alg is None:
        raise _proof("header has no alg", "alg")
    if alg == "none":
        raise _proof("unsecured JWS (alg none) is refused", "alg")
    if alg not in ("EdDSA", "ES256"):
        raise _proof(f"unsupported alg {alg!r}; use EdDSA or ES256", "alg")
    if "crit" in header:
        raise _proof("critical header extensions are not supported", "crit")
    for name, allowed in (("typ", _TYP), ("cty", _CTY)):
        value = header.get(name)
        if value is not None and str(value).lower().removeprefix("application/") not in allowed:
            raise _proof(f"header {name} {value!r} is not a VC-JWT", name)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _proof("header has no kid", "kid")
    return alg, kid


def _check_times(payload: Mapping[str, Any], now: float) -> None:
    for claim in ("exp", "nbf"):
        value = payload.get(claim)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CredentialError("validity", f"{claim} is not NumericDate", path=claim)
        if claim == "exp" and now >= value:
            raise CredentialError("validity", f"token expired at {value}", path=claim)
        if claim == "nbf" and now < value:
            raise CredentialError("validity", f"token not valid before {value}", path=claim)


def verify_jwt(
    token: str, *, key_for: Callable[[str], object], now: float | None = None
) -> dict[str, Any]:
    """Verify a ``vc+jwt`` and return its payload, the credential.

    ``key_for`` maps the header ``kid`` (made absolute against the issuer when it is a
    bare ``#fragment``) to the public key (see :data:`PublicKey`); ``LookupError`` means
    unknown. ``kid`` must name a key of the credential's issuer and ``iss`` (when present)
    must equal it. With ``now`` (Unix seconds) the JWT ``exp``/``nbf`` claims are enforced.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise _proof(f"a compact JWS has three parts, got {len(parts)}")
    try:
        header_raw, payload_raw, signature = (b64url_decode(part) for part in parts)
    except ValueError as exc:
        raise _proof(f"part is not base64url: {exc}") from exc
    alg, kid = _check_header(_json_object(header_raw, "header", "proof"))
    payload = _json_object(payload_raw, "payload", "parse")
    issuer = issuer_id(payload)
    absolute = _bound_kid(kid, issuer)
    if payload.get("iss", issuer) != issuer:
        raise CredentialError("issuer", "'iss' differs from the credential's issuer", path="iss")
    try:
        key = key_for(absolute)
    except LookupError as exc:
        raise _proof(f"no key for kid {absolute!r}", "kid") from exc
    _verify(alg, key, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
    if now is not None:
        _check_times(payload, now)
    log.debug("vc_jwt_verified", alg=alg)
    return payload
