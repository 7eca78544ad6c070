"""Per-message offline checks: envelope, schema, endpoint, messageId and signatures.

Each function takes every logged message (parsed once into :class:`Parsed`) and returns
the :class:`~iesnode.conformance.logs_findings.Findings` of one check of
:mod:`iesnode.conformance.logs_catalogue`. Schema validation reuses iesnode's own
endpoint validators (:class:`~iesnode.protocol.schema.SchemaRegistry`); signatures are
verified with :mod:`iesnode.protocol.signing` over the exact logged bytes (BECKN-006,
``research/beckn-core.md`` §2.2-2.3), never over re-serialised JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iesnode.conformance.logs_findings import Findings
from iesnode.conformance.logs_reader import LoggedMessage
from iesnode.errors import AuthError, ProtocolError
from iesnode.model.envelope import Context, Dialect, Envelope
from iesnode.model.subscriber import Subscriber
from iesnode.protocol.actions import canonical, is_callback
from iesnode.protocol.dialects import detect_dialect, read_envelope
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import (
    SignatureHeader,
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = [
    "SIGNATURE_HEADERS",
    "KeyTable",
    "Parsed",
    "check_action_matches_path",
    "check_envelope",
    "check_message_id_fresh",
    "check_schema",
    "check_signature",
    "check_signature_time",
    "check_signer_is_sender",
    "parse",
    "signature_headers",
]

SIGNATURE_HEADERS = ("Authorization", "X-Gateway-Authorization")
KeyTable = Mapping[tuple[str, str], Subscriber | None]
"""Keys looked up for the logs: ``(subscriber_id, key_id)`` -> subscriber, or None."""

_NO_HEADERS = "no headers were logged"
_NOT_ENVELOPE = "not a Beckn envelope (see logs.envelope.json)"


@dataclass(slots=True)
class Parsed:
    """A logged message with its envelope read (when it can be)."""

    msg: LoggedMessage
    envelope: Envelope | None
    dialect: Dialect | None
    action: str | None
    """Canonical (v2) action name, None when unknown or unreadable."""

    @property
    def context(self) -> Context:
        """The envelope's context (only call when ``envelope`` is set)."""
        assert self.envelope is not None
        return self.envelope.context

    @property
    def timestamp(self) -> float:
        """Epoch seconds of ``context.timestamp`` (only call when ``envelope`` is set)."""
        return self.context.timestamp.timestamp()


def _context(doc: Any) -> dict[str, Any] | None:
    ctx = doc.get("context") if isinstance(doc, dict) else None
    return ctx if isinstance(ctx, dict) else None


def parse(msg: LoggedMessage) -> Parsed:
    """Detect the dialect and read the envelope of one logged message, tolerating junk."""
    if _context(msg.doc) is None:
        return Parsed(msg, None, None, None)
    dialect = detect_dialect(msg.doc)
    try:
        envelope = read_envelope(msg.doc, dialect)
    except (ProtocolError, KeyError, TypeError, ValueError):
        return Parsed(msg, None, dialect, None)
    return Parsed(msg, envelope, dialect, canonical(envelope.context.action))


def check_envelope(parsed: Sequence[Parsed]) -> Findings:
    """The body is JSON and an object with a ``context`` object."""
    found = Findings()
    for p in parsed:
        if p.msg.decode_error:
            found.fail(p.msg, p.msg.decode_error)
        elif _context(p.msg.doc) is None:
            found.fail(p.msg, "the body is not a JSON object with a context object")
        else:
            found.ok()
    return found


def check_schema(parsed: Sequence[Parsed], schemas: SchemaRegistry) -> Findings:
    """The body validates against its action's endpoint schema in its dialect."""
    found = Findings()
    for p in parsed:
        ctx = _context(p.msg.doc)
        if ctx is None or p.dialect is None:
            found.cannot(_NOT_ENVELOPE)
            continue
        action = ctx.get("action")
        if not isinstance(action, str):
            found.fail(p.msg, "context.action is missing or not a string")
            continue
        try:
            schemas.validate(p.dialect, action, p.msg.doc)
        except ProtocolError as exc:
            where = f" (at {exc.path})" if exc.path else ""
            found.fail(p.msg, f"{action} in Beckn {p.dialect.value}: {exc.message}{where}")
        else:
            found.ok()
    return found


def check_action_matches_path(parsed: Sequence[Parsed]) -> Findings:
    """The URL's last path segment equals ``context.action``."""
    found = Findings()
    for p in parsed:
        ctx = _context(p.msg.doc)
        if ctx is None:
            found.cannot(_NOT_ENVELOPE)
        elif p.msg.url is None:
            found.cannot("no url was logged")
        else:
            try:
                segment = urlsplit(p.msg.url).path.rstrip("/").rsplit("/", 1)[-1]
            except ValueError:
                found.fail(p.msg, f"the logged url {p.msg.url!r} is not a URL")
                continue
            if segment == ctx.get("action"):
                found.ok()
            else:
                found.fail(
                    p.msg, f"posted to /{segment} but context.action is {ctx.get('action')!r}"
                )
    return found


