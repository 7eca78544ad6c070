"""Discovery forwarded by a gateway: both signatures verified, a bad gateway one refused.

A Beckn gateway forwards the BAP's discover (``search``) with the BAP's original
``Authorization`` and its own ``X-Gateway-Authorization`` over the same bytes; the BPP
verifies both (BECKN-006 steps 4-5, BECKN-003; ``research/beckn-core.md`` sections 2.1
and 4.1) and answers a bad gateway signature with 401 and ``Proxy-Authenticate``
(section 2.3). The suite's gateway identity is registered with role BG. v2 drops the
gateway (NFH-007), so these checks are SHOULD; they run when the target claims discover.
"""

from __future__ import annotations

import copy
import time

from iesnode.conformance.checks_signature import discerning, rejection_401
from iesnode.conformance.model import Check, Level
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.suite import Session, SuiteCheck, Verdict, failed, passed
from iesnode.conformance.wire import Outbound, encode
from iesnode.protocol.actions import wire_name
from iesnode.protocol.signing import Signer

__all__ = ["gateway_checks"]

GATEWAY_HEADER = "X-Gateway-Authorization"


def _forwarded(session: Session) -> tuple[Outbound, bytes]:
    """A discover as a gateway forwards it: no target BPP named in the context."""
    request = session.counterpart.wire.build("discover")
    doc = copy.deepcopy(request.doc)
    for name in ("bppId", "bppUri", "bpp_id", "bpp_uri"):
        doc["context"].pop(name, None)
    return request, encode(doc)


async def _forwarded_discover(session: Session) -> Verdict:
    cp = session.counterpart
    request, body = _forwarded(session)
    headers = cp.wire.signed(body)
    headers[GATEWAY_HEADER] = cp.wire.signed(body, cp.keys.gateway)["Authorization"]
    sent = await cp.wire.post(request.wire_action, body, headers, note="forwarded by our gateway")
    if sent.status != 200 or sent.ack_status != "ACK":
        return failed(f"the forwarded discover was answered {sent.answer()}", [sent.exchange])
    expected = wire_name("on_discover", session.options.dialect)

    def answers(cb: ReceivedCallback) -> bool:
        return cb.action == expected and (
            cb.transaction_id == request.transaction_id or cb.message_id == request.message_id
        )

    found = await cp.receiver.wait_for(answers, max(0.0, request.expires_at - time.time()))
    evidence = [sent.exchange, *(cb.exchange() for cb in found)]
    if not found:
        return failed(f"ACKed, but no {expected} within the ttl", evidence)
    return passed(f"ACKed; {expected} sent to our {found[0].via} URL", evidence)


async def _bad_gateway_signature(session: Session) -> Verdict:
    cp = session.counterpart
    request, body = _forwarded(session)
    gateway, other = cp.keys.gateway, cp.keys.other
    forger = Signer.from_base64(gateway.subscriber_id, gateway.key_id, other.signing_private_key)
    headers = cp.wire.signed(body)
    headers[GATEWAY_HEADER] = forger.sign(body, int(time.time()))
    sent = await cp.wire.post(request.wire_action, body, headers, note="gateway key is wrong")
    return rejection_401(sent, "a bad X-Gateway-Authorization", "Proxy-Authenticate")


def gateway_checks(options: RunOptions) -> list[SuiteCheck]:
    """The gateway checks, when the target claims discover."""
    if "discover" not in options.actions:
        return []
    ref = "BECKN-006 steps 4-5, BECKN-003"
    return [
        SuiteCheck(
            Check(
                "bpp.gw.forwarded-discover",
                "A discover forwarded by a gateway is ACKed and answered",
                Level.SHOULD,
                ref,
                "A discover carrying the BAP's Authorization and a registered gateway's "
                "X-Gateway-Authorization over the same bytes is ACKed, and on_discover "
                "follows (to the gateway or to the BAP).",
            ),
            _forwarded_discover,
        ),
        SuiteCheck(
            Check(
                "bpp.gw.bad-signature",
                "A bad gateway signature is refused with 401 and Proxy-Authenticate",
                Level.SHOULD,
                ref,
                "When X-Gateway-Authorization does not verify, the target answers 401 "
                "with Proxy-Authenticate (not WWW-Authenticate) and a NACK.",
            ),
            discerning(_bad_gateway_signature),
        ),
    ]
