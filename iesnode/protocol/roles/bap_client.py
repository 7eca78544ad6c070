"""The BAP client API a Python application calls: discover, select, init, confirm, status ...

Each call builds a context (new messageId, same transactionId), registers the
messageId as pending, signs the exact bytes it sends, reads the ACK/NACK (checking a
v2 counter-signature when the peer sends one), then returns or streams the verified
``on_*`` callbacks until the request's ttl runs out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import structlog

from iesnode.errors import (
    AuthError,
    CallbackError,
    CallbackTimeout,
    ClientError,
    NackReceived,
    TransportError,
)
from iesnode.interfaces import (
    CallbackInbox,
    Clock,
    PendingRequest,
    Reply,
    SubscriberDirectory,
    Transport,
)
from iesnode.model.envelope import Dialect, Envelope
from iesnode.model.subscriber import Role, SubscriberQuery
from iesnode.protocol.acks import (
    COUNTER_SIGNED_HEADERS,
    AckReply,
    read_ack,
    verify_counter_signature,
)
from iesnode.protocol.actions import wire_name
from iesnode.protocol.roles.bap import BapReceiver, Callback, Peer, unsolicited_key
from iesnode.protocol.roles.bpp import OutboundCheck
from iesnode.protocol.roles.envelopes import encode_envelope, join_url, request_context
from iesnode.protocol.roles.worker import DeliveryPolicy
from iesnode.protocol.signing import Signer, load_verify_key, parse_authorization

__all__ = ["BapClient", "BapProfile", "Sent"]

log = structlog.get_logger(__name__)


_REQUEST_BACKOFF = DeliveryPolicy(backoff_base=0.2, backoff_max=2.0)


@dataclass(frozen=True, slots=True)
class BapProfile:
    """What our BAP puts in every context."""

    public_url: str
    dialect: Dialect = Dialect.V2
    network_id: str | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None
    gateway_url: str | None = None
    request_ttl: float = 30.0
    request_timeout: float = 5.0
    request_attempts: int = 3
    backoff: DeliveryPolicy = _REQUEST_BACKOFF


@dataclass(frozen=True, slots=True)
class Sent:
    """A request that was ACKed and now waits for callbacks."""

    action: str
    message_id: str
    transaction_id: str
    deadline: float


class BapClient:
    """Send requests as our BAP and wait for their callbacks."""

    def __init__(
        self,
        *,
        signer: Signer,
        profile: BapProfile,
        inbox: CallbackInbox,
        receiver: BapReceiver,
        transport: Transport,
        directory: SubscriberDirectory,
        clock: Clock,
        outbound_check: OutboundCheck | None = None,
    ) -> None:
        self._outbound_check = outbound_check
        self._signer = signer
        self._profile = profile
        self._inbox = inbox
        self._receiver = receiver
        self._transport = transport
        self._directory = directory
        self._clock = clock

    async def _gateway_url(self) -> str:
        if self._profile.gateway_url:
            return self._profile.gateway_url
        found = await self._directory.find(
            SubscriberQuery(role=Role.BG, network_id=self._profile.network_id)
        )
        if not found:
            raise ClientError("no gateway configured or registered for discovery")
        return found[0].url

    async def send(
        self,
        action: str,
        message: dict[str, Any],
        *,
        to: Peer | None = None,
        transaction_id: str | None = None,
        ttl: float | None = None,
    ) -> Sent:
        """Sign and POST one request; raise NackReceived/TransportError unless it is ACKed."""
        p = self._profile
        ttl = p.request_ttl if ttl is None else ttl
        now = self._clock.now()
        ctx = request_context(
            dialect=p.dialect,
            action=action,
            bap_id=self._signer.subscriber_id,
            bap_uri=p.public_url,
            now=now,
            ttl=ttl,
            transaction_id=transaction_id,
            bpp_id=to.subscriber_id if to else None,
            bpp_uri=to.uri if to else None,
            network_id=p.network_id,
            domain=p.domain,
            city=p.city,
            country=p.country,
        )
        envelope = Envelope(context=ctx, message=message)
        if self._outbound_check is not None:
            await self._outbound_check(envelope)  # e.g. network policy: refuse before sending
        body = encode_envelope(envelope)
        deadline = now + ttl
        pending = PendingRequest(ctx.message_id, ctx.transaction_id, action, deadline)
        await self._inbox.expect(pending, retention=ttl + 600)
        base = to.uri if to else await self._gateway_url()
        url = join_url(base, wire_name(action, p.dialect))
        reply = await self._post(url, body)
        try:
            ack = read_ack(reply.body)
        except ValueError:
            raise NackReceived(url, reply.status, None, "answer is not an ACK/NACK", None) from None
        if reply.status >= 300 or ack.status != "ACK":
            err = ack.error
            raise NackReceived(
                url,
                reply.status,
                err.code if err else None,
                err.message if err else "NACK",
                err.path if err else None,
            )
        await self._check_counter_signature(reply.body, ack, body, ctx.message_id)
        log.debug("request_acked", action=action, url=url, message_id=ctx.message_id)
        return Sent(action, ctx.message_id, ctx.transaction_id, deadline)

    async def _post(self, url: str, body: bytes) -> Reply:
        """POST, retrying 5xx, 429 and timeouts with backoff (never 4xx); re-signed each try.

        A retry carries the same messageId with a fresh signature, so a receiver's replay
        guard (keyed on messageId and signature) accepts it once.
        """
        p = self._profile
        for attempt in range(1, p.request_attempts + 1):
            headers = {
                "Content-Type": "application/json",
                "Authorization": self._signer.sign(body, int(self._clock.now())),
            }
            try:
                reply = await self._transport.post(url, body, headers, p.request_timeout)
            except TransportError as exc:
                if attempt == p.request_attempts:
                    raise
                log.warning("request_retry", url=url, attempt=attempt, reason=exc.reason)
            else:
                if not (reply.status == 429 or reply.status >= 500):
                    return reply
                if attempt == p.request_attempts:
                    return reply
                log.warning("request_retry", url=url, attempt=attempt, status=reply.status)
            await asyncio.sleep(p.backoff.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _check_counter_signature(
        self, raw: bytes, ack: AckReply, request_body: bytes, message_id: str
    ) -> None:
        if ack.signature is None:
            return  # v1 peers and some v2 stacks send unsigned ACKs
        try:
            header = parse_authorization(
                ack.signature, header_name="signature", signed_headers=COUNTER_SIGNED_HEADERS
            )
            sub = await self._directory.lookup(header.subscriber_id, header.key_id)
            if sub is None:
                raise AuthError("AUT_KEY_NOT_FOUND", "unknown counter-signing key")
            verify_counter_signature(
                raw, ack, request_body, message_id, load_verify_key(sub.signing_public_key)
            )
        except AuthError as exc:
            raise ClientError(f"ACK counter-signature rejected: {exc.message}") from exc

    async def callbacks(self, sent: Sent) -> AsyncGenerator[Callback, None]:
        """Every callback for ``sent`` until its deadline."""
        async for callback in self._receiver.receive(sent.message_id, sent.deadline):
            yield callback

    async def discover(
        self,
        message: dict[str, Any],
        *,
        ttl: float | None = None,
        transaction_id: str | None = None,
        to: Peer | None = None,
    ) -> AsyncGenerator[Callback, None]:
        """Send discover (through the gateway unless ``to`` is given); stream on_discover."""
        sent = await self.send("discover", message, to=to, transaction_id=transaction_id, ttl=ttl)
        async for callback in self.callbacks(sent):
            yield callback

    async def request(
        self,
        action: str,
        to: Peer | Callback,
        message: dict[str, Any],
        *,
        ttl: float | None = None,
        transaction_id: str | None = None,
    ) -> Callback:
        """Send ``action`` to a BPP and return its first callback; raise on error or timeout."""
        if isinstance(to, Callback):
            transaction_id = transaction_id or to.context.transaction_id
            to = to.peer
        sent = await self.send(action, message, to=to, transaction_id=transaction_id, ttl=ttl)
        async for callback in self.callbacks(sent):
            if callback.error is not None:
                err = callback.error
                raise CallbackError(callback.context.action, err.code, err.message, err.path)
            return callback
        raise CallbackTimeout(action, sent.message_id, sent.deadline - self._clock.now())

    async def select(self, to: Peer | Callback, message: dict[str, Any], **kw: Any) -> Callback:
        """select -> on_select."""
        return await self.request("select", to, message, **kw)

    async def init(self, to: Peer | Callback, message: dict[str, Any], **kw: Any) -> Callback:
        """init -> on_init."""
        return await self.request("init", to, message, **kw)

    async def confirm(self, to: Peer | Callback, message: dict[str, Any], **kw: Any) -> Callback:
        """confirm -> on_confirm."""
        return await self.request("confirm", to, message, **kw)

    async def status(self, to: Peer | Callback, message: dict[str, Any], **kw: Any) -> Callback:
        """status -> on_status."""
        return await self.request("status", to, message, **kw)

    async def updates(self, transaction_id: str, until: float) -> AsyncGenerator[Callback, None]:
        """Unsolicited on_status/on_update/on_cancel of a transaction, until ``until``."""
        async for callback in self._receiver.receive(unsolicited_key(transaction_id), until):
            yield callback
