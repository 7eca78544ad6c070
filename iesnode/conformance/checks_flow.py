"""Positive flows: every action the target claims, in one transaction, as a BAP runs it.

For each claimed action the suite sends a valid, correctly signed request (carrying
forward what the previous callback answered, :mod:`.messages`) and judges five
requirements, each its own check ``bpp.flow.<action>.<aspect>``:

* ``ack``: HTTP 200 with an ACK body within ``--ack-timeout`` (Beckn v1.1.1
  ``Response``/``Ack``; v2.0.0 ``Ack``; ``research/beckn-core.md`` section 1.3);
* ``callback``: since an ACK obliges a callback (``Ack.yaml``), ``on_<action>`` arrives
  within the request's ttl, exactly once (several pages allowed for discover and
  status, NFH-013 sections 5-9), with no callback of another action for this messageId;
* ``signature``, ``correlation``, ``schema``: every such callback is signed by the
  target's registered key over its raw bytes, echoes the request's ids, and is valid
  in the request's dialect (:mod:`.judging`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from iesnode.conformance.judging import (
    correlation_problems,
    schema_problems,
    signature_problems,
)
from iesnode.conformance.model import Check, Exchange, Level
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, failed, passed, skipped
from iesnode.conformance.wire import Outbound, Sent
from iesnode.protocol.acks import read_ack
from iesnode.protocol.actions import callback_of, wire_name

__all__ = ["FlowStep", "flow_checks", "run_flow"]

MULTI_CALLBACK = frozenset({"discover", "status"})
"""Actions whose one request may be answered by several callbacks."""
_REF_ACK = "Beckn v1.1.1 Response/Ack.yaml; v2.0.0 LTS Ack"
_REF_CALLBACK = "Beckn v1.1.1 Ack.yaml (an ACK obliges a callback), Context.ttl"
_REF_SIGNED = "BECKN-006 signing and verification steps 1-5"
_REF_CORRELATION = "Beckn v1.1.1 Context message_id/transaction_id"
_REF_SCHEMA = "Beckn v2.0.0 LTS beckn.yaml / v1.1.1 transaction.yaml (protocol_specs/beckn)"


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One request of the flow and its synchronous answer."""

    request: Outbound
    sent: Sent
    expected: str
    """Wire name of the callback it should bring, e.g. ``on_search``."""

    @property
    def acked(self) -> bool:
        """HTTP 200 with an ACK body."""
        return self.sent.status == 200 and self.sent.ack_status == "ACK"

    def owns(self, cb: ReceivedCallback) -> bool:
        """``cb`` answers this request: its action, and its transaction or message id."""
        return cb.action == self.expected and (
            cb.transaction_id == self.request.transaction_id
            or cb.message_id == self.request.message_id
        )

    def stray(self, cb: ReceivedCallback) -> bool:
        """``cb`` carries this request's messageId but another action."""
        return cb.message_id == self.request.message_id and cb.action != self.expected


async def run_flow(session: Session) -> dict[str, FlowStep]:
    """Send every claimed action in one transaction, waiting for each callback in turn."""
    opts, cp = session.options, session.counterpart
    steps: dict[str, FlowStep] = {}
    previous: dict[str, object] | None = None
    transaction: str | None = None
    for action in opts.actions:
        request = cp.wire.build(action, transaction_id=transaction, previous=previous)
        transaction = request.transaction_id
        sent = await cp.wire.send(request, note=f"{request.wire_action} (positive flow)")
        step = FlowStep(request, sent, wire_name(callback_of(action), opts.dialect))
        steps[action] = step
        if step.acked:
            left = max(0.0, request.expires_at - time.time())
            got = await cp.receiver.wait_for(step.owns, left)
            message = got[0].doc.get("message") if got and isinstance(got[0].doc, dict) else None
            if isinstance(message, dict):
                previous = message
    await asyncio.sleep(opts.settle)
    return steps


async def _step(session: Session, action: str) -> FlowStep:
    steps = await session.shared("flow", lambda: run_flow(session))
    return steps[action]


def _evidence(step: FlowStep, callbacks: list[ReceivedCallback]) -> list[Exchange]:
    return [step.sent.exchange, *(cb.exchange() for cb in callbacks)]


async def _ack(session: Session, action: str) -> Verdict:
    step = await _step(session, action)
    sent, limit = step.sent, session.options.ack_timeout
    if sent.reply is None:
        return failed(f"no synchronous answer within {limit:g}s: {sent.failure}", [sent.exchange])
    if step.acked:
        return passed(f"ACK in {sent.elapsed * 1000:.0f} ms", [sent.exchange])
    detail = ""
    if sent.ack_status == "NACK":
        error = read_ack(sent.reply.body).error
        detail = f": {error.code} {error.message}" if error else ""
    if sent.status == 401:
        detail += f" ({_trust_hint(session)})"
    return failed(f"a valid request was answered {sent.answer()}{detail}", [sent.exchange])


def _trust_hint(session: Session) -> str:
    """What to check when the target refuses our valid signature."""
    url = session.counterpart.registry_url
    if url is None:
        return "is the target configured with the keys printed for static mode?"
    return f"does the target look keys up in our registry, {url}?"


