"""The exchanges with a BAP target that its checks judge: the flow and the late callback.

**Flow.** For every claimed action, in order, the suite asks the target for a request
(:mod:`.trigger`), ACKs it, and answers it as our BPP with a correctly signed
``on_<action>`` (:mod:`.bap_wire`). The first request (the *probe*) is also sent every
callback the target must refuse (``research/beckn-core.md`` sections 2.3, 4.4 and 7),
each a fresh, otherwise valid callback with exactly one thing wrong, and all of them
*before* its valid callback: a target whose correlation state refuses a second
callback for a message would otherwise refuse them for that reason (a 400 "unknown
message" hiding a missing 401). After the valid callback comes its exact copy, bytes
and header (the replay).

**Late.** One more request of the probe action is left unanswered until its ttl has run
out (plus :data:`LATE_MARGIN`); then it gets a correctly signed callback, which the
target must refuse (section 4.4; ONDC 20009, ``CTX_TTL_EXPIRED``). A target whose ttl is
longer than ``--late-wait`` is not waited for.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from iesnode.conformance.bap_wire import TargetRequest, callback_doc, send_callback
from iesnode.conformance.counterpart import Counterpart
from iesnode.conformance.identities import Identity
from iesnode.conformance.suite import Session
from iesnode.conformance.trigger import Asked, ask
from iesnode.conformance.wire import Sent, encode
from iesnode.model.envelope import Dialect
from iesnode.protocol.actions import UNSOLICITED_CALLBACKS, callback_of
from iesnode.protocol.roles.envelopes import new_id
from iesnode.protocol.signing import Signer

__all__ = [
    "ANSWER_DELAY",
    "LATE_MARGIN",
    "BapFlow",
    "FlowStep",
    "LateProbe",
    "bap_flow",
    "flow_of",
    "late_probe",
]

LATE_MARGIN = 0.5
"""Seconds after the request's ttl (counted from its arrival) the late callback is sent."""
ANSWER_DELAY = 0.05
"""Seconds between receiving a request and the first callback, so our ACK reaches the
target first, as from a BPP that processes after ACKing."""

Variant = tuple[bytes, dict[str, str]]


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One action of the flow: what was asked, and our valid callback's answer."""

    asked: Asked
    valid: Sent | None = None
    """None when no request came, or it cannot be answered (see the request checks)."""

    @property
    def acked(self) -> bool:
        """The target ACKed our valid callback (a 2xx with an ACK body)."""
        return (
            self.valid is not None
            and self.valid.status is not None
            and 200 <= self.valid.status < 300
            and self.valid.ack_status == "ACK"
        )


@dataclass(frozen=True, slots=True)
class BapFlow:
    """Every flow step, and the probe's broken callbacks by check name."""

    steps: dict[str, FlowStep]
    sent: dict[str, list[Sent]] = field(default_factory=dict)
    """``tampered-body`` ... ``sender-mismatch``, ``unknown``, ``malformed-json``, ``replay``."""

    @property
    def probe(self) -> FlowStep | None:
        """The first action's step, which the broken callbacks were sent for."""
        return next(iter(self.steps.values()), None)


