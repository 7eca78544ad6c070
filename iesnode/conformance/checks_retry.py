"""The target's callback delivery under refusal: retry a 503 with backoff, stop on a 400.

Two transactions of the probe action run side by side. In one, the suite answers the
first callback with 503: the target should send it again, after a delay (backoff), within
the retry window. In the other it answers 400 NACK: the target should not send it again,
because the same bytes cannot succeed (``research/beckn-core.md`` section 7: "retry on
5xx, timeouts and 429; never on 400/401"; NFH-008: the BPP retries a NACKed callback
according to network policy; protocol-server does not retry a 400, section 5.2). Both
are SHOULD: the retry policy is the network's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from iesnode.conformance.judging import not_retried, retried_with_backoff
from iesnode.conformance.model import Check, Exchange, Level
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, skipped
from iesnode.conformance.wire import Outbound, Sent

__all__ = ["retry_checks"]

_REF = "NFH-008 callback retries per network policy; retry 5xx with backoff, never 400"


@dataclass(frozen=True, slots=True)
class RetryProbe:
    """One transaction whose first callback we refused, and what followed."""

    request: Outbound
    sent: Sent
    callbacks: list[ReceivedCallback] = field(default_factory=list)
    """The refused callback and every later copy of it, in arrival order."""

    @property
    def evidence(self) -> list[Exchange]:
        """The request and every callback."""
        return [self.sent.exchange, *(cb.exchange() for cb in self.callbacks)]


async def _probe(session: Session, status: int) -> RetryProbe:
    cp, opts = session.counterpart, session.options
    request = cp.wire.build(opts.probe_action)
    cp.receiver.plan(request.transaction_id, [status])
    sent = await cp.wire.send(request, note=f"first callback will be answered {status}")
    if sent.status != 200 or sent.ack_status != "ACK":
        return RetryProbe(request, sent)

    def ours(cb: ReceivedCallback) -> bool:
        return cb.transaction_id == request.transaction_id or cb.message_id == request.message_id

    first = await cp.receiver.wait_for(ours, max(0.0, request.expires_at - time.time()))
    if not first:
        return RetryProbe(request, sent)
    refused = first[0]

    def copies(cb: ReceivedCallback) -> bool:
        return ours(cb) and cb.action == refused.action and cb.message_id == refused.message_id

    if status >= 500:
        await cp.receiver.wait_for(copies, opts.retry_window, count=2)
    else:
        await asyncio.sleep(max(0.0, refused.received_at + opts.retry_window - time.time()))
    return RetryProbe(request, sent, cp.receiver.matching(copies))


async def _probes(session: Session) -> tuple[RetryProbe, RetryProbe]:
    unavailable, refused = await asyncio.gather(_probe(session, 503), _probe(session, 400))
    return unavailable, refused


def _not_judged(probe: RetryProbe) -> Verdict | None:
    if probe.sent.status != 200 or probe.sent.ack_status != "ACK":
        return skipped(f"the probe request was answered {probe.sent.answer()}", probe.evidence)
    if not probe.callbacks:
        return skipped("no callback arrived to refuse (see the bpp.flow checks)", probe.evidence)
    return None


async def _retry_on_503(session: Session) -> Verdict:
    probe, _ = await session.shared("retry", lambda: _probes(session))
    if (verdict := _not_judged(probe)) is not None:
        return verdict
    arrivals = [cb.received_at for cb in probe.callbacks]
    return retried_with_backoff(arrivals, session.options, probe.evidence)


async def _no_retry_on_400(session: Session) -> Verdict:
    _, probe = await session.shared("retry", lambda: _probes(session))
    if (verdict := _not_judged(probe)) is not None:
        return verdict
    arrivals = [cb.received_at for cb in probe.callbacks]
    return not_retried("the callback", arrivals, session.options, probe.evidence)


def retry_checks(_options: RunOptions) -> list[SuiteCheck]:
    """The two callback-retry checks."""
    return [
        SuiteCheck(
            Check(
                "bpp.callback.retry-on-503",
                "A callback answered 503 is retried with backoff",
                Level.SHOULD,
                _REF,
                "When the BAP answers a callback with 503, the target sends it again "
                "within the retry window, after a delay rather than at once.",
            ),
            _retry_on_503,
        ),
        SuiteCheck(
            Check(
                "bpp.callback.no-retry-on-400",
                "A callback answered 400 is not retried",
                Level.SHOULD,
                _REF,
                "When the BAP refuses a callback with a 400 NACK, the target does not send "
                "the same callback again.",
            ),
            _no_retry_on_400,
        ),
    ]
