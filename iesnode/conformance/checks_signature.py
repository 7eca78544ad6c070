"""Negative signature checks: requests the target must refuse with 401 before anything else.

Each check sends a fresh, otherwise valid request of the probe action (the first claimed)
with exactly one thing wrong. BECKN-006 (``research/beckn-core.md`` section 2.3):
look the keyId up, verify Ed25519 over BLAKE2b-512 of the *received* bytes, refuse a
``created`` in the future or an ``expires`` in the past, and answer a failure with HTTP
401, ``WWW-Authenticate: Signature realm=...`` and a NACK body. The signer must be the
context's sender (``bap_id``; section 5.1, the identity check of beckn-onix). A replayed
request (same bytes, same header) must not be processed twice (Beckn v2 signing doc
section 5, NFH-007 replay rules: a 4xx NACK; section 7 "drop or NACK duplicates").
"""

from __future__ import annotations

import copy
import json
import time

from iesnode.conformance.model import Check, Level, Outcome
from iesnode.conformance.options import RunOptions
from iesnode.conformance.suite import CheckRun, Session, SuiteCheck, Verdict, failed, passed
from iesnode.conformance.wire import Outbound, Sent, encode
from iesnode.protocol.signing import Signer

__all__ = ["discerning", "rejection_401", "signature_checks"]

_VERIFY = "BECKN-006 verification steps 2-4; 401 + WWW-Authenticate"
_TIMES = "BECKN-006 verification step 5 (created/expires)"


def rejection_401(sent: Sent, what: str, challenge: str = "WWW-Authenticate") -> Verdict:
    """PASS when the target answered 401 with the challenge header and a NACK body."""
    evidence = [sent.exchange]
    if sent.reply is None:
        return Verdict(Outcome.ERROR, f"no answer to {what}: {sent.failure}", evidence)
    if sent.status is not None and 200 <= sent.status < 300:
        return failed(f"{what} was accepted: {sent.answer()}", evidence)
    if sent.status != 401:
        return failed(f"{what} was answered {sent.answer()}, not 401", evidence)
    header = sent.header(challenge)
    if header is None or not header.strip().lower().startswith("signature"):
        return failed(f"401 without a '{challenge}: Signature realm=...' header", evidence)
    if sent.ack_status != "NACK":
        return failed("401 without a NACK body", evidence)
    return passed(f"401 NACK with {challenge}", evidence)


def _probe(session: Session) -> Outbound:
    return session.counterpart.wire.build(session.options.probe_action)


async def _control(session: Session) -> Sent:
    wire, request = session.counterpart.wire, _probe(session)
    return await wire.send(request, note="control: a valid request")


def discerning(run: CheckRun) -> CheckRun:
    """``run``, unless the target refuses even a valid request with 401 (then it proves nothing).

    A target that does not trust our keys at all answers every request 401, so its
    refusals of broken signatures are judged ERROR rather than passed.
    """

    async def guarded(session: Session) -> Verdict:
        control = await session.shared("control", lambda: _control(session))
        if control.status == 401:
            return Verdict(
                Outcome.ERROR,
                "a valid request is refused with 401 too, so this refusal proves nothing "
                "(see bpp.flow.*.ack)",
                [control.exchange],
            )
        return await run(session)

    return guarded