async def _callback(session: Session, action: str) -> Verdict:
    step = await _step(session, action)
    if not step.acked:
        return skipped(f"/{step.request.wire_action} was not ACKed (see bpp.flow.{action}.ack)")
    receiver, request = session.counterpart.receiver, step.request
    found = receiver.matching(step.owns)
    strays = receiver.matching(step.stray)
    evidence = _evidence(step, found + strays)
    on_time = [cb for cb in found if cb.received_at <= request.expires_at]
    if not on_time:
        if found:
            late = found[0].received_at - request.expires_at
            return failed(f"{step.expected} arrived {late:.2f}s after the ttl ran out", evidence)
        return failed(f"no {step.expected} within the ttl ({request.ttl:g}s)", evidence)
    if len(found) > 1 and action not in MULTI_CALLBACK:
        return failed(f"{len(found)} {step.expected} callbacks for one request", evidence)
    if strays:
        names = ", ".join(sorted({cb.action for cb in strays}))
        return failed(f"unexpected callbacks with this messageId: {names}", evidence)
    latency = on_time[0].received_at - request.timestamp
    return passed(f"{step.expected} arrived {latency * 1000:.0f} ms after the request", evidence)


Judge = Callable[[Session, FlowStep, ReceivedCallback], Awaitable[list[str]]]


async def _judged(session: Session, action: str, judge: Judge, what: str) -> Verdict:
    step = await _step(session, action)
    found = session.counterpart.receiver.matching(step.owns)
    if not found:
        return skipped(f"no {step.expected} arrived (see bpp.flow.{action}.callback)")
    for cb in found:
        problems = await judge(session, step, cb)
        if problems:
            return failed("; ".join(problems), _evidence(step, [cb]))
    return passed(f"{len(found)} {step.expected}: {what}", _evidence(step, found))


async def _signature(session: Session, step: FlowStep, cb: ReceivedCallback) -> list[str]:
    cp = session.counterpart
    target = session.options.target.subscriber_id
    return await signature_problems(cb, target, cp.target_keys, session.options.clock_skew)


async def _correlation(session: Session, step: FlowStep, cb: ReceivedCallback) -> list[str]:
    return correlation_problems(cb, step.request, session.counterpart.keys.bap.subscriber_id)


async def _schema(session: Session, step: FlowStep, cb: ReceivedCallback) -> list[str]:
    cp = session.counterpart
    return schema_problems(cb, step.request, session.options.dialect, cp.schemas)


def flow_checks(options: RunOptions) -> list[SuiteCheck]:
    """The five flow checks of every claimed action, in flow order."""
    checks: list[SuiteCheck] = []
    for action in options.actions:
        name = wire_name(action, options.dialect)
        on = wire_name(callback_of(action), options.dialect)
        base = f"bpp.flow.{action}"

        def bind(
            run: Callable[[Session, str], Awaitable[Verdict]], act: str = action
        ) -> Callable[[Session], Awaitable[Verdict]]:
            return lambda session: run(session, act)

        def judged(
            judge: Judge, what: str, act: str = action
        ) -> Callable[[Session], Awaitable[Verdict]]:
            return lambda session: _judged(session, act, judge, what)

        checks += [
            SuiteCheck(
                Check(
                    f"{base}.ack",
                    f"/{name} is answered with a synchronous ACK",
                    Level.MUST,
                    _REF_ACK,
                    f"A valid, correctly signed /{name} gets HTTP 200 with an ACK body "
                    "within the ACK time limit; the result comes later, in a callback.",
                ),
                bind(_ack),
            ),
            SuiteCheck(
                Check(
                    f"{base}.callback",
                    f"{on} arrives within the ttl, as expected",
                    Level.MUST,
                    _REF_CALLBACK,
                    f"After ACKing, the target calls {on} at the bapUri before the request's "
                    "timestamp + ttl, once (discover and status may send several), and "
                    "sends no callback of another action with this messageId.",
                ),
                bind(_callback),
            ),
            SuiteCheck(
                Check(
                    f"{base}.signature",
                    f"{on} is signed by the target's registered key",
                    Level.MUST,
                    _REF_SIGNED,
                    "Each callback's Authorization names the target (also the context's "
                    "bppId), is within created/expires, and its Ed25519 signature verifies "
                    "over the exact bytes received with the key the network holds.",
                ),
                judged(_signature, "signature verified over the raw bytes"),
            ),
            SuiteCheck(
                Check(
                    f"{base}.correlation",
                    f"{on} echoes transactionId and messageId",
                    Level.MUST,
                    _REF_CORRELATION,
                    "A solicited callback carries the request's transactionId and messageId "
                    "(and the request's bapId), so the BAP can pair it with its request.",
                ),
                judged(_correlation, "transactionId, messageId and bapId echoed"),
            ),
            SuiteCheck(
                Check(
                    f"{base}.schema",
                    f"{on} is valid in the request's dialect",
                    Level.MUST,
                    _REF_SCHEMA,
                    "The callback answers in the dialect of the request and is valid "
                    f"against the {on} schema of that dialect.",
                ),
                judged(_schema, "schema-valid"),
            ),
        ]
    return checks
