"""The BPP role: handlers that platforms plug in, and the callbacks they produce.

A platform registers one async handler per action. The handler receives the
verified canonical request and returns the callback's ``message``, or raises
:class:`~iesnode.errors.BusinessError`, which is sent as the ``on_*`` callback's
``error`` (Beckn v1.1.1 callbacks carry ``message`` and/or ``error``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from iesnode.errors import BusinessError, ProtocolError
from iesnode.interfaces import Clock
from iesnode.model.envelope import Context, Dialect, Envelope, ErrorDetail
from iesnode.protocol.actions import ACTIONS, canonical
from iesnode.protocol.dialects import read_envelope
from iesnode.protocol.jobs import DeliverJob, HandleJob
from iesnode.protocol.roles.envelopes import (
    callback_envelope,
    encode_envelope,
    join_url,
)

__all__ = [
    "BppRole",
    "Guard",
    "Handler",
    "HandlerRegistry",
    "IncomingRequest",
    "OutboundCheck",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """A verified request as a BPP handler sees it."""

    envelope: Envelope
    sender: str
    """Subscriber id whose signature was verified (the BAP)."""
    gateway: str | None = None
    """The gateway that forwarded it, when it came through one."""

    @property
    def context(self) -> Context:
        """The request's canonical context."""
        return self.envelope.context

    @property
    def message(self) -> dict[str, Any]:
        """The request's ``message`` (empty when absent)."""
        return self.envelope.message or {}


Handler = Callable[[IncomingRequest], Awaitable[dict[str, Any]]]
OutboundCheck = Callable[[Envelope], Awaitable[None]]
"""Checks a message we are about to send (network policy); raises a ProtocolError to refuse."""
Guard = Callable[[IncomingRequest], Awaitable[None]]
"""Runs before an action's handler; raises BusinessError to refuse (e.g. a consent check)."""


class HandlerRegistry:
    """One handler per action; ``@handlers.on("select")`` registers one."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._guards: dict[str, list[Guard]] = {}

    def guard(self, action: str) -> Callable[[Guard], Guard]:
        """Decorator adding a check that runs before ``action``'s handler, in order added.

        A guard refuses by raising :class:`~iesnode.errors.BusinessError`; the refusal is
        sent as the callback's error and the handler never runs (this is where a data
        provider enforces consent before any meter data leaves).
        """
        name = canonical(action)
        if name is None or name not in ACTIONS:
            raise ValueError(f"{action!r} is not a Beckn request action")

        def register(check: Guard) -> Guard:
            self._guards.setdefault(name, []).append(check)
            return check

        return register

    def guards(self, action: str) -> tuple[Guard, ...]:
        """The guards of a canonical action."""
        return tuple(self._guards.get(action, ()))

    def on(self, action: str) -> Callable[[Handler], Handler]:
        """Decorator registering ``handler`` for ``action`` (v1 names are accepted too)."""
        name = canonical(action)
        if name is None or name not in ACTIONS:
            raise ValueError(f"{action!r} is not a Beckn request action")

        def register(handler: Handler) -> Handler:
            self._handlers[name] = handler
            return handler

        return register

    def get(self, action: str) -> Handler | None:
        """The handler for a canonical action, if any."""
        return self._handlers.get(action)

    def __contains__(self, action: object) -> bool:
        return action in self._handlers

    @property
    def actions(self) -> frozenset[str]:
        """Actions that have a handler."""
        return frozenset(self._handlers)


def _error_detail(exc: ProtocolError, dialect: Dialect) -> ErrorDetail:
    code = exc.code if dialect is Dialect.V2 else exc.legacy_code
    return ErrorDetail(code=code, message=exc.message, path=exc.path)


class BppRole:
    """Turns verified requests into handle jobs, and handle jobs into callback deliveries."""

    def __init__(
        self,
        handlers: HandlerRegistry,
        *,
        subscriber_id: str,
        public_url: str,
        clock: Clock,
        outbound_check: OutboundCheck | None = None,
    ) -> None:
        self.handlers = handlers
        self._outbound_check = outbound_check
        self._subscriber_id = subscriber_id
        self._public_url = public_url
        self._clock = clock

    def handle_job(
        self, envelope: Envelope, body: bytes, sender: str, gateway_url: str | None
    ) -> HandleJob:
        """The job recorded before the ACK; replies go back through the gateway if one forwarded."""
        reply_to = gateway_url or envelope.context.bap_uri or ""
        return HandleJob(
            action=canonical(envelope.action) or envelope.action,
            body=body.decode("utf-8"),
            sender=sender,
            reply_to=reply_to,
            received_at=self._clock.now(),
        )

    async def run(self, job: HandleJob) -> DeliverJob:
        """Run the handler for ``job``; return the signed-at-delivery callback job."""
        envelope = read_envelope(json.loads(job.body))
        handler = self.handlers.get(job.action)
        message: dict[str, Any] | None = None
        error: ErrorDetail | None = None
        if handler is None:
            error = ErrorDetail(code="BIZ_ACTION_NOT_SUPPORTED", message="no handler")
        else:
            request = IncomingRequest(envelope, job.sender)
            try:
                for check in self.handlers.guards(job.action):
                    await check(request)
                message = await handler(request)
            except BusinessError as exc:
                error = _error_detail(exc, envelope.context.dialect)
                log.info("handler_business_error", action=job.action, code=exc.code)
            except Exception:
                log.exception("handler_failed", action=job.action)
                error = ErrorDetail(
                    code="BIZ_INTERNAL_ERROR"
                    if envelope.context.dialect is Dialect.V2
                    else "31001",
                    message="the provider could not process the request",
                )
        callback = callback_envelope(
            envelope.context,
            action=job.action,
            bpp_id=self._subscriber_id,
            bpp_uri=self._public_url,
            now=self._clock.now(),
            message=message,
            error=error,
        )
        if self._outbound_check is not None and error is None:
            try:
                await self._outbound_check(callback)
            except ProtocolError as exc:  # never emit a callback our network policy refuses
                detail = _error_detail(exc, envelope.context.dialect)
                callback = callback.model_copy(update={"message": None, "error": detail})
        return self._deliver_job(callback, job.reply_to)

    def push(self, request: Context, action: str, message: dict[str, Any]) -> DeliverJob:
        """An unsolicited callback (``on_status``, ``on_update`` ...) with a new messageId."""
        name = canonical(action)
        if name is None or not name.startswith("on_"):
            raise ValueError(f"{action!r} is not a callback action")
        callback = callback_envelope(
            request,
            action=name.removeprefix("on_"),
            bpp_id=self._subscriber_id,
            bpp_uri=self._public_url,
            now=self._clock.now(),
            message=message,
            solicited=False,
        )
        return self._deliver_job(callback, request.bap_uri or "")

    def _deliver_job(self, callback: Envelope, base_url: str) -> DeliverJob:
        ctx = callback.context
        return DeliverJob(
            url=join_url(base_url, ctx.action),
            action=ctx.action,
            body=encode_envelope(callback).decode("utf-8"),
            message_id=ctx.message_id,
            transaction_id=ctx.transaction_id,
            created_at=self._clock.now(),
        )
