"""Routing a verified message to the role that owes the network something for it.

The job is recorded in the durable outbox *before* the ACK is written, because an
ACK obliges us to call back (Beckn v1.1.1 ``Ack``: send NACK when no callback will
follow). Requests for which this provider has no handler are therefore NACKed.
"""

from __future__ import annotations

from iesnode.errors import BusinessError, RequestRejected
from iesnode.interfaces import Clock, Outbox
from iesnode.model.envelope import Dialect, Envelope
from iesnode.protocol.acks import ack_body
from iesnode.protocol.actions import is_callback
from iesnode.protocol.inbound import Exchange
from iesnode.protocol.jobs import encode_job
from iesnode.protocol.roles.backlog import Backlog
from iesnode.protocol.roles.bap import BapReceiver
from iesnode.protocol.roles.bpp import BppRole
from iesnode.protocol.roles.gateway import GatewayRole
from iesnode.protocol.signing import Signer

__all__ = ["Router"]


class Router:
    """Decides, per verified message, which role handles it; returns the ACK body."""

    def __init__(
        self,
        *,
        signer: Signer,
        clock: Clock,
        outbox: Outbox,
        receiver: BapReceiver,
        bpp: BppRole,
        gateway: GatewayRole | None,
        provider: bool,
        backlog: Backlog,
    ) -> None:
        self._signer = signer
        self._clock = clock
        self._outbox = outbox
        self._receiver = receiver
        self._bpp = bpp
        self._gateway = gateway
        self._provider = provider
        self._backlog = backlog

    async def _record(self, job: bytes) -> None:
        """Put a job in the outbox, counted against the backlog limit."""
        self._backlog.admit()
        try:
            await self._outbox.put(job)
        except BaseException:
            self._backlog.settle()
            raise

    def _is_relay(self, ex: Exchange, envelope: Envelope) -> bool:
        """An on_discover from a BPP to a BAP other than us: the gateway relays it."""
        return (
            self._gateway is not None
            and ex.action == "on_discover"
            and ex.gateway is None
            and envelope.context.bap_id != self._signer.subscriber_id
        )

    def _is_fanout(self, ex: Exchange, envelope: Envelope) -> bool:
        """A discover straight from a BAP, not addressed to us as a provider."""
        return (
            self._gateway is not None
            and ex.action == "discover"
            and ex.gateway is None
            and (envelope.context.bpp_id is None or not self._provider)
        )

    def _check_addressee(self, envelope: Envelope) -> None:
        """A request naming another provider in ``bppId`` is not ours to answer.

        Without this a request validly signed for one BPP could be replayed, within its
        signature's lifetime, to another (the replay guard is per node).
        """
        ctx = envelope.context
        if ctx.bpp_id is not None and ctx.bpp_id != self._signer.subscriber_id:
            field_name = "bppId" if ctx.dialect is Dialect.V2 else "bpp_id"
            raise RequestRejected(
                "CTX_INVALID_FIELD",
                f"addressed to {ctx.bpp_id!r}, not to this provider "
                f"({self._signer.subscriber_id!r})",
                path=f"context.{field_name}",
            )

    async def accept(self, ex: Exchange, envelope: Envelope) -> bytes:
        """Record what we owe for ``envelope``; return the counter-signed ACK body."""
        sender = ex.sender.subscriber_id if ex.sender else ""
        if self._gateway is not None and self._is_relay(ex, envelope):
            relay = await self._gateway.relay_job(envelope, ex.body, ex.raw_authorization)
            await self._record(encode_job(relay))
        elif is_callback(ex.action):
            gateway_id = ex.gateway.subscriber_id if ex.gateway else None
            await self._receiver.accept(envelope, sender, gateway_id)
        elif self._gateway is not None and self._is_fanout(ex, envelope):
            fanout = self._gateway.fanout_job(envelope, ex.body, ex.raw_authorization)
            await self._record(encode_job(fanout))
        else:
            if ex.action not in self._bpp.handlers:
                raise BusinessError(
                    "BIZ_ACTION_NOT_SUPPORTED",
                    f"this provider does not handle {envelope.context.action}",
                    path="context.action",
                    legacy_code="40001",
                )
            self._check_addressee(envelope)
            reply_to = ex.gateway.url if ex.gateway else None
            job = self._bpp.handle_job(envelope, ex.body, sender, reply_to)
            await self._record(encode_job(job))
        ctx = envelope.context
        return ack_body(
            ctx.dialect,
            signer=self._signer,
            request_body=ex.body,
            message_id=ctx.message_id,
            now=int(self._clock.now()),
        )
