"""Judging one callback the target sent: its signature, correlation and schema.

* signature (BECKN-006 steps 2-5, ``research/beckn-core.md`` section 2.3): an
  ``Authorization`` header whose keyId names the target, who must also be the
  context's ``bppId``; the key is the one the network holds for the target (never one
  the callback offers); created/expires hold at arrival; Ed25519 verifies over
  BLAKE2b-512 of the exact bytes received;
* correlation (Beckn v1.1.1 ``Context``; section 4.4): the request's transactionId and
  messageId echoed, and our bapId;
* schema: valid in the request's dialect against iesnode's Beckn schemas
  (``protocol_specs/beckn``) for the callback action.

Each of these returns the problems found, empty when the callback is right. Apart, the
retry judgement over the arrival times of a message the suite refused, shared by the
BPP-callback and BAP-request retry checks (section 7: "retry on 5xx, timeouts and 429;
never on 400/401"; NFH-008): :func:`retried_with_backoff` after a 503,
:func:`not_retried` after a 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from iesnode.conformance.model import Exchange
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.suite import Verdict, failed, passed
from iesnode.conformance.target import TargetKeys
from iesnode.conformance.wire import Outbound
from iesnode.errors import AuthError, ProtocolError, TransportError
from iesnode.model.envelope import Dialect
from iesnode.protocol.actions import callback_of, wire_name
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import (
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = [
    "context_value",
    "correlation_problems",
    "not_retried",
    "retried_with_backoff",
    "schema_problems",
    "signature_problems",
]


def context_value(cb: ReceivedCallback, v2_name: str, v1_name: str) -> str | None:
    """A context field of the callback under its v2 or v1 name."""
    ctx = cb.doc.get("context") if isinstance(cb.doc, dict) else None
    if not isinstance(ctx, dict):
        return None
    value = ctx.get(v2_name, ctx.get(v1_name))
    return value if isinstance(value, str) else None


async def signature_problems(
    cb: ReceivedCallback, target_id: str, keys: TargetKeys, skew: float
) -> list[str]:
    """Why the callback's ``Authorization`` does not prove the target sent these bytes."""
    value = next((v for k, v in cb.headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return ["the callback carries no Authorization header"]
    try:
        header = parse_authorization(value)
    except AuthError as exc:
        return [exc.message]
    problems: list[str] = []
    if header.subscriber_id != target_id:
        problems.append(f"keyId names {header.subscriber_id!r}, not the target {target_id!r}")
    sender = context_value(cb, "bppId", "bpp_id")
    if sender != target_id:
        problems.append(f"context bppId is {sender!r}, not the target {target_id!r}")
    try:
        registered = await keys.lookup(header.subscriber_id, header.key_id)
    except TransportError as exc:
        return [*problems, f"the target's key could not be looked up: {exc.reason}"]
    if registered is None:
        return [
            *problems,
            f"keyId {header.subscriber_id}|{header.key_id} is not a registered key of the target",
        ]
    try:
        verify_times(header, cb.received_at, skew)
    except AuthError as exc:
        problems.append(exc.message)
    try:
        verify_signature(cb.body, header, load_verify_key(registered.signing_public_key))
    except AuthError:
        problems.append(
            "the signature does not verify over the exact bytes received with the "
            f"target's registered key {header.key_id!r}"
        )
    except ValueError as exc:
        problems.append(f"the target's registered key is unusable: {exc}")
    return problems


def correlation_problems(cb: ReceivedCallback, request: Outbound, bap_id: str) -> list[str]:
    """Which of transactionId, messageId and bapId the callback fails to echo."""
    problems: list[str] = []
    for label, got, want in (
        ("transactionId", cb.transaction_id, request.transaction_id),
        ("messageId", cb.message_id, request.message_id),
        ("bapId", context_value(cb, "bapId", "bap_id"), bap_id),
    ):
        if got != want:
            problems.append(f"{label} is {got!r}, the request's is {want!r}")
    return problems


def schema_problems(
    cb: ReceivedCallback, request: Outbound, dialect: Dialect, schemas: SchemaRegistry
) -> list[str]:
    """Why the callback is not a valid ``on_*`` body in the request's dialect."""
    if cb.doc is None:
        return ["the callback body is not JSON"]
    try:
        found = detect_dialect(cb.doc)
    except ProtocolError as exc:
        return [exc.message]
    if found is not dialect:
        return [f"the callback speaks Beckn {found.value}; the request spoke {dialect.value}"]
    action = wire_name(callback_of(request.action), dialect)
    try:
        schemas.validate(dialect, action, cb.doc)
    except ProtocolError as exc:
        where = f" (at {exc.path})" if exc.path and exc.path not in exc.message else ""
        return [exc.message + where]
    return []


def retried_with_backoff(
    arrivals: Sequence[float], options: RunOptions, evidence: list[Exchange]
) -> Verdict:
    """PASS when a message refused with 503 (first arrival) came again, after a backoff."""
    window, least = options.retry_window, options.min_retry_delay
    if len(arrivals) < 2:
        return failed(f"no retry within {window:g}s after our 503", evidence)
    delay = arrivals[1] - arrivals[0]
    if delay < least:
        return failed(
            f"retried after {delay * 1000:.0f} ms: no backoff (at least {least:g}s expected)",
            evidence,
        )
    return passed(f"retried {delay * 1000:.0f} ms after our 503", evidence)


def not_retried(
    what: str, arrivals: Sequence[float], options: RunOptions, evidence: list[Exchange]
) -> Verdict:
    """PASS when ``what`` (e.g. "the callback"), refused with 400, did not come again."""
    if len(arrivals) > 1:
        delay = arrivals[1] - arrivals[0]
        return failed(f"{what} refused with 400 came again {delay * 1000:.0f} ms later", evidence)
    return passed(f"not sent again within {options.retry_window:g}s after our 400", evidence)