def check_message_id_fresh(parsed: Sequence[Parsed]) -> Findings:
    """No two requests of another action or transaction share a messageId."""
    found = Findings(noun="request")
    first: dict[str, Parsed] = {}
    for p in parsed:
        if p.envelope is None or p.action is None or is_callback(p.action):
            continue
        ctx = p.envelope.context
        seen = first.setdefault(ctx.message_id, p)
        other = seen.envelope.context if seen.envelope is not None else ctx
        if seen is p or (other.action, other.transaction_id) == (ctx.action, ctx.transaction_id):
            found.ok()
        else:
            found.fail(
                p.msg,
                f"{ctx.action} reuses messageId {ctx.message_id} of {other.action} in "
                f"transaction {other.transaction_id} ({seen.msg.source})",
            )
    return found


def signature_headers(msg: LoggedMessage) -> list[tuple[str, str]]:
    """(header name, value) of every logged signature header."""
    return [(name, value) for name in SIGNATURE_HEADERS for value in msg.header(name)]


def _parsed_headers(msg: LoggedMessage) -> list[tuple[str, SignatureHeader]] | str:
    """The parsed signature headers, or why they are unusable."""
    if msg.headers is None:
        return _NO_HEADERS
    if len(msg.header("Authorization")) != 1:
        count = len(msg.header("Authorization"))
        return "no Authorization header" if count == 0 else f"{count} Authorization headers"
    out = []
    for name, value in signature_headers(msg):
        try:
            out.append((name, parse_authorization(value, header_name=name)))
        except AuthError as exc:
            return exc.message
    return out


def check_signature(parsed: Sequence[Parsed], keys: KeyTable | None) -> Findings:
    """Each signature header verifies over the raw logged body with its registered key."""
    found = Findings()
    for p in parsed:
        headers = _parsed_headers(p.msg)
        if headers == _NO_HEADERS:
            found.cannot(_NO_HEADERS)
        elif isinstance(headers, str):
            found.fail(p.msg, headers)
        elif p.msg.raw is None:
            found.cannot("the body was logged as parsed JSON, not the bytes that were signed")
        elif keys is None:
            found.cannot("no key source was given (--keys FILE)")
        else:
            _verify(found, p.msg, p.msg.raw, headers, keys)
    return found


def _verify(
    found: Findings,
    msg: LoggedMessage,
    raw: bytes,
    headers: list[tuple[str, SignatureHeader]],
    keys: KeyTable,
) -> None:
    for name, header in headers:
        sub = keys.get((header.subscriber_id, header.key_id))
        if sub is None:
            found.cannot("the signing key is not in the key source")
            return
        try:
            verify_signature(raw, header, load_verify_key(sub.signing_public_key))
        except (AuthError, ValueError):
            found.fail(
                msg,
                f"{name} does not verify over the logged body with key {header.key_id!r} "
                f"of {header.subscriber_id!r}",
            )
            return
    found.ok()


def check_signer_is_sender(parsed: Sequence[Parsed]) -> Findings:
    """The Authorization keyId's subscriber is bap_id (requests) or bpp_id (callbacks)."""
    found = Findings()
    for p in parsed:
        headers = _parsed_headers(p.msg)
        if isinstance(headers, str):
            found.cannot(_NO_HEADERS if headers == _NO_HEADERS else "no usable Authorization")
        elif p.envelope is None or p.action is None:
            found.cannot("the context cannot be read")
        else:
            ctx = p.envelope.context
            role, sender = ("bpp", ctx.bpp_id) if is_callback(p.action) else ("bap", ctx.bap_id)
            signer = headers[0][1].subscriber_id
            if signer == sender:
                found.ok()
            else:
                found.fail(p.msg, f"signed by {signer!r} but the context's {role} is {sender!r}")
    return found


def check_signature_time(parsed: Sequence[Parsed], clock_skew: float) -> Findings:
    """created <= received_at + skew and received_at <= expires, for each signature."""
    found = Findings()
    for p in parsed:
        headers = _parsed_headers(p.msg)
        if isinstance(headers, str):
            found.cannot(_NO_HEADERS if headers == _NO_HEADERS else "no usable Authorization")
        elif p.msg.received_at is None:
            found.cannot("no received_at was logged")
        else:
            try:
                for _, header in headers:
                    verify_times(header, p.msg.received_at, clock_skew)
            except AuthError as exc:
                found.fail(p.msg, f"at reception: {exc.message}")
            else:
                found.ok()
    return found
