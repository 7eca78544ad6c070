"""VC-JWT: W3C VC 2.0 credentials secured with JOSE compact JWS (EdDSA, ES256).

* Securing mechanism: W3C "Securing Verifiable Credentials using JOSE and COSE"
  section 3.1.1: the JWS payload *is* the credential; header ``typ`` ``vc+jwt`` (media
  type ``application/vc+jwt``) and ``cty`` ``vc``; ``iss``, when present, names the
  credential's issuer; ``kid`` is the issuer's verification method (a DID URL).
  Research (energy-domain.md section 4.1) names ``vc-jwt`` the IES default format and
  is silent on header values, so the Recommendation's are used.
* Header rules (RFC 7515): compact serialisation (section 7.1), ``crit`` refused (section
  4.1.11: no extension is understood), ``alg: none`` refused (RFC 8725 section 3.2).
* The JOSE mechanics (base64url, JWKs, EdDSA and ES256 signatures, duplicate-free JSON
  segments) are in :mod:`iesnode.credentials.jose`; its public key and JWK helpers are
  re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from iesnode.credentials.errors import CredentialError
from iesnode.credentials.jose import (
    Algorithm,
    PrivateKey,
    PublicKey,
    b64url_decode,
    b64url_encode,
    ed25519_from_jwk,
    encode_json,
    json_object,
    jwk_from_ed25519,
    jwk_from_p256,
    p256_from_jwk,
    p256_private_from_jwk,
    proof_error,
    sign,
    verify_signature,
)
from iesnode.credentials.model import issuer_id

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
_TYP = frozenset({"vc+jwt", "vc+ld+json+jwt"})  # the second: 2023 drafts
_CTY = frozenset({"vc", "vc+ld+json"})


def _bound_kid(kid: str, issuer: str) -> str:
    """``kid`` as an absolute DID URL; it must be a verification method of ``issuer``."""
    absolute = issuer + kid if kid.startswith("#") else kid
    if absolute.partition("#")[0] != issuer:
        raise CredentialError(
            "issuer", f"kid {kid!r} is not a key of issuer {issuer!r}", path="kid"
        )
    return absolute


def issue_jwt(credential: dict[str, Any], *, alg: Algorithm, key: PrivateKey, kid: str) -> str:
    """Secure ``credential`` as a compact ``vc+jwt`` signed by ``kid`` (a key of its issuer)."""
    issuer = issuer_id(credential)
    if credential.get("iss", issuer) != issuer:
        raise CredentialError("parse", "'iss' differs from the issuer", path="iss")
    if alg not in ("EdDSA", "ES256"):
        raise proof_error(f"unsupported alg {alg!r}; use EdDSA or ES256", "alg")
    if not kid:
        raise proof_error("kid is required", "kid")
    _bound_kid(kid, issuer)
    header = {"alg": alg, "kid": kid, "typ": "vc+jwt", "cty": "vc"}
    signing_input = f"{encode_json(header)}.{encode_json({**credential, 'iss': issuer})}"
    signature = sign(alg, key, signing_input.encode("ascii"))
    log.debug("vc_jwt_issued", alg=alg)
    return f"{signing_input}.{b64url_encode(signature)}"


def _check_header(header: Mapping[str, Any]) -> tuple[str, str]:
    alg = header.get("alg")
    if alg is None:
        raise proof_error("header has no alg", "alg")
    if alg == "none":
        raise proof_error("unsecured JWS (alg none) is refused", "alg")
    if alg not in ("EdDSA", "ES256"):
        raise proof_error(f"unsupported alg {alg!r}; use EdDSA or ES256", "alg")
    if "crit" in header:
        raise proof_error("critical header extensions are not supported", "crit")
    for name, allowed in (("typ", _TYP), ("cty", _CTY)):
        value = header.get(name)
        if value is not None and str(value).lower().removeprefix("application/") not in allowed:
            raise proof_error(f"header {name} {value!r} is not a VC-JWT", name)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise proof_error("header has no kid", "kid")
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
        raise proof_error(f"a compact JWS has three parts, got {len(parts)}")
    try:
        header_raw, payload_raw, signature = (b64url_decode(part) for part in parts)
    except ValueError as exc:
        raise proof_error(f"part is not base64url: {exc}") from exc
    alg, kid = _check_header(json_object(header_raw, "header", "proof"))
    payload = json_object(payload_raw, "payload", "parse")
    issuer = issuer_id(payload)
    absolute = _bound_kid(kid, issuer)
    if payload.get("iss", issuer) != issuer:
        raise CredentialError("issuer", "'iss' differs from the credential's issuer", path="iss")
    try:
        key = key_for(absolute)
    except LookupError as exc:
        raise proof_error(f"no key for kid {absolute!r}", "kid") from exc
    verify_signature(alg, key, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
    if now is not None:
        _check_times(payload, now)
    log.debug("vc_jwt_verified", alg=alg)
    return payload
