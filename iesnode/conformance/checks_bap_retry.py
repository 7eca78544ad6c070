"""A BAP target's requests under refusal: retry a 503 with backoff, stop on a 400.

The suite asks the target for the probe action twice more. Our BPP answers the first
arrival of the first request with 503: the target should send it again, after a delay
(backoff), within the retry window. It answers the second with a 400 NACK: the target
should not send the same request again, since the same bytes cannot succeed
(``research/beckn-core.md`` section 7: "retry on 5xx, timeouts and 429; never on
400/401"; NFH-008 maps a busy peer to NET_* 502/503/504). Both are SHOULD: the retry
policy is the network's. A copy is a request of the same action with the same
messageId or transactionId.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from iesnode.conformance.bap_wire import REQUEST_PATHS
from iesnode.conformance.judging import not_retried, retried_with_backoff
from iesnode.conformance.model import Check, Exchange, Level
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, skipped
from iesnode.conformance.trigger import Asked, ask

__all__ = ["retry_checks"]

_REF = "NFH-008 retries per network policy (NET_* 502/503/504); retry 5xx with backoff, never 400"


@dataclass(frozen=True, slots=True)
class RetryProbe:
    """One request whose first arrival we refused, and every copy that followed."""

    asked: Asked
    copies: list[ReceivedCallback] = field(default_factory=list)
    """The refused request and every later copy of it, in arrival order."""

    @property
    def evidence(self) -> list[Exchange]:
        """The trigger and every arrival."""
        return [self.asked.run.exchange(), *(cb.exchange("request") for cb in self.copies)]


async def _probe(session: Session, status: int) -> RetryProbe:
    cp, opts = session.counterpart, session.options
    action = opts.probe_action
    cp.receiver.plan_next(action, [status])
    try:
        asked = await ask(session, action, f"retry-{status}")
    finally:
        cp.receiver.plan_next(action, [])
    if asked.request is None:
        return RetryProbe(asked)
    first = asked.request.received

    def copies(cb: ReceivedCallback) -> bool:
        return (
            cb.via in REQUEST_PATHS
            and cb.action == first.action
            and cb.received_at >= first.received_at
            and (cb.message_id == first.message_id or cb.transaction_id == first.transaction_id)
        )

    if status >= 500:
        await cp.receiver.wait_for(copies, opts.retry_window, count=2)
    else:
        await asyncio.sleep(max(0.0, first.received_at + opts.retry_window - time.time()))
    return RetryProbe(asked, cp.receiver.matching(copies))


async def _probes(session: Session) -> tuple[RetryProbe, RetryProbe]:
    return await _probe(session, 503), await _probe(session, 400)


def _not_judged(probe: RetryProbe) -> Verdict | None:
    if not probe.copies:
        return skipped("no request arrived to refuse (see bap.request.sent)", probe.evidence)
    return None


async def _retry_on_503(session: Session) -> Verdict:
    probe, _ = await session.shared("bap.retry", lambda: _probes(session))
    if (verdict := _not_judged(probe)) is not None:
        return verdict
    arrivals = [cb.received_at for cb in probe.copies]
    return retried_with_backoff(arrivals, session.options, probe.evidence)


async def _no_retry_on_400(session: Session) -> Verdict:
    _, probe = await session.shared("bap.retry", lambda: _probes(session))
    if (verdict := _not_judged(probe)) is not None:
        return verdict
    arrivals = [cb.received_at for cb in probe.copies]
    return not_retried("the request", arrivals, session.options, probe.evidence)


def retry_checks(_options: RunOptions) -> list[SuiteCheck]:
    """The two request-retry checks."""
    return [
        SuiteCheck(
            Check(
                "bap.request.retry-on-503",
                "A request answered 503 is retried with backoff",
                Level.SHOULD,
                _REF,
                "When the BPP answers a request with 503, the BAP sends it again within the "
                "retry window, after a delay rather than at once.",
                ("bap",),
            ),
            _retry_on_503,
        ),
        SuiteCheck(
            Check(
                "bap.request.no-retry-on-400",
                "A request answered 400 is not retried",
                Level.SHOULD,
                _REF,
                "When the BPP refuses a request with a 400 NACK, the BAP does not send the "
                "same request again.",
                ("bap",),
            ),
            _no_retry_on_400,
        ),
    ]
