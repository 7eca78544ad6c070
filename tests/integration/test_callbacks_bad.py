"""Callbacks a BAP node must refuse (or accept unsolicited), sent to a real node on loopback.

Correlation rules of ``DESIGN.md`` section 4 as ``iesnode.protocol.roles.bap`` applies
them: a callback answers a pending messageId before its deadline (request timestamp +
ttl) and with the matching ``on_*`` action; a new messageId is only accepted as an
unsolicited ``on_status``/``on_update``/``on_cancel`` in a transaction of ours.

The BAP's requests go to a :class:`CallbackSink` standing in for the BPP, so each test
builds its callbacks from the exact request the BAP sent. The network runs on a
:class:`FrozenClock`, so "after the deadline" needs no sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from iesnode.clock import FrozenClock
from iesnode.model.envelope import utc_timestamp
from iesnode.model.subscriber import Role
from iesnode.node import Node
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bap_client import BapClient, Sent
from iesnode.protocol.signing import Signer
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork
from tests.integration.helpers import (
    Answer,
    CallbackSink,
    assert_ack,
    assert_challenge,
    assert_v2_nack,
    encode,
    enrol_key,
    new_id,
    post,
    signed_headers,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

BAP_ID = "bap.callbacks.test"
BPP_ID = "bpp.callbacks.test"
ORDER = {"contract": {"commitments": [{"id": "c1", "offer": {"id": "offer-1"}}]}}
QUOTE = {"contract": {"id": "k-1", "status": {"code": "DRAFT"}}}


@dataclass
class Rig:
    """A running BAP node, its client, a BPP key we control and the sink playing that BPP."""

    clock: FrozenClock
    net: LocalNetwork
    node: Node
    bap: BapClient
    bpp: Signer
    sink: CallbackSink
    session: aiohttp.ClientSession

    async def request(self, action: str = "select", ttl: float = 30) -> dict[str, Any]:
        """Have the BAP send ``action`` to our BPP; return the context it sent."""
        sent: Sent = await self.bap.send(action, ORDER, to=Peer(BPP_ID, self.sink.url), ttl=ttl)
        seen = await self.sink.wait_for(f"/{action}", sent.message_id)
        ctx: dict[str, Any] = seen.json()["context"]
        return ctx

    def callback(
        self,
        request: dict[str, Any],
        action: str,
        *,
        message_id: str | None = None,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An ``action`` callback answering ``request`` from our BPP, stamped now."""
        ctx = {
            **request,
            "action": action,
            "bppId": BPP_ID,
            "bppUri": self.sink.url,
            "timestamp": utc_timestamp(self.clock.now()),
        }
        if message_id is not None:
            ctx["messageId"] = message_id
        return {"context": ctx, "message": QUOTE if message is None else message}

    async def send(self, doc: dict[str, Any], signer: Signer | None = None) -> Answer:
        """POST ``doc`` to the BAP's endpoint for its action, signed by our BPP."""
        body = encode(doc)
        headers = signed_headers(signer or self.bpp, body, self.clock.now())
        url = f"{self.node.public_url}/{doc['context']['action']}"
        return await post(self.session, url, body, headers)

    def nack(self, reply: Answer, status: int, code: str, path: str) -> None:
        """Assert a v2 NACK counter-signed by the BAP node."""
        assert_v2_nack(reply, status, code, path, BAP_ID)

    async def assert_still_serving(self) -> None:
        """A valid on_select for a fresh select is ACKed and reaches the waiting caller."""
        request = await self.request()
        assert_ack(await self.send(self.callback(request, "on_select")))
        sent = Sent("select", request["messageId"], request["transactionId"], self.clock.now() + 1)
        async with asyncio.timeout(2):
            async for cb in self.bap.callbacks(sent):
                assert cb.sender == BPP_ID
                assert cb.message == QUOTE
                break


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def rig() -> AsyncIterator[Rig]:
    """One BAP node per module on a frozen clock, plus our BPP key and its sink."""
    clock = FrozenClock(time.time())
    sink = await CallbackSink().start()
    net = LocalNetwork(clock=clock)
    try:
        node = await net.add(BAP_ID, NodeRole.BAP)
        bpp = enrol_key(net.directory, BPP_ID, Role.BPP, sink.url)
        async with node.bap() as bap, aiohttp.ClientSession() as session:
            yield Rig(clock, net, node, bap, bpp, sink, session)
    finally:
        await net.aclose()
        await sink.aclose()


