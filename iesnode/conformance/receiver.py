"""The suite's callback receiver: records every callback exactly as it arrived.

A BPP under test calls back ``POST {bapUri}/on_{action}`` (Beckn v1.1.1
``transaction.yaml``; ``research/beckn-core.md`` section 4). Each identity of the suite
has its own URL below ours (``/bap``, ``/other``, ``/gateway``), so a check can tell
whether a callback went to the BAP or through the gateway. The receiver keeps the raw
bytes, the headers and the arrival time of every callback, so the checks verify
signatures over exactly the bytes received, and it answers each one with an ACK in the
callback's dialect (counter-signed in v2, :mod:`iesnode.protocol.acks`) unless a check
planned another answer for that transaction (503 or 400, to observe the target's
retries, section 7 "Callback delivery with retries and backoff").

Towards a BAP target the same receiver takes the target's *requests*: our BPP's URL is
``/bpp`` (and discovery may go to ``/gateway``). They are recorded and ACKed alike; a
check can plan the answer to the next request of an action, whatever its transaction
(:meth:`CallbackReceiver.plan_next`), since a BAP picks its own transactionId.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from iesnode.conformance.model import Exchange, clip
from iesnode.errors import ProtocolError, RequestRejected, ServiceUnavailable
from iesnode.model.envelope import Dialect, utc_timestamp
from iesnode.protocol.acks import ack_body
from iesnode.protocol.actions import canonical
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.signing import Signer

__all__ = ["CallbackReceiver", "ReceivedCallback"]


def _context_field(doc: Any, *names: str) -> str | None:
    ctx = doc.get("context") if isinstance(doc, dict) else None
    if not isinstance(ctx, dict):
        return None
    for name in names:
        value = ctx.get(name)
        if isinstance(value, str):
            return value
    return None


@dataclass(slots=True)
class ReceivedCallback:
    """One POST the target made to us."""

    via: str
    """Which of our identities' URLs it was sent to: ``bap``, ``other``, ``gateway``, ``bpp``."""
    action: str
    """The action in the URL path (wire name, e.g. ``on_search``)."""
    url: str
    body: bytes
    headers: dict[str, str]
    received_at: float
    """Wall-clock arrival (epoch seconds)."""
    status: int = 200
    answer: bytes = b""
    doc: Any = None
    """The decoded body, or None when it is not JSON."""

    @property
    def transaction_id(self) -> str | None:
        """``context.transactionId`` (v2) or ``transaction_id`` (v1), when present."""
        return _context_field(self.doc, "transactionId", "transaction_id")

    @property
    def message_id(self) -> str | None:
        """``context.messageId`` (v2) or ``message_id`` (v1), when present."""
        return _context_field(self.doc, "messageId", "message_id")

    def exchange(self, note: str = "") -> Exchange:
        """This callback as report evidence."""
        return Exchange(
            direction="from-target",
            method="POST",
            url=self.url,
            request_headers=dict(self.headers),
            request_body=clip(self.body.decode("utf-8", errors="replace")),
            status=self.status,
            response_body=clip(self.answer.decode("utf-8", errors="replace")),
            at=utc_timestamp(self.received_at),
            note=note,
        )


@dataclass
class CallbackReceiver:
    """Records callbacks and answers them; checks wait on it for what they expect."""

    signers: dict[str, Signer]
    """Per URL path (``bap``, ``other``, ``gateway``, ``bpp``): who counter-signs our v2 ACKs."""
    callbacks: list[ReceivedCallback] = field(default_factory=list)
    """Every POST the target made to us (callbacks from a BPP, requests from a BAP)."""
    _plans: dict[str, list[int]] = field(default_factory=dict)
    _next: dict[str, list[int]] = field(default_factory=dict)
    _arrived: asyncio.Condition | None = None

    def plan(self, transaction_id: str, statuses: list[int]) -> None:
        """Answer the next callbacks of ``transaction_id`` with these HTTP statuses, then ACK."""
        self._plans[transaction_id] = list(statuses)

    def plan_next(self, action: str, statuses: list[int]) -> None:
        """Answer the next POSTs of canonical ``action`` (any transaction) with ``statuses``.

        Replaces what was planned for ``action`` before (``[]`` drops it).
        """
        self._next[action] = list(statuses)

    def matching(self, predicate: Callable[[ReceivedCallback], bool]) -> list[ReceivedCallback]:
        """Callbacks received so far that satisfy ``predicate``, in arrival order."""
        return [cb for cb in self.callbacks if predicate(cb)]

    async def wait_for(
        self,
        predicate: Callable[[ReceivedCallback], bool],
        timeout: float,
        *,
        count: int = 1,
    ) -> list[ReceivedCallback]:
        """Wait up to ``timeout`` s until ``count`` callbacks match; return those that did."""
        condition = self._condition()
        deadline = time.monotonic() + timeout
        async with condition:
            while len(found := self.matching(predicate)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(condition.wait(), left)
                except TimeoutError:
                    break
        return found

    def _condition(self) -> asyncio.Condition:
        if self._arrived is None:
            self._arrived = asyncio.Condition()
        return self._arrived

    def routes(self, app: web.Application) -> None:
        """Add ``POST /{identity}/{action}`` to ``app``."""
        app.router.add_post("/{via:bap|other|gateway|bpp}/{action}", self._handle)

    def _answer(self, cb: ReceivedCallback) -> tuple[int, bytes]:
        planned = self._plans.get(cb.transaction_id or "")
        if not planned:
            planned = self._next.get(canonical(cb.action) or cb.action)
        status = planned.pop(0) if planned else 200
        try:
            dialect = detect_dialect(cb.doc)
        except ProtocolError:
            dialect = Dialect.V2
        error: ProtocolError | None = None
        if status == 503:
            error = ServiceUnavailable("NET_UNAVAILABLE", "conformance suite: planned 503")
        elif status != 200:
            error = RequestRejected("CTX_INVALID_FIELD", "conformance suite: planned refusal")
        body = ack_body(
            dialect,
            error=error,
            signer=self.signers.get(cb.via),
            request_body=cb.body,
            message_id=cb.message_id or "",
            now=int(time.time()),
        )
        return status, body

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            doc: Any = json.loads(body)
        except (ValueError, RecursionError):
            doc = None
        cb = ReceivedCallback(
            via=request.match_info["via"],
            action=request.match_info["action"],
            url=str(request.url),
            body=body,
            headers={k: v for k, v in request.headers.items()},
            received_at=time.time(),
            doc=doc,
        )
        cb.status, cb.answer = self._answer(cb)
        condition = self._condition()
        async with condition:
            self.callbacks.append(cb)
            condition.notify_all()
        return web.Response(status=cb.status, body=cb.answer, content_type="application/json")
