"""Explain why a Beckn signature header does, or does not, verify.

Operators chasing a NACK need more than "expired or not yet valid": they need the
numbers (``created``, ``expires``, our clock, the allowed skew) and whether the
signer signed different bytes from those it sent. This module runs the checks of
BECKN-006 "Signing Beckn APIs in HTTP" (steps 3 to 5: parse the header, verify the
Ed25519 signature over the BLAKE2b-512 digest of the raw body, check
``created``/``expires``) through :mod:`iesnode.protocol.signing` and reports every
failure it finds instead of stopping at the first.

Beckn headers carry no separate digest, so a digest mismatch cannot be told from a
bad signature directly. When the signature fails over the received bytes we try
the usual re-serialisation traps (a trailing newline, CRLF versus LF, JSON
re-serialised minified, with Python's default separators, indented, with sorted
keys or with ``ensure_ascii=False``); a signature that verifies over one of those
variants means the sender signed other bytes than it sent.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from nacl.signing import VerifyKey

from iesnode.errors import AuthError
from iesnode.protocol.signing import (
    SignatureHeader,
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = ["Diagnosis", "Finding", "FindingKind", "diagnose"]

FindingKind = Literal[
    "malformed", "digest_mismatch", "signature_mismatch", "not_yet_valid", "expired", "bad_key"
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a header fails; ``detail`` is the full one-line explanation."""

    kind: FindingKind
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The outcome of :func:`diagnose`: ``ok`` exactly when there are no findings."""

    ok: bool
    findings: tuple[Finding, ...]
    header: SignatureHeader | None
    now: float
    skew: float

    def summary(self) -> str:
        """One line: who signed, the validity window and seconds left, or the first finding."""
        if not self.ok or self.header is None:
            return self.findings[0].detail if self.findings else "invalid"
        h = self.header
        return (
            f"valid: signed by {h.subscriber_id}|{h.key_id}|{h.algorithm}, "
            f"created={_moment(h.created)}, expires={_moment(h.expires)}, "
            f"{_number(h.expires - self.now)} s left "
            f"(now={_moment(self.now)}, allowed skew {self.skew:g} s)"
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _moment(epoch: float) -> str:
    iso = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{_number(epoch)} ({iso})"


def _body_variants(body: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield ``(description, bytes)`` for the re-serialisations senders commonly sign."""
    if body.endswith(b"\n"):
        yield "with its trailing newline removed", body.rstrip(b"\r\n")
    else:
        yield "with a trailing newline added", body + b"\n"
        yield "with a trailing CRLF added", body + b"\r\n"
    if b"\r\n" in body:
        yield "with CRLF line endings turned into LF", body.replace(b"\r\n", b"\n")
    elif b"\n" in body:
        yield "with LF line endings turned into CRLF", body.replace(b"\n", b"\r\n")
    try:
        doc = json.loads(body)
    except ValueError:
        return
    compact = (",", ":")
    yield (
        "re-serialised as minified JSON (separators=(',', ':'))",
        json.dumps(doc, separators=compact).encode(),
    )
    yield (
        "re-serialised with Python's default JSON separators (', ', ': ')",
        json.dumps(doc).encode(),
    )
    yield (
        "re-serialised minified with ensure_ascii=False (non-ASCII left unescaped)",
        json.dumps(doc, separators=compact, ensure_ascii=False).encode(),
    )
    yield (
        "re-serialised with ensure_ascii=False (non-ASCII left unescaped)",
        json.dumps(doc, ensure_ascii=False).encode(),
    )
    yield "re-serialised indented (indent=2)", json.dumps(doc, indent=2).encode()
    yield (
        "re-serialised minified with sorted keys",
        json.dumps(doc, separators=compact, sort_keys=True).encode(),
    )


def _signature_finding(body: bytes, header: SignatureHeader, key: VerifyKey) -> Finding | None:
    try:
        raw = base64.b64decode(header.signature, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        return Finding(
            "malformed",
            "malformed header: signature is not the base64 of a 64-byte Ed25519 signature",
        )
    try:
        verify_signature(body, header, key)
    except AuthError:
        pass
    else:
        return None
    seen = {body}
    for description, variant in _body_variants(body):
        if variant in seen:
            continue
        seen.add(variant)
        try:
            verify_signature(variant, header, key)
        except AuthError:
            continue
        return Finding(
            "digest_mismatch",
            f"digest mismatch: the signature is valid for the body {description}; the sender "
            "signed different bytes than it sent (sign the exact bytes you send)",
        )
    return Finding(
        "signature_mismatch",
        "signature mismatch: the signature does not verify over the received body with this "
        "public key; the body was altered after signing or it was signed with another key "
        f"(check that keyId {header.subscriber_id}|{header.key_id} is registered with this key)",
    )


def _time_finding(header: SignatureHeader, now: float, skew: float) -> Finding | None:
    try:
        verify_times(header, now, skew)
    except AuthError as exc:
        window = (
            f"created={_moment(header.created)}, expires={_moment(header.expires)}, "
            f"now={_moment(now)}, allowed skew {skew:g} s"
        )
        if exc.code == "AUT_SIGNATURE_NOT_YET_VALID":
            ahead = header.created - now
            return Finding(
                "not_yet_valid",
                f"not yet valid by {_number(ahead)} s: {window}; the signer's clock is at least "
                f"{_number(ahead - skew)} s ahead of ours",
            )
        if exc.code == "AUT_SIGNATURE_EXPIRED":
            return Finding(
                "expired",
                f"expired {_number(now - header.expires)} s ago: {window} (expiry has no "
                f"tolerance; lifetime {_number(header.expires - header.created)} s); the message "
                "was delayed or replayed, or the signer's clock runs behind ours",
            )
        return Finding("malformed", f"malformed header: {exc.message}")
    return None


def _reason(message: str) -> str:
    """Drop the ``malformed Authorization header:`` prefix the parser puts on its messages."""
    prefix = "malformed Authorization header: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def diagnose(
    body: bytes, header_value: str, public_key_b64: str, *, now: float, skew: float
) -> Diagnosis:
    """Check ``header_value`` against ``body`` and a base64 Ed25519 public key at ``now``.

    Every failure found is reported: a bad key, a malformed header, a digest or
    signature mismatch, and a time window failure can appear together.
    """
    findings: list[Finding] = []
    key: VerifyKey | None = None
    try:
        key = load_verify_key(public_key_b64)
    except ValueError as exc:
        findings.append(Finding("bad_key", f"bad key: {exc}"))
    try:
        header = parse_authorization(header_value)
    except AuthError as exc:
        findings.append(Finding("malformed", f"malformed header: {_reason(exc.message)}"))
        return Diagnosis(False, tuple(findings), None, now, skew)
    if key is not None:
        signature = _signature_finding(body, header, key)
        if signature is not None:
            findings.append(signature)
    timing = _time_finding(header, now, skew)
    if timing is not None:
        findings.append(timing)
    return Diagnosis(not findings, tuple(findings), header, now, skew)
