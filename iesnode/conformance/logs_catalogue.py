"""The checks of the offline mode (``iesnode conformance logs DIR``), with their sources.

Each requirement is drawn from ``research/beckn-core.md`` (sections 1-4 and the §7
checklist) and the spec documents it cites: Beckn v1.1.1 ``transaction.yaml`` and
``Context.yaml``, Beckn v2.0.0 LTS ``beckn.yaml``, and BECKN-006 (signing). Ids start
with ``logs.`` so they never collide with the online checks of ``iesnode conformance run``.
"""

from __future__ import annotations

from iesnode.conformance.model import Check, Level

__all__ = [
    "ACTION_MATCHES_PATH",
    "ANSWERED",
    "CALLBACK_ACTION",
    "CALLBACK_MESSAGE_ID",
    "CALLBACK_TRANSACTION",
    "ENVELOPE",
    "LOG_CHECKS",
    "MESSAGE_ID_FRESH",
    "READABLE",
    "SCHEMA",
    "SEQUENCE",
    "SIGNATURE",
    "SIGNATURE_TIME",
    "SIGNER_IS_SENDER",
    "TTL",
]

_ROLES = ("bap", "bpp")

READABLE = Check(
    id="logs.input.readable",
    title="Every log record can be read",
    level=Level.MUST,
    spec_ref="conformance/README.md (offline log format)",
    requirement="Each record is JSON in the documented log format; unreadable records leave "
    "the verdict open.",
    target_roles=_ROLES,
)
ENVELOPE = Check(
    id="logs.envelope.json",
    title="Every body is a JSON Beckn envelope",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 transaction.yaml (bodies are {context, message})",
    requirement="A Beckn body is a JSON object whose context is an object.",
    target_roles=_ROLES,
)
SCHEMA = Check(
    id="logs.schema.valid",
    title="Every body is schema-valid for its action in its dialect",
    level=Level.MUST,
    spec_ref="Beckn v2.0.0 beckn.yaml, v1.1.1 transaction.yaml, v0.9.4 core.yaml",
    requirement="The body validates against the endpoint schema of context.action in the "
    "dialect its context speaks.",
    target_roles=_ROLES,
)
ACTION_MATCHES_PATH = Check(
    id="logs.context.action-matches-path",
    title="context.action names the endpoint the message was posted to",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 Context.yaml (action)",
    requirement="A message posted to /{action} carries that action in context.action.",
    target_roles=_ROLES,
)
MESSAGE_ID_FRESH = Check(
    id="logs.context.message-id-fresh",
    title="Every request has a messageId of its own",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 Context.yaml (message_id)",
    requirement="A new messageId is generated for every request; two different requests "
    "(another action or transaction) never share one.",
    target_roles=_ROLES,
)
SIGNATURE = Check(
    id="logs.sig.valid",
    title="Signatures verify over the raw body with the registered key",
    level=Level.MUST,
    spec_ref="BECKN-006 verification steps 2-4",
    requirement="Every message carries an Authorization header (and a gateway's "
    "X-Gateway-Authorization) whose Ed25519 signature verifies over the BLAKE-512 digest of "
    "the exact body bytes with the signer's registered key.",
    target_roles=_ROLES,
)
SIGNER_IS_SENDER = Check(
    id="logs.sig.sender",
    title="The signer is the sender named in the context",
    level=Level.MUST,
    spec_ref="BECKN-006 keyId",
    requirement="The subscriber in the keyId is context.bap_id for a request and "
    "context.bpp_id for a callback.",
    target_roles=_ROLES,
)
SIGNATURE_TIME = Check(
    id="logs.sig.time",
    title="Signatures were valid when the message was received",
    level=Level.MUST,
    spec_ref="BECKN-006 verification step 5",
    requirement="At reception, created is not in the future (beyond the clock skew) and "
    "expires has not passed.",
    target_roles=_ROLES,
)
CALLBACK_TRANSACTION = Check(
    id="logs.correlation.transaction",
    title="Every callback belongs to a logged transaction",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 Context.yaml (transaction_id)",
    requirement="A callback echoes the transactionId of a request sent in that transaction.",
    target_roles=_ROLES,
)
CALLBACK_MESSAGE_ID = Check(
    id="logs.correlation.message-id",
    title="Every solicited callback echoes its request's messageId",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 Context.yaml (message_id)",
    requirement="A callback carries the messageId of the request it answers; only "
    "on_status, on_update and on_cancel may be sent unsolicited with a new messageId.",
    target_roles=_ROLES,
)
CALLBACK_ACTION = Check(
    id="logs.correlation.action",
    title="Every callback answers a request of the matching action",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 transaction.yaml (X is answered by on_X)",
    requirement="The callback to a request X is on_X.",
    target_roles=_ROLES,
)
ANSWERED = Check(
    id="logs.correlation.answered",
    title="Every request was answered by a callback",
    level=Level.SHOULD,
    spec_ref="Beckn v1.1.1 Ack.yaml (an ACK obliges a callback)",
    requirement="Each request has at least one callback with its transactionId and "
    "messageId in the logs (SHOULD: logs may end before the callback or miss NACKed requests).",
    target_roles=_ROLES,
)
SEQUENCE = Check(
    id="logs.sequence.order",
    title="Messages of a transaction come in protocol order",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 transaction.yaml (select, init, confirm)",
    requirement="By context timestamp, init comes after an on_select and confirm after an "
    "on_init of the same transaction, and no callback precedes its request.",
    target_roles=_ROLES,
)
TTL = Check(
    id="logs.timing.ttl",
    title="Callbacks arrive within their request's ttl",
    level=Level.MUST,
    spec_ref="Beckn v1.1.1 Context.yaml (ttl)",
    requirement="A callback arrives (received_at, else its context timestamp) no later than "
    "the request's timestamp + ttl.",
    target_roles=_ROLES,
)

LOG_CHECKS: tuple[Check, ...] = (
    READABLE,
    ENVELOPE,
    SCHEMA,
    ACTION_MATCHES_PATH,
    MESSAGE_ID_FRESH,
    SIGNATURE,
    SIGNER_IS_SENDER,
    SIGNATURE_TIME,
    CALLBACK_TRANSACTION,
    CALLBACK_MESSAGE_ID,
    CALLBACK_ACTION,
    ANSWERED,
    SEQUENCE,
    TTL,
)
"""Every offline check, in report order."""
