"""Beckn request signing: digest, signing string, ``Authorization`` header, Ed25519.

Follows BECKN-006 "Signing Beckn APIs in HTTP" (a profile of
draft-cavage-http-signatures-12), as recorded in ``DESIGN.md`` section 4:

* digest: ``BLAKE-512=`` + base64 of BLAKE2b-512 over the raw body bytes;
* signing string: ``(created): C``, ``(expires): E``, ``digest: ...`` joined by
  ``\\n`` with no trailing newline;
* header: ``Signature keyId="sub|key|ed25519",algorithm="ed25519",created="C",
  expires="E",headers="(created) (expires) digest",signature="<base64>"``.

Signing and verification never re-serialise JSON: the bytes signed are the bytes
sent and the bytes verified are the bytes received.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from iesnode.errors import AuthError

__all__ = [
    "SIGNED_HEADERS",
    "SignatureHeader",
    "Signer",
    "digest",
    "load_signing_key",
    "load_verify_key",
    "parse_authorization",
    "signing_string",
    "verify_signature",
    "verify_times",
]

SIGNED_HEADERS = "(created) (expires) digest"
_ALGORITHM = "ed25519"
_CANONICAL = re.compile(
    r'Signature keyId="([^|"\s]+)\|([^|"\s]+)\|ed25519",algorithm="ed25519",'
    r'created="(\d{1,12})",expires="(\d{1,12})",headers="\(created\) \(expires\) digest",'
    r'signature="([A-Za-z0-9+/]+=*)"',
    re.ASCII,
)
"""The exact layout BECKN-006 shows and nearly every peer sends: parsed in one match."""
_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]*))\s*(?:,|$)')
_SECONDS = re.compile(r"\d{1,15}", re.ASCII)
"""Unix seconds: ASCII digits, few enough that a lifetime in ms fits 64 bits (replay TTLs)."""


def digest(body: bytes) -> str:
    """Return ``BLAKE-512=<base64 BLAKE2b-512(body)>`` (BECKN-006 step 1)."""
    raw = hashlib.blake2b(body, digest_size=64).digest()
    return "BLAKE-512=" + base64.b64encode(raw).decode("ascii")


def signing_string(created: int, expires: int, body_digest: str) -> str:
    """Return the three-line signing string; ``body_digest`` includes its ``BLAKE-512=``."""
    return f"(created): {created}\n(expires): {expires}\ndigest: {body_digest}"


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not valid base64") from exc


def load_signing_key(private_key_b64: str) -> SigningKey:
    """Load an Ed25519 private key: a 32-byte seed or a 64-byte libsodium key (seed||pub)."""
    raw = _b64decode(private_key_b64, "private key")
    if len(raw) == 64:
        key = SigningKey(raw[:32])
        if bytes(key.verify_key) != raw[32:]:
            raise ValueError("64-byte private key: public half does not match the seed")
        return key
    if len(raw) == 32:
        return SigningKey(raw)
    raise ValueError(f"private key must be 32 or 64 bytes, got {len(raw)}")


def load_verify_key(public_key_b64: str) -> VerifyKey:
    """Load an Ed25519 public key from base64 of its 32 raw bytes."""
    raw = _b64decode(public_key_b64, "public key")
    if len(raw) != 32:
        raise ValueError(f"public key must be 32 bytes, got {len(raw)}")
    return VerifyKey(raw)


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    """A parsed ``Authorization: Signature ...`` value."""

    subscriber_id: str
    key_id: str
    algorithm: str
    created: int
    expires: int
    headers: str
    signature: str

    def format(self) -> str:
        """Render the header value exactly as BECKN-006 shows it."""
        return (
            f'Signature keyId="{self.subscriber_id}|{self.key_id}|{self.algorithm}",'
            f'algorithm="{self.algorithm}",created="{self.created}",'
            f'expires="{self.expires}",headers="{self.headers}",'
            f'signature="{self.signature}"'
        )


def _malformed(reason: str, header_name: str, gateway: bool) -> AuthError:
    return AuthError(
        "AUT_SIGNATURE_MALFORMED",
        f"malformed {header_name} header: {reason}",
        path=header_name,
        gateway=gateway,
    )


def _parameters(value: str, header_name: str, gateway: bool) -> dict[str, str]:
    """The ``name=value`` pairs of a ``Signature`` header, tolerating common variations."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    scheme, _, params = text.partition(" ")
    if scheme.lower() != "signature" or not params.strip():
        raise _malformed("expected 'Signature keyId=...'", header_name, gateway)
    fields: dict[str, str] = {}
    pos = 0
    params = params.strip()
    while pos < len(params):
        match = _PAIR.match(params, pos)
        if match is None or match.end() == pos:
            raise _malformed(f"cannot parse parameters at offset {pos}", header_name, gateway)
        name = match.group(1)
        if name in fields:
            raise _malformed(f"duplicate parameter {name!r}", header_name, gateway)
        fields[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    return fields


def parse_authorization(
    value: str,
    *,
    header_name: str = "Authorization",
    gateway: bool = False,
    signed_headers: str = SIGNED_HEADERS,
) -> SignatureHeader:
    """Parse a Beckn signature header tolerantly.

    Accepts spaces around commas and ``=``, quoted or bare numbers and one stray pair
    of outer quotes; rejects anything whose keyId, algorithm or headers list does not
    match the BECKN-006 profile, naming what is wrong.
    """
    if signed_headers == SIGNED_HEADERS:
        exact = _CANONICAL.fullmatch(value)
        if exact is not None:
            sid, kid, created, expires, signature = exact.groups()
            return SignatureHeader(
                sid, kid, _ALGORITHM, int(created), int(expires), SIGNED_HEADERS, signature
            )
    fields = _parameters(value, header_name, gateway)
    missing = [k for k in ("keyId", "signature", "created", "expires") if not fields.get(k)]
    if missing:
        raise _malformed(f"missing {', '.join(missing)}", header_name, gateway)
    parts = fields["keyId"].split("|")
    if len(parts) != 3 or not all(parts):
        raise _malformed("keyId must be 'subscriber_id|key_id|algorithm'", header_name, gateway)
    subscriber_id, key_id, key_algorithm = parts
    algorithm = fields.get("algorithm", key_algorithm)
    if algorithm.lower() != key_algorithm.lower():
        raise AuthError(
            "AUT_ALGORITHM_MISMATCH",
            f"keyId algorithm {key_algorithm!r} differs from algorithm={algorithm!r}",
            path=header_name,
            gateway=gateway,
        )
    if algorithm.lower() != _ALGORITHM:
        raise AuthError(
            "AUT_ALGORITHM_UNSUPPORTED",
            f"algorithm {algorithm!r} is not supported; use ed25519",
            path=header_name,
            gateway=gateway,
        )
    headers = " ".join(fields.get("headers", signed_headers).split())
    if headers != signed_headers:
        raise _malformed(
            f"headers must be {signed_headers!r}, got {headers!r}", header_name, gateway
        )
    if not (_SECONDS.fullmatch(fields["created"]) and _SECONDS.fullmatch(fields["expires"])):
        raise _malformed(
            "created and expires must be integer Unix seconds (at most 15 digits)",
            header_name,
            gateway,
        )
    created, expires = int(fields["created"]), int(fields["expires"])
    return SignatureHeader(
        subscriber_id, key_id, _ALGORITHM, created, expires, headers, fields["signature"]
    )


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs bodies as one subscriber key; ``lifetime`` is ``expires - created`` in seconds."""

    subscriber_id: str
    key_id: str
    key: SigningKey
    lifetime: int = 300

    @classmethod
    def from_base64(
        cls, subscriber_id: str, key_id: str, private_key_b64: str, lifetime: int = 300
    ) -> Signer:
        """Build a signer from a base64 32-byte seed or 64-byte libsodium key."""
        return cls(subscriber_id, key_id, load_signing_key(private_key_b64), lifetime)

    @property
    def public_key(self) -> str:
        """The base64 Ed25519 public key registered for this signer."""
        return base64.b64encode(bytes(self.key.verify_key)).decode("ascii")

    def sign_header(self, body: bytes, created: int, expires: int | None = None) -> SignatureHeader:
        """Sign ``body`` as created at ``created``; return the header fields."""
        expires = created + self.lifetime if expires is None else expires
        text = signing_string(created, expires, digest(body)).encode("utf-8")
        signature = base64.b64encode(self.key.sign(text).signature).decode("ascii")
        return SignatureHeader(
            self.subscriber_id, self.key_id, _ALGORITHM, created, expires, SIGNED_HEADERS, signature
        )

    def sign(self, body: bytes, created: int, expires: int | None = None) -> str:
        """Return the ``Authorization`` header value for exactly these body bytes."""
        return self.sign_header(body, created, expires).format()


def verify_signature(
    body: bytes, header: SignatureHeader, key: VerifyKey, *, gateway: bool = False
) -> None:
    """Check the Ed25519 signature over the signing string of ``body`` (BECKN-006 step 4)."""
    text = signing_string(header.created, header.expires, digest(body)).encode("utf-8")
    try:
        signature = base64.b64decode(header.signature, validate=True)
        key.verify(text, signature)
    except (BadSignatureError, binascii.Error, ValueError) as exc:
        raise AuthError(
            "AUT_SIGNATURE_INVALID",
            "signature does not verify over the received body with the registered key",
            path="X-Gateway-Authorization" if gateway else "Authorization",
            gateway=gateway,
        ) from exc


def verify_times(
    header: SignatureHeader, now: float, skew: float, *, gateway: bool = False
) -> None:
    """Enforce ``created <= now + skew`` and ``now <= expires`` (BECKN-006 step 5)."""
    path = "X-Gateway-Authorization" if gateway else "Authorization"
    if header.expires < header.created:
        raise AuthError(
            "AUT_SIGNATURE_MALFORMED",
            f"expires ({header.expires}) is before created ({header.created})",
            path=path,
            gateway=gateway,
        )
    if header.created > now + skew:
        raise AuthError(
            "AUT_SIGNATURE_NOT_YET_VALID",
            f"signature created={header.created} is {header.created - now:.0f}s in the future "
            f"(now={now:.0f}, allowed skew {skew:g}s)",
            path=path,
            gateway=gateway,
        )
    if now > header.expires:
        raise AuthError(
            "AUT_SIGNATURE_EXPIRED",
            f"signature expired {now - header.expires:.0f}s ago "
            f"(expires={header.expires}, now={now:.0f})",
            path=path,
            gateway=gateway,
        )
