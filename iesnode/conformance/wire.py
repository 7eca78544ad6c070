"""Building, signing and sending the suite's requests, keeping each as evidence.

Requests are built the way a BAP builds them (:func:`iesnode.protocol.roles.envelopes.
request_context`, compact JSON) and signed over their exact bytes (BECKN-006,
:mod:`iesnode.protocol.signing`). Negative checks then break one thing on purpose
(the body, the header, the keyId ...), so everything here takes the bytes and headers
to send as given and records what went out and what came back (:class:`Sent`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iesnode.conformance.identities import CounterpartKeys, Identity
from iesnode.conformance.messages import request_message
from iesnode.conformance.model import Exchange, clip
from iesnode.errors import TransportError
from iesnode.interfaces import Reply, Transport
from iesnode.model.envelope import Envelope, utc_timestamp
from iesnode.protocol.acks import read_ack
from iesnode.protocol.dialects import write_envelope
from iesnode.protocol.roles.envelopes import join_url, request_context

if TYPE_CHECKING:
    from iesnode.conformance.options import RunOptions

__all__ = ["Outbound", "Sent", "Wire", "encode"]


def encode(doc: Any) -> bytes:
    """Compact UTF-8 JSON: the bytes a BAP signs and sends."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Outbound:
    """A request as built, before anything is broken."""

    action: str
    """Canonical action."""
    wire_action: str
    doc: dict[str, Any]
    body: bytes
    transaction_id: str
    message_id: str
    timestamp: float
    ttl: float

    @property
    def expires_at(self) -> float:
        """``timestamp + ttl``: callbacks after this are late."""
        return self.timestamp + self.ttl


@dataclass(frozen=True, slots=True)
class Sent:
    """One request we sent and what the target answered (or why nothing came back)."""

    exchange: Exchange
    reply: Reply | None
    failure: str | None
    elapsed: float

    @property
    def status(self) -> int | None:
        """The HTTP status, None when no answer arrived."""
        return None if self.reply is None else self.reply.status

    @property
    def ack_status(self) -> str | None:
        """``ACK`` or ``NACK`` when the body reads as one (either dialect), else None."""
        if self.reply is None:
            return None
        try:
            return read_ack(self.reply.body).status
        except (ValueError, TypeError, AttributeError):
            return None

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        if self.reply is None:
            return None
        wanted = name.lower()
        return next((v for k, v in self.reply.headers.items() if k.lower() == wanted), None)

    def answer(self) -> str:
        """What the target answered, for a verdict message."""
        if self.reply is None:
            return f"no answer ({self.failure})"
        return f"HTTP {self.reply.status} {self.ack_status or 'without an ACK/NACK body'}"


@dataclass
class Wire:
    """The suite's outbound side: builds requests as our BAP and posts raw bytes."""

    options: RunOptions
    keys: CounterpartKeys
    transport: Transport
    bap_uri: str

    def build(
        self,
        action: str,
        *,
        message: dict[str, Any] | None = None,
        transaction_id: str | None = None,
        previous: Mapping[str, Any] | None = None,
    ) -> Outbound:
        """A valid request of canonical ``action`` from our BAP to the target."""
        opts = self.options
        now = time.time()
        ctx = request_context(
            dialect=opts.dialect,
            action=action,
            bap_id=self.keys.bap.subscriber_id,
            bap_uri=self.bap_uri,
            now=now,
            ttl=opts.callback_timeout,
            transaction_id=transaction_id,
            bpp_id=opts.target.subscriber_id,
            bpp_uri=opts.target.url,
            network_id=opts.network_id,
            domain=opts.domain,
            city=opts.city,
            country=opts.country,
        )
        if message is None:
            message = request_message(
                action, opts.dialect, templates=opts.templates, previous=previous
            )
        doc = write_envelope(Envelope(context=ctx, message=message))
        return Outbound(
            action=action,
            wire_action=ctx.action,
            doc=doc,
            body=encode(doc),
            transaction_id=ctx.transaction_id,
            message_id=ctx.message_id,
            timestamp=now,
            ttl=opts.callback_timeout,
        )

    def signed(
        self,
        body: bytes,
        identity: Identity | None = None,
        *,
        created: int | None = None,
        expires: int | None = None,
    ) -> dict[str, str]:
        """``Content-Type`` and an ``Authorization`` by ``identity`` (our BAP) over ``body``."""
        signer = (identity or self.keys.bap).signer(self.options.signature_lifetime)
        stamp = int(time.time()) if created is None else created
        return {
            "Content-Type": "application/json",
            "Authorization": signer.sign(body, stamp, expires),
        }

    async def post(
        self, path: str, body: bytes, headers: Mapping[str, str], *, note: str = ""
    ) -> Sent:
        """POST exactly ``body`` with exactly ``headers`` to ``{target}/{path}``."""
        url = join_url(self.options.target.url, path)
        return await self.post_url(url, body, headers, note=note)

    async def post_url(
        self, url: str, body: bytes, headers: Mapping[str, str], *, note: str = ""
    ) -> Sent:
        """POST exactly ``body`` with exactly ``headers`` to ``url`` (e.g. a BAP's bapUri)."""
        wall, started = time.time(), time.perf_counter()
        reply: Reply | None = None
        failure: str | None = None
        try:
            reply = await self.transport.post(url, body, headers, self.options.ack_timeout)
        except TransportError as exc:
            failure = exc.reason
        elapsed = time.perf_counter() - started
        exchange = Exchange(
            direction="to-target",
            method="POST",
            url=url,
            request_headers=dict(headers),
            request_body=clip(body.decode("utf-8", errors="replace")),
            status=None if reply is None else reply.status,
            response_headers={} if reply is None else dict(reply.headers),
            response_body=""
            if reply is None
            else clip(reply.body.decode("utf-8", errors="replace")),
            elapsed_ms=round(elapsed * 1000, 1),
            at=utc_timestamp(wall),
            note=note if failure is None else f"{note} (no answer: {failure})".strip(),
        )
        return Sent(exchange, reply, failure, elapsed)

    async def send(self, request: Outbound, *, note: str = "") -> Sent:
        """Sign ``request`` as our BAP and POST it to its action's endpoint."""
        return await self.post(
            request.wire_action, request.body, self.signed(request.body), note=note
        )