async def _tampered(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    doc = copy.deepcopy(request.doc)
    doc["message"]["conformanceTampered"] = True
    sent = await wire.post(
        request.wire_action, encode(doc), wire.signed(request.body), note="body changed after"
    )
    return rejection_401(sent, "a body changed after signing")


async def _equivalent(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    spaced = json.dumps(request.doc, indent=1, ensure_ascii=False).encode("utf-8")
    sent = await wire.post(
        request.wire_action,
        spaced,
        wire.signed(request.body),
        note="signed compact JSON, sent the same JSON re-indented",
    )
    return rejection_401(sent, "the same JSON with other whitespace than the signed bytes")


async def _other_key(session: Session) -> Verdict:
    cp, request = session.counterpart, _probe(session)
    bap, other = cp.keys.bap, cp.keys.other
    forger = Signer.from_base64(bap.subscriber_id, bap.key_id, other.signing_private_key)
    headers = {
        "Content-Type": "application/json",
        "Authorization": forger.sign(request.body, int(time.time())),
    }
    sent = await cp.wire.post(request.wire_action, request.body, headers, note="wrong key")
    return rejection_401(sent, "a signature by a key other than the registered one")


async def _missing(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    headers = {"Content-Type": "application/json"}
    sent = await wire.post(request.wire_action, request.body, headers, note="no Authorization")
    return rejection_401(sent, "a request without an Authorization header")


async def _garbled(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    headers = wire.signed(request.body)
    valid = headers["Authorization"]
    headers["Authorization"] = valid[: len(valid) // 2]
    sent = await wire.post(request.wire_action, request.body, headers, note="header cut in half")
    return rejection_401(sent, "an Authorization header cut in half")


async def _expired(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    now = int(time.time())
    headers = wire.signed(request.body, created=now - 600, expires=now - 300)
    sent = await wire.post(request.wire_action, request.body, headers, note="expired 300s ago")
    return rejection_401(sent, "a signature that expired 300 s ago")


async def _future(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    now = int(time.time())
    headers = wire.signed(request.body, created=now + 600, expires=now + 900)
    sent = await wire.post(request.wire_action, request.body, headers, note="created in 600s")
    return rejection_401(sent, "a signature created 600 s in the future")


async def _sender(session: Session) -> Verdict:
    cp, request = session.counterpart, _probe(session)
    headers = cp.wire.signed(request.body, cp.keys.other)
    sent = await cp.wire.post(
        request.wire_action, request.body, headers, note="signed by other-bap, bapId is bap"
    )
    return rejection_401(sent, "a valid signature by a subscriber that is not the context's bap")


async def _replay(session: Session) -> Verdict:
    wire, request = session.counterpart.wire, _probe(session)
    headers = wire.signed(request.body)
    first = await wire.post(request.wire_action, request.body, headers, note="original")
    second = await wire.post(request.wire_action, request.body, headers, note="replay")
    evidence = [first.exchange, second.exchange]
    if first.status != 200 or first.ack_status != "ACK":
        return Verdict(
            Outcome.ERROR,
            f"the original was answered {first.answer()}, so its replay cannot be judged",
            evidence,
        )
    if second.reply is None:
        return Verdict(Outcome.ERROR, f"no answer to the replay: {second.failure}", evidence)
    status = second.reply.status
    if 400 <= status < 500 and second.ack_status == "NACK":
        return passed(f"replay refused: {second.answer()}", evidence)
    return failed(f"the replay was answered {second.answer()}, not a 4xx NACK", evidence)


def _check(suffix: str, title: str, ref: str, requirement: str) -> Check:
    return Check(f"bpp.sig.{suffix}", title, Level.MUST, ref, requirement)


def signature_checks(_options: RunOptions) -> list[SuiteCheck]:
    """The nine negative signature checks."""
    return [
        SuiteCheck(
            _check(
                "tampered-body",
                "A body changed after signing is refused with 401",
                _VERIFY,
                "The digest is recomputed over the received body, so a body that differs "
                "from the signed one fails verification: 401, WWW-Authenticate, NACK.",
            ),
            discerning(_tampered),
        ),
        SuiteCheck(
            _check(
                "equivalent-body",
                "The same JSON in other bytes than signed is refused with 401",
                "BECKN-006 step 4; verify the raw received bytes, never re-serialise",
                "Verification covers the exact bytes received: re-indented JSON that is "
                "equal as data but not as bytes to what was signed is refused with 401.",
            ),
            discerning(_equivalent),
        ),
        SuiteCheck(
            _check(
                "other-key",
                "A signature by another key is refused with 401",
                _VERIFY,
                "A signature that does not verify with the key registered for the keyId "
                "is refused with 401, WWW-Authenticate and a NACK.",
            ),
            discerning(_other_key),
        ),
        SuiteCheck(
            _check(
                "missing",
                "A request without Authorization is refused with 401",
                _VERIFY,
                "Unsigned requests are refused with 401, WWW-Authenticate and a NACK.",
            ),
            discerning(_missing),
        ),
        SuiteCheck(
            _check(
                "garbled",
                "A garbled Authorization header is refused with 401",
                _VERIFY,
                "An Authorization header that cannot be parsed is refused with 401, "
                "WWW-Authenticate and a NACK (not a 500).",
            ),
            discerning(_garbled),
        ),
        SuiteCheck(
            _check(
                "expired",
                "An expired signature is refused with 401",
                _TIMES,
                "A signature whose expires is in the past is not processed: 401.",
            ),
            discerning(_expired),
        ),
        SuiteCheck(
            _check(
                "future",
                "A signature created in the future is refused with 401",
                _TIMES,
                "A signature whose created is beyond the allowed clock skew in the future "
                "is not processed: 401.",
            ),
            discerning(_future),
        ),
        SuiteCheck(
            _check(
                "sender-mismatch",
                "A keyId of a subscriber other than the context's sender is refused with 401",
                "BECKN-006 keyId names the signing subscriber; sender = context bap_id",
                "A request validly signed by another registered subscriber than the "
                "context's bapId is refused with 401.",
            ),
            discerning(_sender),
        ),
        SuiteCheck(
            _check(
                "replay",
                "A replayed request (same bytes, same header) is refused",
                "Beckn v2 signing §5, NFH-007 replay rules",
                "The second copy of an ACKed request, byte for byte with the same "
                "Authorization, is refused with a 4xx NACK (400 or 401) and not processed.",
            ),
            _replay,
        ),
    ]
