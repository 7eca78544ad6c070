"""The BAP role: send signed requests and receive their verified ``on_*`` callbacks.

Correlation (``DESIGN.md`` section 4): a request's messageId is registered as
pending *before* the request is sent; a callback is accepted only for a pending
messageId before its deadline (request timestamp + ttl), or as an unsolicited
``on_status``/``on_update``/``on_cancel`` in a transaction we know. Accepted callbacks
go through the shared :class:`~iesnode.interfaces.CallbackInbox`, so they reach the
waiting caller whichever node process received them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from iesnode.errors import RequestRejected
from iesnode.interfaces import CallbackInbox, Clock
from iesnode.model.envelope import Context, Dialect, Envelope, ErrorDetail
from iesnode.protocol.actions import UNSOLICITED_CALLBACKS, canonical, request_of
from iesnode.protocol.dialects import read_envelope, write_envelope

__all__ = ["BapReceiver", "Callback", "Peer", "unsolicited_key"]


def unsolicited_key(transaction_id: str) -> str:
    """Inbox key under which unsolicited callbacks of a transaction are delivered."""
    return f"unsolicited:{transaction_id}"


@dataclass(frozen=True, slots=True)
class Peer:
    """A BPP (or gateway) to address a request to."""

    subscriber_id: str
    uri: str


@dataclass(frozen=True, slots=True)
class Callback:
    """A verified ``on_*`` callback as the BAP application sees it."""

    envelope: Envelope
    sender: str
    """Subscriber id whose signature was verified (the BPP)."""
    gateway: str | None
    """The gateway that relayed it, if any (its signature was verified too)."""
    received_at: float

    @property
    def context(self) -> Context:
        """The callback's context."""
        return self.envelope.context

    @property
    def message(self) -> dict[str, Any]:
        """The callback's message (empty when the callback carries only an error)."""
        return self.envelope.message or {}

    @property
    def error(self) -> ErrorDetail | None:
        """The callback's error, if the BPP sent one."""
        return self.envelope.error

    @property
    def peer(self) -> Peer:
        """The BPP to address follow-up requests of this transaction to."""
        ctx = self.envelope.context
        return Peer(ctx.bpp_id or self.sender, ctx.bpp_uri or "")

    def encode(self) -> bytes:
        """Serialise for the inbox."""
        return json.dumps(
            {
                "body": json.dumps(write_envelope(self.envelope), separators=(",", ":")),
                "sender": self.sender,
                "gateway": self.gateway,
                "received_at": self.received_at,
            }
        ).encode("utf-8")

    @classmethod
    def decode(cls, raw: bytes) -> Callback:
        """Read back what :meth:`encode` wrote."""
        doc = json.loads(raw)
        return cls(
            envelope=read_envelope(json.loads(doc["body"])),
            sender=doc["sender"],
            gateway=doc["gateway"],
            received_at=doc["received_at"],
        )


class BapReceiver:
    """Accepts callbacks for our pending requests and hands them to the inbox."""

    def __init__(self, *, inbox: CallbackInbox, clock: Clock) -> None:
        self._inbox = inbox
        self._clock = clock

    async def accept(self, envelope: Envelope, sender: str, gateway: str | None) -> None:
        """Check correlation and deliver; raise a RequestRejected NACK otherwise."""
        ctx = envelope.context
        action = canonical(ctx.action) or ctx.action
        mid_path = "context.messageId" if ctx.dialect is Dialect.V2 else "context.message_id"
        callback = Callback(envelope, sender, gateway, self._clock.now())
        pending = await self._inbox.pending(ctx.message_id)
        if pending is None:
            if action in UNSOLICITED_CALLBACKS and await self._inbox.knows_transaction(
                ctx.transaction_id
            ):
                await self._inbox.deliver(unsolicited_key(ctx.transaction_id), callback.encode())
                return
            raise RequestRejected(
                "CTX_UNKNOWN_MESSAGE",
                f"no pending request with messageId {ctx.message_id}",
                path=mid_path,
                legacy_code="20006",
            )
        if request_of(action) != pending.action:
            raise RequestRejected(
                "CTX_CALLBACK_MISMATCH",
                f"{ctx.action} does not answer the pending {pending.action} request",
                path="context.action",
            )
        if self._clock.now() > pending.deadline:
            raise RequestRejected(
                "CTX_LATE_CALLBACK",
                f"callback arrived {self._clock.now() - pending.deadline:.1f}s after the "
                "request's ttl ran out",
                path="context.timestamp",
                legacy_code="20009",
            )
        await self._inbox.deliver(ctx.message_id, callback.encode())

    async def receive(self, message_id: str, deadline: float) -> AsyncGenerator[Callback, None]:
        """Callbacks for ``message_id`` until ``deadline``."""
        async for raw in self._inbox.receive(message_id, deadline):
            yield Callback.decode(raw)
