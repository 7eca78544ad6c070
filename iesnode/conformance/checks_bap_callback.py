"""What a BAP target accepts: our BPP's callbacks, correct ones and ones it must refuse.

* valid: a correctly signed ``on_<action>`` echoing the request's ids is ACKed (Beckn
  v1.1.1 ``Ack``; ``research/beckn-core.md`` sections 1.3, 4.4);
* signature: BECKN-006 verification (section 2.3) refuses with 401,
  ``WWW-Authenticate`` and a NACK a tampered body, the same JSON in other bytes, a
  signature by another key, a missing, garbled, expired or future header, and a keyId
  whose subscriber is not the context's ``bppId``;
* replay: the exact bytes and header of an ACKed callback, again, get a 4xx (NFH-007: a
  duplicate gets 400; section 7 "drop or NACK duplicates");
* unknown, late: a callback no pending request awaits (an unknown transaction, or an
  unknown messageId in a known one) or one after the request's ttl gets a 4xx (NFH-007
  replay rules; section 4.4, ONDC 20006/20009);
* malformed JSON, correctly signed, gets a 4xx NACK, never a 5xx (``Ack.yaml``).

Refusals prove something only if the target ACKs a correct callback: when the probe's
valid callback was refused, each of these checks is skipped, naming ``bap.callback.valid``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from iesnode.conformance.bap_flow import BapFlow, LateProbe, flow_of, late_probe
from iesnode.conformance.checks_input import refusal_4xx
from iesnode.conformance.checks_signature import rejection_401
from iesnode.conformance.model import Check, Level, Outcome
from iesnode.conformance.options import RunOptions
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, failed, passed, skipped

__all__ = ["callback_checks"]

_VERIFY = "BECKN-006 verification steps 2-4; 401 + WWW-Authenticate"
_TIMES = "BECKN-006 verification step 5 (created/expires)"
_UNSOLICITED = "NFH-007 replay rules (unknown transaction: 400); Beckn v1.1.1 Context message_id"
Run = Callable[[Session], Awaitable[Verdict]]


def _precondition(flow: BapFlow) -> Verdict | None:
    """SKIP unless the probe request came and its valid callback was ACKed."""
    probe = flow.probe
    if probe is None or probe.asked.request is None:
        return skipped("no probe request arrived (see bap.request.sent)")
    if probe.valid is None:
        return skipped("the probe request cannot be answered (see bap.request.schema)")
    if not probe.acked:
        return skipped(
            f"a correct callback was refused too ({probe.valid.answer()}), so this refusal "
            "proves nothing (see bap.callback.valid)",
            [probe.valid.exchange],
        )
    return None


def _refused_401(name: str, what: str) -> Run:
    async def run(session: Session) -> Verdict:
        flow = await flow_of(session)
        if (verdict := _precondition(flow)) is not None:
            return verdict
        return rejection_401(flow.sent[name][0], what)

    return run


async def _valid(session: Session) -> Verdict:
    flow = await flow_of(session)
    steps = [s for s in flow.steps.values() if s.valid is not None]
    if not steps:
        return skipped("no request could be answered (see bap.request.sent, bap.request.schema)")
    for step in steps:
        if not step.acked:
            assert step.valid is not None
            return failed(
                f"a correct {step.valid.exchange.url.rsplit('/', 1)[-1]} was answered "
                f"{step.valid.answer()}",
                [*step.asked.evidence, step.valid.exchange],
            )
    evidence = [s.valid.exchange for s in steps if s.valid is not None]
    return passed(f"{len(steps)} correct callbacks ACKed", evidence)


async def _replay(session: Session) -> Verdict:
    flow = await flow_of(session)
    if (verdict := _precondition(flow)) is not None:
        return verdict
    original, copy = flow.sent["replay"]
    verdict = refusal_4xx(copy, "the replayed callback")
    return Verdict(verdict.outcome, verdict.message, [original.exchange, copy.exchange])


async def _unknown(session: Session) -> Verdict:
    flow = await flow_of(session)
    if (verdict := _precondition(flow)) is not None:
        return verdict
    for sent in flow.sent["unknown"]:
        verdict = refusal_4xx(sent, f"a callback for {sent.exchange.note}")
        if verdict.outcome is not Outcome.PASS:
            return verdict
    answers = "; ".join(s.answer() for s in flow.sent["unknown"])
    return passed(answers, [s.exchange for s in flow.sent["unknown"]])


async def _malformed(session: Session) -> Verdict:
    flow = await flow_of(session)
    if (verdict := _precondition(flow)) is not None:
        return verdict
    return refusal_4xx(flow.sent["malformed-json"][0], "a signed body that is not valid JSON")


async def _late(session: Session) -> Verdict:
    flow = await flow_of(session)
    if (verdict := _precondition(flow)) is not None:
        return verdict
    probe: LateProbe = await session.shared("bap.late", lambda: late_probe(session))
    if probe.sent is None:
        return skipped(probe.why_not, probe.asked.evidence)
    verdict = refusal_4xx(probe.sent, "a callback after the request's ttl")
    return Verdict(verdict.outcome, verdict.message, [*probe.asked.evidence, *verdict.evidence])


def _check(suffix: str, title: str, ref: str, requirement: str) -> Check:
    return Check(f"bap.callback.{suffix}", title, Level.MUST, ref, requirement, ("bap",))


_SIGNATURE_401: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "tampered-body",
        "A body changed after signing",
        _VERIFY,
        "a body changed after signing",
        "The digest is recomputed over the received body, so a body that differs from the "
        "signed one fails verification.",
    ),
    (
        "equivalent-body",
        "The same JSON in other bytes than signed",
        "BECKN-006 step 4; verify the raw received bytes, never re-serialise",
        "the same JSON with other whitespace than signed",
        "Verification covers the exact bytes received, not a re-serialisation of them.",
    ),
    (
        "other-key",
        "A signature by another key",
        _VERIFY,
        "a signature by a key other than the registered one",
        "A signature that does not verify with the key registered for its keyId is refused.",
    ),
    (
        "missing",
        "A callback without Authorization",
        _VERIFY,
        "a callback without an Authorization header",
        "Unsigned callbacks are refused.",
    ),
    (
        "garbled",
        "A garbled Authorization header",
        _VERIFY,
        "an Authorization header cut in half",
        "An Authorization header that cannot be parsed is refused (not a 500).",
    ),
    (
        "expired",
        "An expired signature",
        _TIMES,
        "a signature that expired 300 s ago",
        "A signature whose expires is in the past is not processed.",
    ),
    (
        "future",
        "A signature created in the future",
        _TIMES,
        "a signature created 600 s in the future",
        "A signature whose created is beyond the clock skew in the future is not processed.",
    ),
    (
        "sender-mismatch",
        "A keyId of a subscriber other than the context's bppId",
        "BECKN-006 keyId names the signing subscriber; sender = context bpp_id",
        "a valid signature by a subscriber that is not the context's bpp",
        "A callback validly signed by another registered subscriber than its context's "
        "bppId is refused.",
    ),
)


def callback_checks(_options: RunOptions) -> list[SuiteCheck]:
    """The fourteen checks of the callbacks the target receives."""
    checks = [
        SuiteCheck(
            _check(
                "valid",
                "A correct callback is ACKed",
                "Beckn v1.1.1 Ack.yaml, Context message_id/transaction_id/ttl",
                "A correctly signed on_<action> echoing a pending request's transactionId and "
                "messageId, within its ttl, gets HTTP 200 with an ACK body.",
            ),
            _valid,
        )
    ]
    for name, title, ref, what, why in _SIGNATURE_401:
        check = _check(
            name,
            f"{title} is refused with 401",
            ref,
            f"{why} Refusal: HTTP 401, WWW-Authenticate and a NACK body.",
        )
        checks.append(SuiteCheck(check, _refused_401(name, what)))
    return [
        *checks,
        SuiteCheck(
            _check(
                "replay",
                "A replayed callback (same bytes, same header) is refused",
                "Beckn v2 signing §5, NFH-007 replay rules (400 for a duplicate)",
                "The second copy of an ACKed callback, byte for byte with the same "
                "Authorization, gets a 4xx NACK and is not processed again.",
            ),
            _replay,
        ),
        SuiteCheck(
            _check(
                "unknown",
                "A callback no request awaits is refused",
                _UNSOLICITED,
                "A correctly signed callback for an unknown transaction, or with an unknown "
                "messageId in a known transaction (for an action that is never unsolicited), "
                "gets a 4xx NACK.",
            ),
            _unknown,
        ),
        SuiteCheck(
            _check(
                "malformed-json",
                "Malformed JSON is NACKed with a 4xx",
                "Beckn v1.1.1 Ack.yaml (NACK when validation fails)",
                "A correctly signed body that is not JSON gets a 4xx NACK, never a 5xx.",
            ),
            _malformed,
        ),
        SuiteCheck(
            _check(
                "late",
                "A callback after the request's ttl is refused",
                "Beckn v1.1.1 Context.ttl; v2.0.0 Context ttl (reject late messages); ONDC 20009",
                "A correctly signed callback arriving after its request's timestamp + ttl gets "
                "a 4xx NACK.",
            ),
            _late,
        ),
    ]
