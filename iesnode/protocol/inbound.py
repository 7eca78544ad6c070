"""The inbound pipeline: every step a signed message passes before it is ACKed.

The order follows ``DESIGN.md`` section 1 and BECKN-006 "Verifying the
Authorization header" steps 2-10: size limit, parse ``Authorization`` (and the
gateway's ``X-Gateway-Authorization``), look the key up, verify Ed25519 over
BLAKE2b-512 of the raw bytes, decode JSON, read the dialect, validate the schema,
check the context (sender, network, timestamp + ttl) and finally the replay guard.
Each step is a named method that raises a :class:`~iesnode.errors.ProtocolError`;
handlers only ever see the verified envelope that comes out of the end. Checking
one signature header against the signer's registered key (steps 4-5, with the
re-lookup after a key rotation) is :mod:`iesnode.protocol.header_verifier`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from iesnode.errors import (
    AuthError,
    PayloadTooLarge,
    ProtocolError,
    RequestRejected,
    UnsupportedMediaType,
)
from iesnode.interfaces import Clock, ReplayGuard, SubscriberDirectory
from iesnode.model.envelope import Dialect, Envelope
from iesnode.model.subscriber import Role, Subscriber
from iesnode.protocol.actions import is_callback, wire_name
from iesnode.protocol.dialects import detect_dialect, read_envelope
from iesnode.protocol.header_verifier import HeaderVerifier
from iesnode.protocol.ijson import NotIJson, decode_body
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import SignatureHeader

__all__ = [
    "GATEWAY_HEADER",
    "LEGACY_GATEWAY_HEADER",
    "Exchange",
    "InboundLimits",
    "InboundVerifier",
]

GATEWAY_HEADER = "X-Gateway-Authorization"
"""The header a Beckn gateway signs a forwarded request with (BECKN-006)."""
LEGACY_GATEWAY_HEADER = "Proxy-Authorization"
"""Another name some gateways send that header under; read when the first is absent."""


@dataclass(frozen=True, slots=True)
class InboundLimits:
    """What this node accepts; built from the node settings."""

    clock_skew: float = 5.0
    max_body_bytes: int = 1_048_576
    default_ttl: float = 30.0
    allowed_networks: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()


@dataclass(slots=True)
class Exchange:
    """One inbound message and everything the pipeline learns about it."""

    action: str
    """Canonical (v2) action name taken from the URL path."""
    body: bytes
    content_type: str
    authorization: Sequence[str]
    gateway_authorization: Sequence[str]
    received_at: float
    signature: SignatureHeader | None = None
    sender: Subscriber | None = None
    gateway_signature: SignatureHeader | None = None
    gateway: Subscriber | None = None
    dialect: Dialect | None = None
    envelope: Envelope | None = None
    raw_authorization: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class InboundVerifier:
    """Runs the inbound steps in order; returns the verified canonical envelope."""

    def __init__(
        self,
        *,
        directory: SubscriberDirectory,
        replay_guard: ReplayGuard,
        schemas: SchemaRegistry,
        clock: Clock,
        limits: InboundLimits,
    ) -> None:
        self._headers = HeaderVerifier(
            directory=directory, clock=clock, clock_skew=limits.clock_skew
        )
        self._replay = replay_guard
        self._schemas = schemas
        self._clock = clock
        self._limits = limits

    async def verify(self, ex: Exchange) -> Envelope:
        """Run every step; raise the first failure as a ProtocolError."""
        self.check_size(ex)
        self.check_content_type(ex)
        await self.verify_signatures(ex)
        doc = self.decode_json(ex)
        envelope = self.validate_schema(ex, doc)
        self.check_sender(ex, envelope)
        self.check_context(envelope)
        await self.check_replay(ex, envelope)
        return envelope

    def check_size(self, ex: Exchange) -> None:
        """Reject bodies over the configured limit (HTTP 413)."""
        if len(ex.body) > self._limits.max_body_bytes:
            raise PayloadTooLarge(
                "SCH_PAYLOAD_TOO_LARGE",
                f"body is {len(ex.body)} bytes; the limit is {self._limits.max_body_bytes}",
                path="$",
            )

    def check_content_type(self, ex: Exchange) -> None:
        """Beckn bodies are JSON (HTTP 415 otherwise)."""
        media = ex.content_type.split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise UnsupportedMediaType(
                "SCH_UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type must be application/json, got {media or 'nothing'!r}",
                path="Content-Type",
            )

    async def verify_signatures(self, ex: Exchange) -> None:
        """Verify ``Authorization`` and, when present, the gateway's header (BECKN-006 4-5)."""
        if not ex.authorization:
            raise AuthError("AUT_SIGNATURE_MISSING", "the Authorization header is missing")
        if len(ex.authorization) > 1:
            raise AuthError(
                "AUT_SIGNATURE_MALFORMED", "more than one Authorization header was sent"
            )
        ex.raw_authorization = ex.authorization[0]
        ex.signature, ex.sender = await self._headers.verify(
            ex.authorization[0], ex.body, "Authorization", gateway=False
        )
        if len(ex.gateway_authorization) > 1:
            raise AuthError(
                "AUT_SIGNATURE_MALFORMED",
                "more than one gateway signature header was sent",
                path=GATEWAY_HEADER,
                gateway=True,
            )
        if ex.gateway_authorization:
            ex.gateway_signature, ex.gateway = await self._headers.verify(
                ex.gateway_authorization[0], ex.body, GATEWAY_HEADER, gateway=True
            )
            if ex.gateway.role is not Role.BG:
                raise AuthError(
                    "AUT_NOT_A_GATEWAY",
                    f"{ex.gateway.subscriber_id} signed as a gateway but is registered as "
                    f"{ex.gateway.role}",
                    path=GATEWAY_HEADER,
                    gateway=True,
                )

    def decode_json(self, ex: Exchange) -> Any:
        """Decode the (already verified) body as I-JSON (:mod:`iesnode.protocol.ijson`)."""
        try:
            return decode_body(ex.body)
        except NotIJson as exc:
            if isinstance(exc.doc, dict):  # readable enough to answer in the caller's dialect
                with contextlib.suppress(ProtocolError):
                    ex.dialect = detect_dialect(exc.doc)
            raise RequestRejected(
                "SCH_INVALID_JSON", str(exc), path=exc.path, error_type="JSON-SCHEMA-ERROR"
            ) from exc

    def validate_schema(self, ex: Exchange, doc: Any) -> Envelope:
        """Detect the dialect, validate against its schema for the path's action, read it."""
        ex.dialect = detect_dialect(doc)
        self._schemas.validate(ex.dialect, wire_name(ex.action, ex.dialect), doc)
        ex.envelope = read_envelope(doc, ex.dialect)
        return ex.envelope

    def check_sender(self, ex: Exchange, envelope: Envelope) -> None:
        """The signer must be the context's sender: bap for requests, bpp for callbacks."""
        assert ex.signature is not None
        ctx = envelope.context
        field_name, expected = (
            ("bppId", ctx.bpp_id) if is_callback(ex.action) else ("bapId", ctx.bap_id)
        )
        if ex.signature.subscriber_id != expected:
            if ctx.dialect is not Dialect.V2:
                field_name = "bpp_id" if field_name == "bppId" else "bap_id"
            raise AuthError(
                "AUT_SENDER_MISMATCH",
                f"signed by {ex.signature.subscriber_id!r} but context.{field_name} is "
                f"{expected!r}",
                path=f"context.{field_name}",
            )

    def check_context(self, envelope: Envelope) -> None:
        """Network/domain allowed; ``timestamp + ttl`` not passed; timestamp not in the future."""
        ctx, limits = envelope.context, self._limits
        if (
            limits.allowed_networks
            and ctx.dialect is Dialect.V2
            and ctx.network_id not in limits.allowed_networks
        ):
            raise RequestRejected(
                "CTX_NETWORK_NOT_ALLOWED",
                f"networkId {ctx.network_id!r} is not one this node serves",
                path="context.networkId",
            )
        if (
            limits.allowed_domains
            and ctx.domain is not None
            and ctx.domain not in limits.allowed_domains
        ):
            raise RequestRejected(
                "CTX_DOMAIN_NOT_ALLOWED",
                f"domain {ctx.domain!r} is not one this node serves",
                path="context.domain",
            )
        now = self._clock.now()
        sent = ctx.timestamp.timestamp()
        if sent > now + limits.clock_skew:
            raise RequestRejected(
                "CTX_TIMESTAMP_IN_FUTURE",
                f"context.timestamp is {sent - now:.1f}s in the future",
                path="context.timestamp",
            )
        try:
            ttl = ctx.ttl_seconds
        except ValueError as exc:
            raise RequestRejected("CTX_INVALID_FIELD", str(exc), path="context.ttl") from exc
        expires = sent + (limits.default_ttl if ttl is None else ttl)
        if now > expires:
            raise RequestRejected(
                "CTX_TTL_EXPIRED",
                f"message expired {now - expires:.1f}s ago (timestamp + ttl)",
                path="context.ttl",
                legacy_code="30022",
            )

    async def check_replay(self, ex: Exchange, envelope: Envelope) -> None:
        """Reject a (messageId, signature) pair seen before (Beckn v2 signing doc section 5)."""
        assert ex.signature is not None
        key = f"{envelope.context.message_id}|{ex.signature.signature}"
        ttl = max(1.0, ex.signature.expires - self._clock.now()) + self._limits.clock_skew
        if not await self._replay.first_seen(key, ttl):
            raise RequestRejected(
                "CTX_DUPLICATE_MESSAGE",
                f"message {envelope.context.message_id} with this signature was already received",
                path="context.messageId"
                if envelope.context.dialect is Dialect.V2
                else "context.message_id",
            )
