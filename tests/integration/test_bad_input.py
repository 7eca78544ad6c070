"""Every bad input a BPP node can receive, sent as raw bytes to a real node on loopback.

Each test checks the exact HTTP status, NACK code and path (``iesnode.protocol.inbound``
steps, BECKN-006 "Verifying the Authorization header"), that the NACK speaks the
caller's dialect and leaks no traceback, that a 401 carries the node's challenge, and
that the node ACKs a valid request right after.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from iesnode.model.subscriber import Role, SubscriberStatus
from iesnode.node import Node
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.protocol.signing import Signer
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork, generate_signing_key
from tests.integration.helpers import (
    Answer,
    CallbackSink,
    assert_ack,
    assert_challenge,
    assert_no_traceback,
    assert_v1_nack,
    assert_v2_nack,
    encode,
    enrol_key,
    post,
    signed_headers,
    v1_context,
    v2_context,
)

BPP_ID = "bpp.bad-input.test"
BAP_ID = "bap.bad-input.test"
BODY_LIMIT = 4096
pytestmark = pytest.mark.asyncio(loop_scope="module")

SELECT_MESSAGE = {"contract": {"commitments": [{"id": "c1", "offer": {"id": "offer-1"}}]}}


def provider() -> HandlerRegistry:
    """A BPP answering discover and select with fixed messages."""
    handlers = HandlerRegistry()

    @handlers.on("discover")
    async def discover(req: IncomingRequest) -> dict[str, Any]:
        return {"catalogs": [{"id": "cat-1", "descriptor": {"name": "solar"}}]}

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return {"contract": {"id": "k-1", "status": {"code": "DRAFT"}}}

    return handlers


@dataclass
class Rig:
    """A running BPP node, a BAP key we control and a sink receiving its callbacks."""

    net: LocalNetwork
    bpp: Node
    bap: Signer
    sink: CallbackSink
    session: aiohttp.ClientSession

    def url(self, action: str) -> str:
        """The BPP's endpoint for ``action``."""
        return f"{self.bpp.public_url}/{action}"

    def select(self, *, signer: Signer | None = None, **overrides: Any) -> dict[str, Any]:
        """A valid v2 select from ``signer`` (default: our BAP); ``overrides`` go in context."""
        ctx = v2_context(
            "select",
            bap_id=(signer or self.bap).subscriber_id,
            bap_uri=self.sink.url,
            bpp_id=BPP_ID,
            bpp_uri=self.bpp.public_url,
            now=time.time(),
        )
        ctx.update(overrides)
        return {"context": ctx, "message": copy.deepcopy(SELECT_MESSAGE)}

    def headers(self, body: bytes, signer: Signer | None = None, **kw: int) -> dict[str, str]:
        """Content-Type and an Authorization signed by ``signer`` (default: our BAP)."""
        return signed_headers(signer or self.bap, body, time.time(), **kw)

    async def send(
        self, body: bytes, headers: dict[str, str] | list[tuple[str, str]], action: str = "select"
    ) -> Answer:
        """POST ``body`` to the BPP's ``action`` endpoint."""
        return await post(self.session, self.url(action), body, headers)

    def nack(self, reply: Answer, status: int, code: str, path: str) -> None:
        """Assert a v2 NACK counter-signed by the BPP."""
        assert_v2_nack(reply, status, code, path, BPP_ID)

    async def assert_still_serving(self) -> None:
        """A valid, correctly signed select right after is ACKed."""
        body = encode(self.select())
        assert_ack(await self.send(body, self.headers(body)))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def rig() -> AsyncIterator[Rig]:
    """One BPP node per module with a small body limit, our BAP key, a callback sink."""
    sink = await CallbackSink().start()
    net = LocalNetwork(settings={"security": {"max_body_bytes": BODY_LIMIT}})
    try:
        bpp = await net.add(BPP_ID, NodeRole.BPP, handlers=provider())
        bap = enrol_key(net.directory, BAP_ID, Role.BAP, sink.url)
        async with aiohttp.ClientSession() as session:
            yield Rig(net, bpp, bap, sink, session)
    finally:
        await net.aclose()
        await sink.aclose()


