"""What a BAP target sends: each request of the flow, judged as our BPP receives it.

* sent: every action asked for arrives at our BPP (Beckn v1.1.1 ``transaction.yaml``:
  the BAP POSTs ``/{action}`` to the bppUri; ``research/beckn-core.md`` section 1.1);
* signature: ``Authorization`` by the target's registered key, within created/expires,
  verifying over the exact bytes received (BECKN-006, sections 2.1-2.3);
* sender: the keyId's subscriber is the context's ``bapId`` (section 2.3, 5.1);
* schema: valid in the dialect it speaks, for the action its context declares (the
  path is the context check's business, so one fault fails one check);
* context: ``action`` equals the path, transactionId and a messageId of its own,
  ``bapId``/``bapUri``, a ``timestamp`` within the clock skew, and a ``ttl`` (section 1.2,
  4.4 and the section 7 checklist). v1.1 requires no context field; v0.9 (and every
  v2 and v1 endpoint in iesnode's schemas) requires all but ttl, without which no
  callback can be paired or delivered: so MUST, and SHOULD for ttl.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from iesnode.conformance import bap_judging as judge
from iesnode.conformance.bap_flow import flow_of
from iesnode.conformance.bap_wire import TargetRequest
from iesnode.conformance.model import Check, Level, Outcome
from iesnode.conformance.options import RunOptions
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, failed, passed, skipped

__all__ = ["request_checks"]

_CONTEXT = "Beckn v1.1.1 Context.yaml; v0.9.4 core.yaml Context required fields"
Problems = Callable[[Session, TargetRequest], Awaitable[list[str]]]


async def _signature(session: Session, request: TargetRequest) -> list[str]:
    cp = session.counterpart
    return await judge.signature_problems(request, cp.target_keys, session.options.clock_skew)


async def _sender(session: Session, request: TargetRequest) -> list[str]:
    return judge.sender_problems(request)


async def _schema(session: Session, request: TargetRequest) -> list[str]:
    return judge.schema_problems(request, session.counterpart.schemas)


async def _action(session: Session, request: TargetRequest) -> list[str]:
    return judge.action_problems(request)


async def _bap(session: Session, request: TargetRequest) -> list[str]:
    return judge.bap_problems(request)


async def _timestamp(session: Session, request: TargetRequest) -> list[str]:
    return judge.timestamp_problems(request, session.options.clock_skew)


async def _ttl(session: Session, request: TargetRequest) -> list[str]:
    return judge.ttl_problems(request)


async def _ids_present(session: Session, request: TargetRequest) -> list[str]:
    return judge.id_problems(request)


async def _judge(session: Session, problems: Problems, what: str) -> Verdict:
    flow = await flow_of(session)
    requests = [s.asked.request for s in flow.steps.values() if s.asked.request is not None]
    if not requests:
        return skipped("no request arrived (see bap.request.sent)")
    for request in requests:
        found = await problems(session, request)
        if found:
            action = request.received.action
            return failed(f"/{action}: " + "; ".join(found), [request.received.exchange()])
    evidence = [r.received.exchange() for r in requests]
    return passed(f"{len(requests)} requests: {what}", evidence)


async def _ids(session: Session) -> Verdict:
    verdict = await _judge(session, _ids_present, "transactionId and messageId present")
    if verdict.outcome is not Outcome.PASS:
        return verdict
    flow = await flow_of(session)
    requests = [s.asked.request for s in flow.steps.values() if s.asked.request is not None]
    seen: dict[str, str] = {}
    for request in requests:
        mid = str(request.field("messageId", "message_id"))
        if mid in seen:
            evidence = [r.received.exchange() for r in requests]
            return failed(
                f"/{request.received.action} reuses the messageId of /{seen[mid]}", evidence
            )
        seen[mid] = request.received.action
    return passed(f"{len(requests)} requests, each with its own messageId", verdict.evidence)


async def _sent(session: Session) -> Verdict:
    flow = await flow_of(session)
    wait = session.options.ack_timeout
    await asyncio.gather(*(s.asked.settled(wait) for s in flow.steps.values()))
    missing = [a for a, s in flow.steps.items() if s.asked.request is None]
    evidence = [e for s in flow.steps.values() for e in s.asked.evidence]
    if missing:
        limit = session.options.trigger_wait
        return failed(
            f"asked for {', '.join(missing)}: nothing arrived within {limit:g}s", evidence
        )
    return passed(f"{len(flow.steps)} requests arrived as asked", evidence)


def _check(suffix: str, title: str, level: Level, ref: str, requirement: str) -> Check:
    return Check(f"bap.request.{suffix}", title, level, ref, requirement, ("bap",))


def _judged(problems: Problems, what: str) -> Callable[[Session], Awaitable[Verdict]]:
    return lambda session: _judge(session, problems, what)


def request_checks(_options: RunOptions) -> list[SuiteCheck]:
    """The nine checks of the requests the target sends."""
    must, should = Level.MUST, Level.SHOULD
    return [
        SuiteCheck(
            _check(
                "sent",
                "Each action asked for is sent to our BPP",
                must,
                "Beckn v1.1.1 transaction.yaml: POST {bppUri}/{action}",
                "When triggered, the BAP POSTs the action to the BPP (or gateway) it was given.",
            ),
            _sent,
        ),
        SuiteCheck(
            _check(
                "signature",
                "Requests are signed by the target's registered key",
                must,
                "BECKN-006 signing and verification steps 1-5",
                "Each request's Authorization names a key the network holds for the target, is "
                "within created/expires, and verifies over the exact bytes sent.",
            ),
            _judged(_signature, "signature verified over the raw bytes"),
        ),
        SuiteCheck(
            _check(
                "sender",
                "The keyId's subscriber is the context's bapId",
                must,
                "BECKN-006 keyId names the signing subscriber; sender = context bap_id",
                "The subscriber in the keyId of a request's Authorization is its context's bapId.",
            ),
            _judged(_sender, "signed by the context's bapId"),
        ),
        SuiteCheck(
            _check(
                "schema",
                "Requests are valid in the dialect they speak",
                must,
                "Beckn v2.0.0 LTS beckn.yaml / v1.1.1 transaction.yaml (protocol_specs/beckn)",
                "Each request is a valid body of the action its context declares, in its dialect.",
            ),
            _judged(_schema, "schema-valid"),
        ),
        SuiteCheck(
            _check(
                "context.action",
                "context.action is the action of the endpoint",
                must,
                "Beckn v1.1.1 transaction.yaml (each endpoint fixes context.action)",
                "A request posted to /{action} carries that action in context.action.",
            ),
            _judged(_action, "context.action equals the path"),
        ),
        SuiteCheck(
            _check(
                "context.ids",
                "transactionId present; a messageId of its own",
                must,
                _CONTEXT,
                "Each request carries a transactionId and a messageId, and no two requests "
                "share a messageId (a new one for every outbound request).",
            ),
            _ids,
        ),
        SuiteCheck(
            _check(
                "context.bap-uri",
                "bapId and bapUri name where callbacks go",
                must,
                _CONTEXT,
                "Each request carries its bapId and a bapUri, the http(s) URL the BPP calls back.",
            ),
            _judged(_bap, "bapId and bapUri present"),
        ),
        SuiteCheck(
            _check(
                "context.timestamp",
                "context.timestamp is the time it was sent",
                must,
                _CONTEXT,
                "Each request's timestamp is an RFC 3339 date-time within the clock skew of "
                "its arrival.",
            ),
            _judged(_timestamp, "timestamp within the clock skew"),
        ),
        SuiteCheck(
            _check(
                "context.ttl",
                "context.ttl says how long callbacks are awaited",
                should,
                "Beckn v1.1.1 Context.ttl (optional)",
                "Each request carries a ttl, an ISO 8601 duration, so the BPP knows by when to "
                "call back.",
            ),
            _judged(_ttl, "ttl present"),
        ),
    ]
