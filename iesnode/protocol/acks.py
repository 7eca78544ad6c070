"""Synchronous ACK/NACK bodies in both dialects, and the v2 counter-signature.

* v2.0 (Beckn v2.0.0 LTS ``Ack``/``NackBadRequest``/``AckNoCallback``):
  ``{"status": "ACK"|"NACK", "error": {...}, "signature": "<CounterSignature>"}``. The
  counter-signature has the ``Signature`` header format with a five-line signing
  string: ``(created)``, ``(expires)``, ``digest`` of the ACK body, ``(request-digest)``
  of the inbound body and ``(message-id)``. The LTS text does not say how a body can
  digest itself; we define the signed body as the ACK body *without* its trailing
  ``,"signature":...`` member, which we always write last, so a receiver recovers the
  signed bytes exactly (``protocol_specs/beckn/v2/ack.json`` documents this).
* v1.1 / v0.9 (Beckn v1.1.1 ``Response``/``Ack``/``Error``):
  ``{"message": {"ack": {"status": ...}}, "error": {"type", "code", "paths"|"path", "message"}}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from iesnode.errors import AuthError, ProtocolError
from iesnode.model.envelope import Dialect, ErrorDetail
from iesnode.protocol.signing import SignatureHeader, Signer, digest, parse_authorization

__all__ = [
    "COUNTER_SIGNED_HEADERS",
    "AckReply",
    "ack_body",
    "counter_signing_string",
    "read_ack",
    "verify_counter_signature",
]

COUNTER_SIGNED_HEADERS = "(created) (expires) digest (request-digest) (message-id)"
_SIGNATURE_MEMBER = b',"signature":'
_V1_ACK = b'{"message":{"ack":{"status":"ACK"}}}'


def counter_signing_string(
    created: int, expires: int, body_digest: str, request_digest: str, message_id: str
) -> str:
    """The five-line signing string of a v2 ``CounterSignature``."""
    return (
        f"(created): {created}\n(expires): {expires}\ndigest: {body_digest}\n"
        f"(request-digest): {request_digest}\n(message-id): {message_id}"
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ack_body(
    dialect: Dialect,
    *,
    error: ProtocolError | None = None,
    nack: bool | None = None,
    signer: Signer | None = None,
    request_body: bytes = b"",
    message_id: str = "",
    now: int = 0,
) -> bytes:
    """Render an ACK (``error`` None) or NACK (``error`` given) in ``dialect``.

    ``nack=False`` with an error renders v2 ``AckNoCallback`` (ACK carrying an error).
    """
    is_nack = error is not None if nack is None else nack
    status = "NACK" if is_nack else "ACK"
    if dialect is not Dialect.V2:
        if error is None:
            return _V1_ACK
        err = {"type": error.error_type, "code": error.legacy_code, "message": error.message}
        if error.path is not None:
            err["path" if dialect is Dialect.V09 else "paths"] = error.path
        return _dumps({"message": {"ack": {"status": status}}, "error": err})
    doc: dict[str, Any] = {"status": status}
    if error is not None:
        doc["error"] = {
            "code": error.code,
            "message": error.message,
            "errorCode": error.code,
            "errorMessage": error.message,
        }
        if error.path is not None:
            doc["error"]["path"] = error.path
    unsigned = _dumps(doc)
    if signer is None:
        return unsigned
    expires = now + signer.lifetime
    text = counter_signing_string(
        now, expires, digest(unsigned), digest(request_body), message_id
    ).encode("utf-8")
    sig = base64.b64encode(signer.key.sign(text).signature).decode("ascii")
    header = SignatureHeader(
        signer.subscriber_id, signer.key_id, "ed25519", now, expires, COUNTER_SIGNED_HEADERS, sig
    )
    return unsigned[:-1] + _SIGNATURE_MEMBER + _dumps(header.format()) + b"}"


@dataclass(frozen=True, slots=True)
class AckReply:
    """What a peer answered synchronously, in either dialect."""

    status: str
    error: ErrorDetail | None
    signature: str | None


def read_ack(body: bytes) -> AckReply:
    """Read an ACK/NACK body of any dialect (v2, v1.1, and ONIX's ``message.status``)."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("ACK body is not a JSON object")
    message = doc.get("message")
    status: Any = doc.get("status")
    if status is None and isinstance(message, dict):
        ack = message.get("ack")
        status = ack.get("status") if isinstance(ack, dict) else message.get("status")
    if status not in ("ACK", "NACK"):
        raise ValueError("ACK body has no status ACK or NACK")
    raw = doc.get("error")
    error = None
    if isinstance(raw, dict):
        error = ErrorDetail(
            code=str(raw.get("code", raw.get("errorCode", ""))),
            message=str(raw.get("message", raw.get("errorMessage", ""))),
            path=(lambda p: None if p is None else str(p))(raw.get("path", raw.get("paths"))),
        )
    signature = doc.get("signature")
    return AckReply(status, error, signature if isinstance(signature, str) else None)


def verify_counter_signature(
    body: bytes, reply: AckReply, request_body: bytes, message_id: str, key: VerifyKey
) -> SignatureHeader:
    """Check a v2 counter-signature written the way :func:`ack_body` writes it."""
    if reply.signature is None:
        raise AuthError(
            "AUT_SIGNATURE_MISSING", "ACK carries no counter-signature", path="signature"
        )
    cut = body.rfind(_SIGNATURE_MEMBER)
    if cut < 0 or not body.rstrip().endswith(b"}"):
        raise AuthError(
            "AUT_SIGNATURE_MALFORMED", "signature is not the last member", path="signature"
        )
    unsigned = body[:cut] + b"}"
    header = parse_authorization(
        reply.signature, header_name="signature", signed_headers=COUNTER_SIGNED_HEADERS
    )
    text = counter_signing_string(
        header.created, header.expires, digest(unsigned), digest(request_body), message_id
    ).encode("utf-8")
    try:
        key.verify(text, base64.b64decode(header.signature, validate=True))
    except (BadSignatureError, binascii.Error, ValueError) as exc:
        raise AuthError(
            "AUT_SIGNATURE_INVALID", "counter-signature does not verify", path="signature"
        ) from exc
    return header