async def test_valid_select_is_acked(rig: Rig) -> None:
    """The baseline: a signed select is ACKed, counter-signed and answered by on_select."""
    doc = rig.select()
    body = encode(doc)
    reply = await rig.send(body, rig.headers(body))
    assert_ack(reply)
    assert_no_traceback(reply)
    assert reply.json()["signature"].startswith(f'Signature keyId="{BPP_ID}|')
    callback = await rig.sink.wait_for("/on_select", doc["context"]["messageId"])
    assert callback.json()["message"]["contract"]["status"] == {"code": "DRAFT"}


async def test_malformed_json(rig: Rig) -> None:
    """Correctly signed bytes that are not JSON: 400 SCH_INVALID_JSON at ``$``."""
    body = b'{"context": {"action": "select",'
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "SCH_INVALID_JSON", "$")
    await rig.assert_still_serving()


async def test_body_not_utf8(rig: Rig) -> None:
    """Correctly signed bytes that are not UTF-8: 400 SCH_INVALID_JSON at ``$``."""
    body = b'{"context": "\xff\xfe"}'
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "SCH_INVALID_JSON", "$")
    await rig.assert_still_serving()


async def test_lone_surrogate_escape(rig: Rig) -> None:
    """A string escaping a lone UTF-16 surrogate (not I-JSON): 400 SCH_INVALID_JSON at it."""
    doc = rig.select()
    doc["message"]["contract"]["commitments"][0]["id"] = "PLACEHOLDER"
    body = encode(doc).replace(b"PLACEHOLDER", b"c\\ud800")
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "SCH_INVALID_JSON", "message.contract.commitments[0].id")
    await rig.assert_still_serving()


async def test_surrogate_pair_escape_is_acked(rig: Rig) -> None:
    """An escaped surrogate pair is one code point and is accepted."""
    doc = rig.select()
    doc["message"]["contract"]["commitments"][0]["id"] = "PLACEHOLDER"
    body = encode(doc).replace(b"PLACEHOLDER", b"sun \\ud83c\\udf1e")
    assert_ack(await rig.send(body, rig.headers(body)))


async def test_body_not_an_object(rig: Rig) -> None:
    """A signed JSON array instead of an envelope: 400 SCH_INVALID_BODY at ``$``."""
    body = b"[1,2,3]"
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "SCH_INVALID_BODY", "$")
    await rig.assert_still_serving()


async def test_deeply_nested_json(rig: Rig) -> None:
    """Signed JSON nested deeper than the parser's recursion limit: 400 SCH_INVALID_JSON."""
    body = b"[" * 2000 + b"]" * 2000
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "SCH_INVALID_JSON", "$")
    await rig.assert_still_serving()


async def test_deeply_nested_json_unsigned(rig: Rig) -> None:
    """Unsigned deeply nested JSON is still a 401 NACK, not a crash while sniffing it."""
    body = b"[" * 2000 + b"]" * 2000
    reply = await rig.send(body, {"Content-Type": "application/json"})
    rig.nack(reply, 401, "AUT_SIGNATURE_MISSING", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_wrong_content_type(rig: Rig) -> None:
    """A valid signed body sent as text/plain: 415 SCH_UNSUPPORTED_MEDIA_TYPE."""
    body = encode(rig.select())
    headers = {**rig.headers(body), "Content-Type": "text/plain"}
    reply = await rig.send(body, headers)
    rig.nack(reply, 415, "SCH_UNSUPPORTED_MEDIA_TYPE", "Content-Type")
    await rig.assert_still_serving()


async def test_body_over_limit(rig: Rig) -> None:
    """A body over ``security.max_body_bytes`` with Content-Length: 413 at ``$``."""
    doc = rig.select()
    doc["message"]["padding"] = "x" * BODY_LIMIT
    body = encode(doc)
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 413, "SCH_PAYLOAD_TOO_LARGE", "$")
    await rig.assert_still_serving()


async def test_chunked_body_over_limit(rig: Rig) -> None:
    """A chunked body (no Content-Length) over the limit: 413 at ``$``."""
    doc = rig.select()
    doc["message"]["padding"] = "x" * BODY_LIMIT
    body = encode(doc)
    reply = await post(rig.session, rig.url("select"), body, rig.headers(body), chunked=True)
    rig.nack(reply, 413, "SCH_PAYLOAD_TOO_LARGE", "$")
    await rig.assert_still_serving()


