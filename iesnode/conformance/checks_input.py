"""Negative input checks: correctly signed requests the target must NACK with a 4xx.

The signature is right in each, so only the target's input handling is judged:
malformed JSON, a ``context.action`` that differs from the endpoint, and an endpoint
that is no Beckn action. Beckn v1.1.1 ``Ack.yaml``: NACK when validation fails; the
endpoint fixes the action (``research/beckn-core.md`` sections 1.1, 1.3 and the section
7 checklist "check that context.action matches the endpoint"). A 5xx is wrong: the
fault is the caller's, and a 5xx invites the caller to retry the same bytes.
"""

from __future__ import annotations

import copy

from iesnode.conformance.checks_signature import discerning
from iesnode.conformance.model import Check, Level, Outcome
from iesnode.conformance.options import RunOptions
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, failed, passed
from iesnode.conformance.wire import Sent, encode
from iesnode.protocol.actions import ACTIONS, wire_name

__all__ = ["input_checks", "refusal_4xx"]

UNKNOWN_ACTION = "conformance_no_such_action"


def refusal_4xx(sent: Sent, what: str) -> Verdict:
    """PASS when the target answered ``what`` with a 4xx and a NACK body."""
    evidence = [sent.exchange]
    if sent.reply is None:
        return Verdict(Outcome.ERROR, f"no answer to {what}: {sent.failure}", evidence)
    status = sent.reply.status
    if not 400 <= status < 500:
        return failed(f"{what} was answered {sent.answer()}, not a 4xx NACK", evidence)
    if sent.ack_status != "NACK":
        return failed(f"{what} got HTTP {status} without a NACK body", evidence)
    return passed(sent.answer(), evidence)


async def _malformed(session: Session) -> Verdict:
    wire = session.counterpart.wire
    request = wire.build(session.options.probe_action)
    body = request.body[: len(request.body) * 2 // 3]
    sent = await wire.post(request.wire_action, body, wire.signed(body), note="JSON cut short")
    return refusal_4xx(sent, "a signed body that is not valid JSON")


async def _mismatch(session: Session) -> Verdict:
    opts, wire = session.options, session.counterpart.wire
    request = wire.build(opts.probe_action)
    other = next(a for a in ACTIONS if a != opts.probe_action)
    doc = copy.deepcopy(request.doc)
    doc["context"]["action"] = wire_name(other, opts.dialect)
    body = encode(doc)
    sent = await wire.post(
        request.wire_action,
        body,
        wire.signed(body),
        note=f"context.action {doc['context']['action']!r} on /{request.wire_action}",
    )
    return refusal_4xx(sent, f"context.action {other!r} posted to /{request.wire_action}")


async def _unknown(session: Session) -> Verdict:
    wire = session.counterpart.wire
    request = wire.build(session.options.probe_action)
    doc = copy.deepcopy(request.doc)
    doc["context"]["action"] = UNKNOWN_ACTION
    body = encode(doc)
    sent = await wire.post(UNKNOWN_ACTION, body, wire.signed(body), note="no such action")
    return refusal_4xx(sent, f"a signed request to /{UNKNOWN_ACTION}")


def input_checks(_options: RunOptions) -> list[SuiteCheck]:
    """The three negative input checks."""
    return [
        SuiteCheck(
            Check(
                "bpp.input.malformed-json",
                "Malformed JSON is NACKed with a 4xx",
                Level.MUST,
                "Beckn v1.1.1 Ack.yaml (NACK when validation fails)",
                "A correctly signed body that is not JSON gets a 4xx NACK, never a 5xx.",
            ),
            discerning(_malformed),
        ),
        SuiteCheck(
            Check(
                "bpp.input.action-mismatch",
                "A context.action differing from the endpoint is NACKed with a 4xx",
                Level.MUST,
                "Beckn v1.1.1 transaction.yaml (each endpoint fixes context.action)",
                "A request whose context.action is not the action of the endpoint it was "
                "posted to gets a 4xx NACK.",
            ),
            discerning(_mismatch),
        ),
        SuiteCheck(
            Check(
                "bpp.input.unknown-action",
                "An unknown action is NACKed with a 4xx",
                Level.MUST,
                "Beckn v1.1.1 transaction.yaml paths",
                "A signed request to an endpoint that is no Beckn action gets a 4xx NACK.",
            ),
            discerning(_unknown),
        ),
    ]
