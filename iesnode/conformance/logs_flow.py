"""Per-transaction offline checks: correlation, sequence and timing of callbacks.

``message_id`` pairs a request with its callbacks and ``transaction_id`` groups a
session (Beckn v1.1.1 ``Context.yaml``; ``research/beckn-core.md`` §1.2 and §4.4).
Only on_status, on_update and on_cancel may arrive unsolicited with a new messageId
(:data:`~iesnode.protocol.actions.UNSOLICITED_CALLBACKS`). Order is judged by context
timestamps; because a request and its callback are stamped by different clocks, "A
before B" is only reported when A is later than B by more than the clock skew.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from iesnode.conformance.logs_checks import Parsed
from iesnode.conformance.logs_findings import Findings
from iesnode.protocol.actions import UNSOLICITED_CALLBACKS, callback_of, is_callback, request_of

__all__ = [
    "PREREQUISITES",
    "Flow",
    "check_answered",
    "check_callback_action",
    "check_callback_message_id",
    "check_callback_transaction",
    "check_sequence",
    "check_ttl",
]

PREREQUISITES = {"init": "on_select", "confirm": "on_init"}
"""A request (canonical name) and the callback that must come before it in its transaction."""


class Flow:
    """The readable messages of the logs, indexed by transaction and messageId."""

    def __init__(self, parsed: Sequence[Parsed]) -> None:
        usable = [p for p in parsed if p.envelope is not None and p.action is not None]
        self.requests = [p for p in usable if not is_callback(str(p.action))]
        self.callbacks = [p for p in usable if is_callback(str(p.action))]
        self.by_transaction: dict[str, list[Parsed]] = defaultdict(list)
        for p in sorted(usable, key=lambda p: (p.timestamp, p.msg.order)):
            self.by_transaction[p.context.transaction_id].append(p)
        self._by_id: dict[tuple[str, str], Parsed] = {}
        self._by_message: dict[str, Parsed] = {}
        self._answered: set[tuple[str, str]] = set()
        for p in self.requests:
            self._by_id.setdefault((p.context.transaction_id, p.context.message_id), p)
            self._by_message.setdefault(p.context.message_id, p)
        for p in self.callbacks:
            self._answered.add((p.context.transaction_id, p.context.message_id))
        self.transactions = {p.context.transaction_id for p in self.requests}

    def request_of(self, callback: Parsed) -> Parsed | None:
        """The request a callback echoes (same transactionId and messageId), if logged."""
        return self._by_id.get((callback.context.transaction_id, callback.context.message_id))

    def request_with_message_id(self, message_id: str) -> Parsed | None:
        """The first logged request with ``message_id``, in any transaction."""
        return self._by_message.get(message_id)

    def is_answered(self, request: Parsed) -> bool:
        """True when a callback echoes the request's transactionId and messageId."""
        return (request.context.transaction_id, request.context.message_id) in self._answered


def check_callback_transaction(flow: Flow) -> Findings:
    """Each callback's transactionId is that of a logged request."""
    found = Findings(noun="callback")
    for cb in flow.callbacks:
        ctx = cb.context
        if ctx.transaction_id in flow.transactions:
            found.ok()
            continue
        note = f"{ctx.action} carries transactionId {ctx.transaction_id}, of which no request "
        note += "was logged"
        twin = flow.request_with_message_id(ctx.message_id)
        if twin is not None:
            note += (
                f"; its messageId is that of {twin.context.action} in transaction "
                f"{twin.context.transaction_id} ({twin.msg.source})"
            )
        found.fail(cb.msg, note)
    return found


def check_callback_message_id(flow: Flow) -> Findings:
    """Each callback in a known transaction echoes a request's messageId (or is unsolicited)."""
    found = Findings(noun="callback")
    for cb in flow.callbacks:
        ctx = cb.context
        if ctx.transaction_id not in flow.transactions:
            found.cannot("its transaction was not logged (see logs.correlation.transaction)")
        elif flow.request_of(cb) is not None or cb.action in UNSOLICITED_CALLBACKS:
            found.ok()
        else:
            found.fail(
                cb.msg,
                f"{ctx.action} carries messageId {ctx.message_id}, which no request of "
                f"transaction {ctx.transaction_id} carries",
            )
    return found


def check_callback_action(flow: Flow) -> Findings:
    """A callback that echoes a request's ids is the callback of that request's action."""
    found = Findings(noun="callback")
    for cb in flow.callbacks:
        request = flow.request_of(cb)
        if request is None:
            found.cannot("it echoes no logged request")
        elif request.action == request_of(str(cb.action)):
            found.ok()
        else:
            found.fail(
                cb.msg,
                f"{cb.context.action} echoes the ids of {request.context.action} "
                f"({request.msg.source}), which is answered by "
                f"{callback_of(request.context.action)}",
            )
    return found


def check_answered(flow: Flow) -> Findings:
    """Each request (once per transactionId + messageId) has a callback in the logs."""
    found = Findings(noun="request")
    seen: set[tuple[str, str]] = set()
    for rq in flow.requests:
        ids = (rq.context.transaction_id, rq.context.message_id)
        if ids in seen:
            continue
        seen.add(ids)
        if flow.is_answered(rq):
            found.ok()
        else:
            found.fail(
                rq.msg,
                f"no callback with transactionId {ids[0]} and messageId {ids[1]} was logged",
            )
    return found


def check_sequence(flow: Flow, clock_skew: float) -> Findings:
    """init after on_select, confirm after on_init, callbacks after their requests."""
    found = Findings()
    for messages in flow.by_transaction.values():
        for p in messages:
            needed = PREREQUISITES.get(str(p.action))
            if needed is not None:
                before = [q for q in messages if q.action == needed]
                if not any(q.timestamp <= p.timestamp + clock_skew for q in before):
                    later = f" (the first is at {before[0].msg.source})" if before else ""
                    found.fail(
                        p.msg,
                        f"{p.context.action} at {p.context.timestamp.isoformat()} comes before "
                        f"any {needed} of transaction {p.context.transaction_id}{later}",
                    )
                    continue
            request = flow.request_of(p) if is_callback(str(p.action)) else None
            if request is not None and p.timestamp + clock_skew < request.timestamp:
                found.fail(
                    p.msg,
                    f"{p.context.action} is stamped {request.timestamp - p.timestamp:.1f}s "
                    f"before its request ({request.msg.source})",
                )
                continue
            found.ok()
    return found


def check_ttl(flow: Flow, clock_skew: float) -> Findings:
    """Each callback arrives by its request's timestamp + ttl (+ clock skew)."""
    found = Findings(noun="callback")
    for cb in flow.callbacks:
        request = flow.request_of(cb)
        if request is None:
            found.cannot("it echoes no logged request")
            continue
        try:
            ttl = request.context.ttl_seconds
        except ValueError:
            found.cannot("its request's ttl is not an ISO 8601 duration")
            continue
        if ttl is None:
            found.cannot("its request carries no ttl")
            continue
        arrived = cb.msg.received_at if cb.msg.received_at is not None else cb.timestamp
        late = arrived - (request.timestamp + ttl)
        if late > clock_skew:
            found.fail(
                cb.msg,
                f"{cb.context.action} arrived {arrived - request.timestamp:.1f}s after "
                f"{request.context.action} ({request.msg.source}), whose ttl is "
                f"{request.context.ttl}",
            )
        else:
            found.ok()
    return found