async def test_solicited_callback_is_accepted(rig: Rig) -> None:
    """The baseline: on_select for a pending select is ACKed and delivered."""
    await rig.assert_still_serving()


async def test_unknown_message_id(rig: Rig) -> None:
    """on_select for a messageId the BAP never sent: 400 CTX_UNKNOWN_MESSAGE."""
    request = await rig.request()
    doc = rig.callback(request, "on_select", message_id=new_id())
    doc["context"]["transactionId"] = new_id()
    reply = await rig.send(doc)
    rig.nack(reply, 400, "CTX_UNKNOWN_MESSAGE", "context.messageId")
    await rig.assert_still_serving()


async def test_late_callback(rig: Rig) -> None:
    """on_select after the request's timestamp + ttl: 400 CTX_LATE_CALLBACK."""
    request = await rig.request(ttl=1)
    rig.clock.advance(2)
    reply = await rig.send(rig.callback(request, "on_select"))
    rig.nack(reply, 400, "CTX_LATE_CALLBACK", "context.timestamp")
    await rig.assert_still_serving()


async def test_callback_mismatch(rig: Rig) -> None:
    """on_init carrying a pending select's messageId: 400 CTX_CALLBACK_MISMATCH."""
    request = await rig.request()
    reply = await rig.send(rig.callback(request, "on_init"))
    rig.nack(reply, 400, "CTX_CALLBACK_MISMATCH", "context.action")
    await rig.assert_still_serving()


async def test_unsolicited_status_is_delivered(rig: Rig) -> None:
    """An on_status with a new messageId in a known transaction is ACKed and reaches updates."""
    request = await rig.request()
    update = {"contract": {"id": "k-1", "status": {"code": "ACTIVE"}}}
    doc = rig.callback(request, "on_status", message_id=new_id(), message=update)
    assert_ack(await rig.send(doc))
    async with asyncio.timeout(2):
        async for cb in rig.bap.updates(request["transactionId"], rig.clock.now() + 1):
            assert cb.sender == BPP_ID
            assert cb.context.message_id == doc["context"]["messageId"]
            assert cb.message == update
            break
    await rig.assert_still_serving()


async def test_unsolicited_status_in_unknown_transaction(rig: Rig) -> None:
    """An on_status with a new messageId in a foreign transaction: CTX_UNKNOWN_MESSAGE."""
    request = await rig.request()
    doc = rig.callback(request, "on_status", message_id=new_id())
    doc["context"]["transactionId"] = new_id()
    reply = await rig.send(doc)
    rig.nack(reply, 400, "CTX_UNKNOWN_MESSAGE", "context.messageId")
    await rig.assert_still_serving()


async def test_unsolicited_select_is_refused(rig: Rig) -> None:
    """on_select may not be unsolicited, even in a known transaction: CTX_UNKNOWN_MESSAGE."""
    request = await rig.request()
    reply = await rig.send(rig.callback(request, "on_select", message_id=new_id()))
    rig.nack(reply, 400, "CTX_UNKNOWN_MESSAGE", "context.messageId")
    await rig.assert_still_serving()


async def test_callback_signed_by_another_bpp(rig: Rig) -> None:
    """A callback whose bppId is not its signer: 401 AUT_SENDER_MISMATCH at context.bppId."""
    request = await rig.request()
    other = enrol_key(rig.net.directory, "other-bpp.callbacks.test", Role.BPP, rig.sink.url)
    reply = await rig.send(rig.callback(request, "on_select"), signer=other)
    rig.nack(reply, 401, "AUT_SENDER_MISMATCH", "context.bppId")
    assert_challenge(reply, BAP_ID)
    await rig.assert_still_serving()


async def test_request_path_on_a_bap(rig: Rig) -> None:
    """POST /select to a node that is only a BAP: 404 CTX_UNKNOWN_ACTION."""
    request = await rig.request()
    doc = rig.callback(request, "select")
    reply = await rig.send(doc)
    rig.nack(reply, 404, "CTX_UNKNOWN_ACTION", "$path")
    await rig.assert_still_serving()