async def test_missing_authorization(rig: Rig) -> None:
    """No Authorization header: 401 AUT_SIGNATURE_MISSING with a challenge."""
    body = encode(rig.select())
    reply = await rig.send(body, {"Content-Type": "application/json"})
    rig.nack(reply, 401, "AUT_SIGNATURE_MISSING", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_duplicate_authorization(rig: Rig) -> None:
    """Two Authorization headers: 401 AUT_SIGNATURE_MALFORMED."""
    body = encode(rig.select())
    auth = rig.headers(body)["Authorization"]
    pairs = [("Content-Type", "application/json"), ("Authorization", auth)]
    reply = await rig.send(body, [*pairs, ("Authorization", auth)])
    rig.nack(reply, 401, "AUT_SIGNATURE_MALFORMED", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_garbled_authorization(rig: Rig) -> None:
    """An Authorization that is not a Beckn signature: 401 AUT_SIGNATURE_MALFORMED."""
    body = encode(rig.select())
    headers = {"Content-Type": "application/json", "Authorization": 'Signature keyId=",,"x'}
    reply = await rig.send(body, headers)
    rig.nack(reply, 401, "AUT_SIGNATURE_MALFORMED", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_unknown_subscriber(rig: Rig) -> None:
    """A key the directory does not list: 401 AUT_KEY_NOT_FOUND."""
    stranger = Signer.from_base64("stranger.test", "k1", generate_signing_key()[0])
    body = encode(rig.select(signer=stranger))
    reply = await rig.send(body, rig.headers(body, stranger))
    rig.nack(reply, 401, "AUT_KEY_NOT_FOUND", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_revoked_key(rig: Rig) -> None:
    """A key listed as REVOKED: 401 AUT_KEY_REVOKED."""
    revoked = enrol_key(
        rig.net.directory,
        "revoked.test",
        Role.BAP,
        rig.sink.url,
        status=SubscriberStatus.REVOKED,
    )
    body = encode(rig.select(signer=revoked))
    reply = await rig.send(body, rig.headers(body, revoked))
    rig.nack(reply, 401, "AUT_KEY_REVOKED", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_expired_key(rig: Rig) -> None:
    """A key whose valid_until has passed: 401 AUT_KEY_EXPIRED."""
    expired = enrol_key(
        rig.net.directory,
        "expired.test",
        Role.BAP,
        rig.sink.url,
        valid_until=datetime(2020, 1, 1, tzinfo=UTC),
    )
    body = encode(rig.select(signer=expired))
    reply = await rig.send(body, rig.headers(body, expired))
    rig.nack(reply, 401, "AUT_KEY_EXPIRED", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_tampered_body(rig: Rig) -> None:
    """One byte changed after signing: 401 AUT_SIGNATURE_INVALID."""
    body = encode(rig.select())
    headers = rig.headers(body)
    tampered = body.replace(b'"offer-1"', b'"offer-2"')
    assert tampered != body
    reply = await rig.send(tampered, headers)
    rig.nack(reply, 401, "AUT_SIGNATURE_INVALID", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_signature_for_another_body(rig: Rig) -> None:
    """A valid signature over a different request: 401 AUT_SIGNATURE_INVALID."""
    other = encode(rig.select())
    body = encode(rig.select())
    reply = await rig.send(body, rig.headers(other))
    rig.nack(reply, 401, "AUT_SIGNATURE_INVALID", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_expired_signature(rig: Rig) -> None:
    """A signature whose expires is in the past: 401 AUT_SIGNATURE_EXPIRED."""
    body = encode(rig.select())
    now = int(time.time())
    reply = await rig.send(body, rig.headers(body, created=now - 600, expires=now - 300))
    rig.nack(reply, 401, "AUT_SIGNATURE_EXPIRED", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_signature_from_the_future(rig: Rig) -> None:
    """A signature created beyond the allowed skew: 401 AUT_SIGNATURE_NOT_YET_VALID."""
    body = encode(rig.select())
    reply = await rig.send(body, rig.headers(body, created=int(time.time()) + 120))
    rig.nack(reply, 401, "AUT_SIGNATURE_NOT_YET_VALID", "Authorization")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_replay(rig: Rig) -> None:
    """The same bytes and header twice: ACK, then 400 CTX_DUPLICATE_MESSAGE."""
    body = encode(rig.select())
    headers = rig.headers(body)
    assert_ack(await rig.send(body, headers))
    reply = await rig.send(body, headers)
    rig.nack(reply, 400, "CTX_DUPLICATE_MESSAGE", "context.messageId")
    await rig.assert_still_serving()


async def test_action_differs_from_path(rig: Rig) -> None:
    """context.action init posted to /select: 400 CTX_ACTION_MISMATCH."""
    body = encode(rig.select(action="init"))
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_ACTION_MISMATCH", "context.action")
    await rig.assert_still_serving()


async def test_unknown_action_path(rig: Rig) -> None:
    """POST /frobnicate: 404 CTX_UNKNOWN_ACTION."""
    body = encode(rig.select(action="frobnicate"))
    reply = await rig.send(body, rig.headers(body), action="frobnicate")
    rig.nack(reply, 404, "CTX_UNKNOWN_ACTION", "$path")
    await rig.assert_still_serving()


async def test_unrouted_path(rig: Rig) -> None:
    """POST to a path no route matches: 404 CTX_UNKNOWN_ACTION."""
    body = encode(rig.select())
    reply = await rig.send(body, rig.headers(body), action="beckn/v2/select")
    rig.nack(reply, 404, "CTX_UNKNOWN_ACTION", "$path")
    await rig.assert_still_serving()


async def test_callback_path_on_a_bpp(rig: Rig) -> None:
    """POST /on_select to a node that is only a BPP: 404 CTX_UNKNOWN_ACTION."""
    body = encode(rig.select(action="on_select"))
    reply = await rig.send(body, rig.headers(body), action="on_select")
    rig.nack(reply, 404, "CTX_UNKNOWN_ACTION", "$path")
    await rig.assert_still_serving()


async def test_missing_transaction_id(rig: Rig) -> None:
    """A context without transactionId: 400 CTX_MISSING_FIELD at that field."""
    doc = rig.select()
    del doc["context"]["transactionId"]
    body = encode(doc)
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_MISSING_FIELD", "context.transactionId")
    await rig.assert_still_serving()


async def test_missing_message_id(rig: Rig) -> None:
    """A context without messageId: 400 CTX_MISSING_FIELD at that field."""
    doc = rig.select()
    del doc["context"]["messageId"]
    body = encode(doc)
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_MISSING_FIELD", "context.messageId")
    await rig.assert_still_serving()


async def test_missing_message(rig: Rig) -> None:
    """A select without ``message``: 400 SCH_VALIDATION_FAILED at ``message``."""
    doc = rig.select()
    del doc["message"]
    body = encode(doc)
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "SCH_VALIDATION_FAILED", "message")
    await rig.assert_still_serving()


async def test_impossible_timestamp(rig: Rig) -> None:
    """A well-shaped but impossible date (30 February): 400 CTX_INVALID_FIELD."""
    body = encode(rig.select(timestamp="2025-02-30T10:00:00.000Z"))
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_INVALID_FIELD", "context.timestamp")
    await rig.assert_still_serving()


async def test_request_addressed_to_another_provider(rig: Rig) -> None:
    """A select naming another BPP (replayable there): 400 CTX_INVALID_FIELD at bppId."""
    body = encode(rig.select(bppId="bpp.someone-else.test"))
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_INVALID_FIELD", "context.bppId")
    await rig.assert_still_serving()


async def test_stale_message(rig: Rig) -> None:
    """timestamp + ttl in the past: 400 CTX_TTL_EXPIRED at context.ttl."""
    stale = datetime.fromtimestamp(time.time() - 120, UTC).isoformat().replace("+00:00", "Z")
    body = encode(rig.select(timestamp=stale, ttl="PT30S"))
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_TTL_EXPIRED", "context.ttl")
    await rig.assert_still_serving()


async def test_timestamp_in_future(rig: Rig) -> None:
    """context.timestamp beyond the skew: 400 CTX_TIMESTAMP_IN_FUTURE."""
    ahead = datetime.fromtimestamp(time.time() + 600, UTC).isoformat().replace("+00:00", "Z")
    body = encode(rig.select(timestamp=ahead))
    reply = await rig.send(body, rig.headers(body))
    rig.nack(reply, 400, "CTX_TIMESTAMP_IN_FUTURE", "context.timestamp")
    await rig.assert_still_serving()


async def test_sender_mismatch(rig: Rig) -> None:
    """Signed by our BAP but context.bapId names another: 401 AUT_SENDER_MISMATCH."""
    other = enrol_key(rig.net.directory, "other-bap.test", Role.BAP, rig.sink.url)
    body = encode(rig.select(signer=other))
    reply = await rig.send(body, rig.headers(body, rig.bap))
    rig.nack(reply, 401, "AUT_SENDER_MISMATCH", "context.bapId")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_garbled_gateway_header(rig: Rig) -> None:
    """A malformed X-Gateway-Authorization: 401 with Proxy-Authenticate."""
    body = encode(rig.select())
    headers = {**rig.headers(body), "X-Gateway-Authorization": "Signature nonsense"}
    reply = await rig.send(body, headers)
    rig.nack(reply, 401, "AUT_SIGNATURE_MALFORMED", "X-Gateway-Authorization")
    assert_challenge(reply, BPP_ID, "Proxy-Authenticate")
    assert "WWW-Authenticate" not in reply.headers
    await rig.assert_still_serving()


async def test_gateway_header_from_non_gateway(rig: Rig) -> None:
    """A gateway signature by a key registered as a BAP: 401 AUT_NOT_A_GATEWAY."""
    body = encode(rig.select())
    headers = rig.headers(body)
    headers["X-Gateway-Authorization"] = headers["Authorization"]
    reply = await rig.send(body, headers)
    rig.nack(reply, 401, "AUT_NOT_A_GATEWAY", "X-Gateway-Authorization")
    assert_challenge(reply, BPP_ID, "Proxy-Authenticate")
    await rig.assert_still_serving()


async def test_v1_missing_transaction_id(rig: Rig) -> None:
    """A v1.1 search without transaction_id gets a v1.1 NACK with code 30000."""
    ctx = v1_context("search", bap_id=BAP_ID, bap_uri=rig.sink.url, now=time.time())
    del ctx["transaction_id"]
    body = encode({"context": ctx, "message": {"intent": {}}})
    reply = await rig.send(body, rig.headers(body), action="search")
    assert_v1_nack(reply, 400, "30000", "context.transaction_id", "CONTEXT-ERROR")
    await rig.assert_still_serving()


async def test_v1_stale_message(rig: Rig) -> None:
    """A stale v1.1 search gets a v1.1 NACK with code 30022."""
    ctx = v1_context("search", bap_id=BAP_ID, bap_uri=rig.sink.url, now=time.time() - 120)
    body = encode({"context": ctx, "message": {"intent": {}}})
    reply = await rig.send(body, rig.headers(body), action="search")
    assert_v1_nack(reply, 400, "30022", "context.ttl", "CONTEXT-ERROR")
    await rig.assert_still_serving()


async def test_v1_tampered_body(rig: Rig) -> None:
    """A tampered v1.1 search gets a v1.1 401 NACK with code 30016 and a challenge."""
    ctx = v1_context("search", bap_id=BAP_ID, bap_uri=rig.sink.url, now=time.time())
    body = encode({"context": ctx, "message": {"intent": {}}})
    headers = rig.headers(body)
    reply = await rig.send(body.replace(b"std:080", b"std:011"), headers, action="search")
    assert_v1_nack(reply, 401, "30016", "Authorization", "AUTH-ERROR")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_v1_sender_mismatch(rig: Rig) -> None:
    """A v1.1 sender mismatch names the snake_case field context.bap_id."""
    ctx = v1_context("search", bap_id="other-bap.test", bap_uri=rig.sink.url, now=time.time())
    body = encode({"context": ctx, "message": {"intent": {}}})
    reply = await rig.send(body, rig.headers(body), action="search")
    assert_v1_nack(reply, 401, "30016", "context.bap_id", "AUTH-ERROR")
    assert_challenge(reply, BPP_ID)
    await rig.assert_still_serving()


async def test_v1_unknown_action_path(rig: Rig) -> None:
    """A v1.1 caller posting to an unknown action gets a v1.1-shaped 404 NACK."""
    ctx = v1_context("frobnicate", bap_id=BAP_ID, bap_uri=rig.sink.url, now=time.time())
    body = encode({"context": ctx, "message": {"intent": {}}})
    reply = await rig.send(body, rig.headers(body), action="frobnicate")
    assert_v1_nack(reply, 404, "30000", "$path", "CONTEXT-ERROR")
    await rig.assert_still_serving()


async def test_health_after_bad_inputs(rig: Rig) -> None:
    """After a burst of rejected requests /health still answers ok."""
    body = b"not json"
    for _ in range(5):
        await rig.send(body, rig.headers(body))
    async with rig.session.get(f"{rig.bpp.public_url}/health") as resp:
        assert resp.status == 200
        assert (await resp.json())["subscriber_id"] == BPP_ID
    await rig.assert_still_serving()
