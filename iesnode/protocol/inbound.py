"""The inbound pipeline: every step a signed message passes before it is ACKed.

The order follows ``DESIGN.md`` section 1 and BECKN-006 "Verifying the
Authorization header" steps 2-10: size limit, parse ``Authorization`` (and the
gateway's ``X-Gateway-Authorization``), look the key up, verify Ed25519 over
BLAKE2b-512 of the raw bytes, decode JSON, read the dialect, validate the schema,
check the context (sender, network, timestamp + ttl) and finally the replay guard.
Each step is a named method that raises a :class:`~iesnode.errors.ProtocolError`;
handlers only ever see the verified envelope that comes out of the end.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from nacl.signing import VerifyKey

from iesnode.errors import (
    AuthError,
    PayloadTooLarge,
    RequestRejected,
    ServiceUnavailable,
    TransportError,
    UnsupportedMediaType,
)
from iesnode.interfaces import Clock, ReplayGuard, SubscriberDirectory
from iesnode.model.envelope import Dialect, Envelope
from iesnode.model.subscriber import Role, Subscriber, SubscriberStatus
from iesnode.protocol.actions import is_callback, wire_name
from iesnode.protocol.dialects import detect_dialect, read_envelope
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import (
    SignatureHeader,
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = ["Exchange", "InboundLimits", "InboundVerifier"]

GATEWAY_HEADER = "X-Gateway-Authorization"
LEGACY_GATEWAY_HEADER = "Proxy-Authorization"


@lru_cache(maxsize=4096)
def _verify_key(public_key: str) -> VerifyKey:
    return load_verify_key(public_key)


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
        self._directory = directory
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
        ex.signature, ex.sender = await self._verify_one(
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
            ex.gateway_signature, ex.gateway = await self._verify_one(
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

    async def _lookup(self, header: SignatureHeader, fresh: bool) -> Subscriber | None:
        try:
            return await self._directory.lookup(header.subscriber_id, header.key_id, fresh=fresh)
        except TransportError as exc:
            raise ServiceUnavailable(
                "NET_REGISTRY_UNAVAILABLE",
                f"cannot look up key {header.key_id} of {header.subscriber_id}: {exc.reason}",
                path="Authorization",
            ) from exc

    async def _verify_one(
        self, value: str, body: bytes, name: str, *, gateway: bool
    ) -> tuple[SignatureHeader, Subscriber]:
        header = parse_authorization(value, header_name=name, gateway=gateway)
        now = self._clock.now()
        verify_times(header, now, self._limits.clock_skew, gateway=gateway)
        sub = await self._lookup(header, fresh=False)
        if sub is None:
            raise AuthError(
                "AUT_KEY_NOT_FOUND",
                f"the registry knows no key {header.key_id!r} for subscriber "
                f"{header.subscriber_id!r}",
                path=name,
                gateway=gateway,
            )
        self._check_key(sub, header, now, name, gateway)
        try:
            verify_signature(body, header, _verify_key(sub.signing_public_key), gateway=gateway)
        except AuthError:
            fresh = await self._lookup(header, fresh=True)
            if fresh is None or fresh.signing_public_key == sub.signing_public_key:
                raise
            self._check_key(fresh, header, now, name, gateway)
            verify_signature(body, header, _verify_key(fresh.signing_public_key), gateway=gateway)
            sub = fresh
        return header, sub

    def _check_key(
        self, sub: Subscriber, header: SignatureHeader, now: float, name: str, gateway: bool
    ) -> None:
        def fail(code: str, why: str) -> AuthError:
            return AuthError(code, why, path=name, gateway=gateway)

        who = f"key {sub.key_id!r} of {sub.subscriber_id!r}"
        if sub.status in (SubscriberStatus.REVOKED, SubscriberStatus.UNSUBSCRIBED):
            raise fail("AUT_KEY_REVOKED", f"{who} is {sub.status.value}")
        if sub.status is not SubscriberStatus.SUBSCRIBED:
            raise fail("AUT_KEY_INACTIVE", f"{who} is {sub.status.value}, not SUBSCRIBED")
        if (
            sub.valid_from is not None
            and sub.valid_from.timestamp() > now + self._limits.clock_skew
        ):
            raise fail("AUT_KEY_NOT_YET_VALID", f"{who} is valid from {sub.valid_from.isoformat()}")
        if sub.valid_until is not None:
            until = sub.valid_until.timestamp()
            if until < now:
                raise fail("AUT_KEY_EXPIRED", f"{who} expired at {sub.valid_until.isoformat()}")
            if header.expires > until:
                raise fail(
                    "AUT_SIGNATURE_OUTLIVES_KEY",
                    f"signature expires={header.expires} is after the key's valid_until "
                    f"{sub.valid_until.isoformat()}",
                )

    def decode_json(self, ex: Exchange) -> Any:
        """Decode the (already verified) body."""
        try:
            return json.loads(ex.body)
        except json.JSONDecodeError as exc:
            raise RequestRejected(
                "SCH_INVALID_JSON",
                f"body is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                path="$",
                error_type="JSON-SCHEMA-ERROR",
            ) from exc
        except RecursionError as exc:
            raise RequestRejected(
                "SCH_INVALID_JSON",
                "JSON nests too deeply",
                path="$",
                error_type="JSON-SCHEMA-ERROR",
            ) from exc
        except UnicodeDecodeError as exc:
            raise RequestRejected(
                "SCH_INVALID_JSON",
                f"body is not UTF-8 at byte {exc.start}",
                path="$",
                error_type="JSON-SCHEMA-ERROR",
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