class _Callbacks:
    """Builds callbacks for one request, each with a new timestamp, signed as told."""

    def __init__(self, cp: Counterpart, request: TargetRequest) -> None:
        self.cp, self.request = cp, request
        self.bpp: Identity = cp.keys.bpp

    def doc(self) -> dict[str, object]:
        """A fresh valid callback document."""
        return callback_doc(self.request, self.bpp.subscriber_id, self.cp.url_of(self.bpp))

    def signed(
        self,
        body: bytes,
        identity: Identity | None = None,
        created: int | None = None,
        expires: int | None = None,
    ) -> dict[str, str]:
        """Headers signing ``body`` (our BPP unless told), at ``created`` if given."""
        wire = self.cp.wire
        return wire.signed(body, identity or self.bpp, created=created, expires=expires)

    def valid(self) -> Variant:
        """A correct callback."""
        body = encode(self.doc())
        return body, self.signed(body)

    def tampered(self) -> Variant:
        doc = self.doc()
        headers = self.signed(encode(doc))
        changed = copy.deepcopy(doc)
        message = changed["message"]
        assert isinstance(message, dict)
        message["conformanceTampered"] = True
        return encode(changed), headers

    def equivalent(self) -> Variant:
        doc = self.doc()
        spaced = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
        return spaced, self.signed(encode(doc))

    def other_key(self) -> Variant:
        body = encode(self.doc())
        forger = Signer.from_base64(
            self.bpp.subscriber_id, self.bpp.key_id, self.cp.keys.other.signing_private_key
        )
        auth = forger.sign(body, int(time.time()))
        return body, {"Content-Type": "application/json", "Authorization": auth}

    def missing(self) -> Variant:
        return encode(self.doc()), {"Content-Type": "application/json"}

    def garbled(self) -> Variant:
        body, headers = self.valid()
        headers["Authorization"] = headers["Authorization"][: len(headers["Authorization"]) // 2]
        return body, headers

    def dated(self, created: int, expires: int) -> Variant:
        body = encode(self.doc())
        now = int(time.time())
        return body, self.signed(body, created=now + created, expires=now + expires)

    def sender(self) -> Variant:
        body = encode(self.doc())
        return body, self.signed(body, self.cp.keys.other)

    def unknown(self, *, transaction: bool) -> Variant:
        doc = self.doc()
        ctx = doc["context"]
        assert isinstance(ctx, dict)
        v2 = self.request.dialect is Dialect.V2
        ctx["messageId" if v2 else "message_id"] = new_id()
        if transaction:
            ctx["transactionId" if v2 else "transaction_id"] = new_id()
        body = encode(doc)
        return body, self.signed(body)

    def malformed(self) -> Variant:
        cut = encode(self.doc())
        cut = cut[: len(cut) * 2 // 3]
        return cut, self.signed(cut)


def _broken(calls: _Callbacks) -> list[tuple[str, str, Callable[[], Variant]]]:
    """(check name, evidence note, builder) of every callback the probe must refuse."""
    broken: list[tuple[str, str, Callable[[], Variant]]] = [
        ("tampered-body", "body changed after signing", calls.tampered),
        ("equivalent-body", "signed compact JSON, sent re-indented", calls.equivalent),
        ("other-key", "our BPP's keyId, signed by another key", calls.other_key),
        ("missing", "no Authorization header", calls.missing),
        ("garbled", "Authorization cut in half", calls.garbled),
        ("expired", "signature expired 300 s ago", lambda: calls.dated(-600, -300)),
        ("future", "signature created 600 s from now", lambda: calls.dated(600, 900)),
        ("sender-mismatch", "signed by other-bap; bppId is our BPP", calls.sender),
        ("unknown", "unknown transaction and messageId", lambda: calls.unknown(transaction=True)),
    ]
    action = calls.request.action
    if action is not None and callback_of(action) not in UNSOLICITED_CALLBACKS:
        unknown = "the probe's transaction, an unknown messageId"
        broken.append(("unknown", unknown, lambda: calls.unknown(transaction=False)))
    broken.append(("malformed-json", "JSON cut short, signed as sent", calls.malformed))
    return broken


async def _answer(session: Session, asked: Asked, flow: BapFlow, probe: bool) -> FlowStep:
    cp, request = session.counterpart, asked.request
    if request is None or not request.answerable:
        return FlowStep(asked)
    calls = _Callbacks(cp, request)
    await asyncio.sleep(ANSWER_DELAY)
    if probe:
        for name, note, build in _broken(calls):
            body, headers = build()
            sent = await send_callback(cp, request, body, headers, note=note)
            flow.sent.setdefault(name, []).append(sent)
    body, headers = calls.valid()
    valid = await send_callback(cp, request, body, headers, note="a correct callback")
    if probe:
        replay = await send_callback(cp, request, body, headers, note="the same bytes and header")
        flow.sent["replay"] = [valid, replay]
    return FlowStep(asked, valid)


async def flow_of(session: Session) -> BapFlow:
    """The run's flow (run once, whichever check asks first)."""
    return await session.shared("bap.flow", lambda: bap_flow(session))


async def bap_flow(session: Session) -> BapFlow:
    """Ask for every claimed action in turn and answer each (the probe first and fully)."""
    flow = BapFlow(steps={})
    for index, action in enumerate(session.options.actions):
        asked = await ask(session, action, "flow")
        flow.steps[action] = await _answer(session, asked, flow, probe=index == 0)
    return flow


@dataclass(frozen=True, slots=True)
class LateProbe:
    """The request left unanswered past its ttl, and our callback after that."""

    asked: Asked
    sent: Sent | None = None
    why_not: str = ""
    """Why no late callback was sent (no request, no ttl, a ttl over ``--late-wait``)."""


async def late_probe(session: Session) -> LateProbe:
    """Ask for the probe action again; answer only once its ttl has run out."""
    opts, cp = session.options, session.counterpart
    asked = await ask(session, opts.probe_action, "late")
    request = asked.request
    if request is None:
        return LateProbe(asked, why_not="the target sent no request (see bap.request.sent)")
    if not request.answerable:
        return LateProbe(asked, why_not="the request cannot be answered (see bap.request.schema)")
    ttl = request.ttl
    if ttl is None:
        return LateProbe(
            asked, why_not="the request has no valid ttl (see bap.request.context.ttl)"
        )
    if ttl > opts.late_wait:
        return LateProbe(
            asked,
            why_not=f"the request's ttl is {ttl:g}s, longer than --late-wait {opts.late_wait:g}s",
        )
    await asyncio.sleep(max(0.0, request.received.received_at + ttl + LATE_MARGIN - time.time()))
    body, headers = _Callbacks(cp, request).valid()
    note = f"sent {LATE_MARGIN:g}s after the request's ttl of {ttl:g}s ran out"
    return LateProbe(asked, await send_callback(cp, request, body, headers, note=note))
