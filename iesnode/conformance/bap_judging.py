"""Judging one request a BAP target sent, as our BPP received it.

Each function returns the problems found, empty when the request is right:

* signature (BECKN-006 steps 2-5, ``research/beckn-core.md`` section 2.3): an
  ``Authorization`` whose keyId is a key the network holds for the target (never one
  the request offers), within created/expires at arrival, verifying over BLAKE2b-512
  of the exact bytes received; the keyId's subscriber is the context's ``bapId``;
* schema: valid in the dialect it speaks against iesnode's Beckn schemas
  (``protocol_specs/beckn``) for the action its *context* declares, as the offline
  ``logs.schema.valid`` does: whether that is the endpoint's action is
  :func:`action_problems`' business, so one fault fails one check;
* context (Beckn v1.1.1 ``Context``, v0.9.4 required fields; sections 1.2, 4.4, 7):
  ids, ``bapId``/``bapUri``, ``timestamp`` near the arrival, ``ttl`` a duration.
"""

from __future__ import annotations

from datetime import datetime

from iesnode.conformance.bap_wire import TargetRequest
from iesnode.conformance.target import TargetKeys
from iesnode.errors import AuthError, ProtocolError, TransportError
from iesnode.protocol.actions import ACTIONS, canonical
from iesnode.protocol.duration import parse_duration
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import (
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = [
    "action_problems",
    "bap_problems",
    "id_problems",
    "schema_problems",
    "sender_problems",
    "signature_problems",
    "timestamp_problems",
    "ttl_problems",
]


def _authorization(request: TargetRequest) -> str | None:
    headers = request.received.headers
    return next((v for k, v in headers.items() if k.lower() == "authorization"), None)


async def signature_problems(request: TargetRequest, keys: TargetKeys, skew: float) -> list[str]:
    """Why the request's Authorization does not prove the target sent these bytes."""
    value = _authorization(request)
    if value is None:
        return ["no Authorization header"]
    try:
        header = parse_authorization(value)
    except AuthError as exc:
        return [exc.message]
    try:
        registered = await keys.lookup(header.subscriber_id, header.key_id)
    except TransportError as exc:
        return [f"the target's key could not be looked up: {exc.reason}"]
    if registered is None:
        return [
            f"keyId {header.subscriber_id}|{header.key_id} is not a registered key of the target"
        ]
    problems: list[str] = []
    try:
        verify_times(header, request.received.received_at, skew)
    except AuthError as exc:
        problems.append(exc.message)
    try:
        verify_signature(
            request.received.body, header, load_verify_key(registered.signing_public_key)
        )
    except AuthError:
        problems.append(
            "the signature does not verify over the exact bytes received with the target's "
            f"registered key {header.key_id!r}"
        )
    return problems


def sender_problems(request: TargetRequest) -> list[str]:
    """The keyId's subscriber differs from the context's bapId (nothing when unsigned)."""
    value = _authorization(request)
    try:
        header = parse_authorization(value) if value is not None else None
    except AuthError:
        header = None
    if header is None:
        return []  # nothing to compare: bap.request.signature says why
    bap_id = request.field("bapId", "bap_id")
    if header.subscriber_id != bap_id:
        return [f"signed by {header.subscriber_id!r} but the context's bapId is {bap_id!r}"]
    return []


def schema_problems(request: TargetRequest, schemas: SchemaRegistry) -> list[str]:
    """Why the body is not valid for the action its context declares, in its dialect."""
    dialect = request.dialect
    if dialect is None:
        return ["the body is not a Beckn envelope (a JSON object with a context object)"]
    declared = request.field("action", "action")
    known = isinstance(declared, str) and canonical(declared) in ACTIONS
    action = declared if known and isinstance(declared, str) else request.received.action
    try:
        schemas.validate(dialect, action, request.received.doc)
    except ProtocolError as exc:
        where = f" (at {exc.path})" if exc.path and exc.path not in exc.message else ""
        return [f"not a valid /{action} body in Beckn {dialect.value}: {exc.message}{where}"]
    return []


def action_problems(request: TargetRequest) -> list[str]:
    """context.action differs from the endpoint's action."""
    declared = request.field("action", "action")
    path = request.received.action
    if declared != path:
        return [f"context.action is {declared!r} on the /{path} endpoint"]
    return []


def _present(request: TargetRequest, v2: str, v1: str) -> bool:
    value = request.field(v2, v1)
    return isinstance(value, str) and value.strip() != ""


def bap_problems(request: TargetRequest) -> list[str]:
    """No bapId, or no bapUri callbacks can be sent to."""
    problems = [] if _present(request, "bapId", "bap_id") else ["no bapId"]
    uri = request.field("bapUri", "bap_uri")
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        problems.append(f"bapUri is {uri!r}, not an http(s) URL callbacks can be sent to")
    return problems


def timestamp_problems(request: TargetRequest, skew: float) -> list[str]:
    """The timestamp is unreadable or further than ``skew`` s from the arrival."""
    text = request.field("timestamp", "timestamp")
    try:
        moment = datetime.fromisoformat(text).timestamp() if isinstance(text, str) else None
    except ValueError:
        moment = None
    if moment is None:
        return [f"timestamp {text!r} is not an RFC 3339 date-time"]
    off = moment - request.received.received_at
    if abs(off) > skew:
        return [f"timestamp is {off:+.1f}s from its arrival (allowed: {skew:g}s)"]
    return []


def ttl_problems(request: TargetRequest) -> list[str]:
    """No ttl, or one that is no ISO 8601 duration."""
    text = request.field("ttl", "ttl")
    if text is None:
        return ["no ttl"]
    try:
        parse_duration(str(text))
    except ValueError as exc:
        return [str(exc)]
    return []


def id_problems(request: TargetRequest) -> list[str]:
    """A missing transactionId or messageId."""
    return [
        f"no {name}"
        for name, v1 in (("transactionId", "transaction_id"), ("messageId", "message_id"))
        if not _present(request, name, v1)
    ]
