"""Two real nodes on a private event loop, for ``test_inbound_fuzz``.

:class:`Live` runs a BPP node and a BAP node (one :class:`LocalNetwork`, in-memory stores)
on an event loop of its own, so plain ``def`` tests (and hypothesis ``@given`` tests) drive
them with ``run_until_complete``. It holds the keys we sign with: a BAP key for requests to
the BPP node, a BPP key for callbacks to the BAP node, a registry key for ``/on_subscribe``.
Every exchange runs under ``tests.log_capture.all_logs`` and, when ACKed, waits until the
node has settled what it owes, so a handler or job failing after the ACK is seen too.

"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from iesnode.model.envelope import Dialect, Envelope, utc_timestamp
from iesnode.model.subscriber import Role, Subscriber
from iesnode.node import Node
from iesnode.protocol.challenge import generate_encryption_keypair
from iesnode.protocol.dialects import write_envelope
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bap_client import Sent as Pending
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.protocol.roles.envelopes import request_context
from iesnode.protocol.signing import Signer, digest
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork, generate_signing_key
from tests.integration.helpers import Answer, CallbackSink, enrol_key, new_id, signed_headers
from tests.log_capture import all_logs

__all__ = ["BAP_ID", "BPP_ID", "TEMPLATES", "Live", "Sent"]

BPP_ID, BAP_ID = "bpp.fuzz.test", "bap.fuzz.test"
CLIENT_ID, PEER_ID, REGISTRY_ID = "client.fuzz.test", "peer.fuzz.test", "registry.fuzz.test"
FAILURES = frozenset({"request_failed", "handler_failed", "job_failed", "job_corrupt"})
SETTINGS = {
    "delivery": {"max_attempts": 2, "backoff_base": 0.01, "backoff_max": 0.02, "timeout": 2.0},
    "credentials": {"enabled": True},
}
T = TypeVar("T")


def _provider() -> HandlerRegistry:
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return {"contract": {"id": "k-1", "status": {"code": "DRAFT"}}}

    return handlers


@dataclass(frozen=True, slots=True)
class Sent:
    """What a node answered, and what it logged meanwhile (and until it settled)."""

    answer: Answer
    logs: list[MutableMapping[str, Any]]
    settled: bool

    @property
    def failures(self) -> list[str]:
        """Logged failures: the events ``request_failed`` & co, and anything at error level."""
        return [
            f"{e.get('log_level')} {e.get('event')}"
            for e in self.logs
            if e.get("event") in FAILURES or e.get("log_level") in ("error", "critical")
        ]


class Live:
    """A BPP node and a BAP node of one network, driven synchronously on a private loop."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.enc_private, self.enc_public = generate_encryption_keypair()
        settings = SETTINGS | {"node": {"encryption_private_key": self.enc_private}}
        self.net = LocalNetwork(settings=settings, redis_url=redis_url)
        self.sink = CallbackSink()
        self.session: aiohttp.ClientSession | None = None
        try:
            self.run(self._start())
            self.asked = self.pending()
        except BaseException:
            self.close()
            raise

    async def _start(self) -> None:
        await self.sink.start()
        self.bpp: Node = await self.net.add(BPP_ID, NodeRole.BPP, handlers=_provider())
        self.bap: Node = await self.net.add(BAP_ID, NodeRole.BAP)
        self.client = enrol_key(self.net.directory, CLIENT_ID, Role.BAP, self.sink.url)
        self.peer = enrol_key(self.net.directory, PEER_ID, Role.BPP, self.sink.url)
        private, public = generate_signing_key()
        self.registry = Signer.from_base64(REGISTRY_ID, "k1", private)
        self.net.directory.put(
            Subscriber(
                subscriber_id=REGISTRY_ID,
                key_id="k1",
                url=self.sink.url,
                role=Role.REGISTRY,
                signing_public_key=public,
                encryption_public_key=self.enc_public,
            )
        )
        self.session = aiohttp.ClientSession()

    def close(self) -> None:
        """Stop both nodes and the sink, close the loop (after a failed start, too)."""
        if self.session is not None:
            self.run(self.session.close())
        self.run(self.net.aclose())
        self.run(self.sink.aclose())
        self.loop.close()

    def run(self, work: Awaitable[T]) -> T:
        """Run ``work`` (and the nodes) on the private loop until it is done."""
        return self.loop.run_until_complete(work)

    def url(self, node: Node, path: str) -> str:
        """``node``'s URL for ``path`` (no leading slash)."""
        return f"{node.public_url}/{path}"

    def send(self, url: str, body: bytes, signer: Signer | None) -> Sent:
        """POST ``body`` signed now by ``signer`` (unsigned when None), capturing logs."""
        headers = (
            signed_headers(signer, body, time.time())
            if signer is not None
            else {"Content-Type": "application/json"}
        )
        return self.request("POST", url, body, headers)

    def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Sent:
        """``method`` on ``url`` sent exactly as written (no normalising of ``..`` or ``%``).

        After an ACK, waits (up to 3 s) until the nodes owe nothing; logs are captured
        all the while.
        """

        async def request() -> Answer:
            target = URL(url, encoded=True)
            data = io.BytesIO(body) if len(body) > 2**20 else body  # aiohttp warns on big bytes
            assert self.session is not None
            async with self.session.request(
                method, target, data=data, headers=headers, allow_redirects=False
            ) as resp:
                return Answer(resp.status, resp.headers, await resp.read())

        owed = self.bpp.backlog.size + self.bap.backlog.size
        with all_logs() as logs:
            answer = self.run(request())
            settled = self.run(self._settled(owed)) if answer.status == 200 else True
        return Sent(answer, logs, settled)

    async def _settled(self, owed: int) -> bool:
        end = time.monotonic() + 3.0
        while self.bpp.backlog.size + self.bap.backlog.size > owed:
            if time.monotonic() > end:
                return False
            await asyncio.sleep(0.002)
        return True

    def base(self, variant: str) -> dict[str, Any]:
        """A fresh valid body of ``variant`` (see :data:`TEMPLATES`), stamped now."""
        if variant == "on_select":
            return on_select(self.asked)
        build = select_v2 if variant == "v2" else select_v1
        return build(self.sink.url, self.bpp.public_url)

    def deliver(self, variant: str, body: bytes) -> Sent:
        """POST ``body``, signed, to the BPP's /select (v2, v1) or the BAP's /on_select."""
        if variant == "on_select":
            return self.send(self.url(self.bap, "on_select"), body, self.peer)
        return self.send(self.url(self.bpp, "select"), body, self.client)

    def read_back(self, marker: str) -> int:
        """Read the pending select's callbacks as the BAP application does, up to the one
        whose ``context.x-ok`` is ``marker``; return how many were read."""

        async def read() -> int:
            ctx, count = self.asked, 0
            waiting = Pending("select", ctx["messageId"], ctx["transactionId"], time.time() + 3)
            async for callback in self.bap.bap_client().callbacks(waiting):
                count += 1
                if callback.context.extra.get("x-ok") == marker:
                    return count
            raise AssertionError(f"the callback marked {marker} never reached the application")

        return self.run(read())

    def pending(self) -> dict[str, Any]:
        """Context of a select the BAP node really sent (to the sink, standing in for us)."""

        async def request() -> dict[str, Any]:
            order = {"contract": {"commitments": [{"id": "c1", "offer": {"id": "o1"}}]}}
            client = self.bap.bap_client()
            sent = await client.send("select", order, to=Peer(PEER_ID, self.sink.url), ttl=60)
            seen = await self.sink.wait_for("/select", sent.message_id)
            ctx: dict[str, Any] = seen.json()["context"]
            return ctx

        self.asked = self.run(request())
        return self.asked


def select_v2(bap_uri: str, bpp_uri: str) -> dict[str, Any]:
    """A valid v2 select from our BAP key to the BPP node, every optional field set."""
    now = time.time()
    ctx = {
        "action": "select",
        "version": "2.0.0",
        "networkId": "ies.example/p2p-trading",
        "domain": "deg:p2p-energy-trading",
        "location": {"city": {"code": "std:080"}, "country": {"code": "IND"}},
        "bapId": CLIENT_ID,
        "bapUri": bap_uri,
        "bppId": BPP_ID,
        "bppUri": bpp_uri,
        "transactionId": new_id(),
        "messageId": new_id(),
        "timestamp": utc_timestamp(now),
        "ttl": "PT30S",
        "key": "encryption-key",
        "schemaContext": ["https://example.org/ctx"],
        "try": False,
        "requestDigest": {"digest": digest(b"the request")},
    }
    commitment = {"id": "c1", "offer": {"id": "offer-1", "quantity": 2.5}}
    return {"context": ctx, "message": {"contract": {"commitments": [commitment]}}}


def select_v1(bap_uri: str, bpp_uri: str) -> dict[str, Any]:
    """A valid v1.1 select from our BAP key to the BPP node."""
    now = time.time()
    ctx = {
        "domain": "deg:p2p-energy-trading",
        "location": {"city": {"code": "std:080"}, "country": {"code": "IND"}},
        "action": "select",
        "version": "1.1.0",
        "bap_id": CLIENT_ID,
        "bap_uri": bap_uri,
        "bpp_id": BPP_ID,
        "bpp_uri": bpp_uri,
        "transaction_id": new_id(),
        "message_id": new_id(),
        "timestamp": utc_timestamp(now),
        "ttl": "PT30S",
        "key": "encryption-key",
    }
    order = {"provider": {"id": "p1"}, "items": [{"id": "i1", "quantity": {"count": 2}}]}
    return {"context": ctx, "message": {"order": order}}


def on_select(request: dict[str, Any]) -> dict[str, Any]:
    """A valid on_select answering the ``request`` context, from our BPP key, stamped now."""
    ctx = request | {"action": "on_select", "bppId": PEER_ID, "bppUri": request["bppUri"]}
    ctx |= {"timestamp": utc_timestamp(time.time()), "requestDigest": {"digest": digest(b"r")}}
    return {"context": ctx, "message": {"contract": {"id": "k-1", "status": {"code": "Q"}}}}


_REQUEST = request_context(
    dialect=Dialect.V2,
    action="select",
    bap_id="bap",
    bap_uri="http://bap",
    now=0,
    ttl=60,
    bpp_id="bpp",
    bpp_uri="http://bpp",
    network_id="net",
    domain="dom",
    city="c",
    country="k",
)
TEMPLATES = {
    "v2": select_v2("http://bap", "http://bpp"),
    "v1": select_v1("http://bap", "http://bpp"),
    "on_select": on_select(write_envelope(Envelope(context=_REQUEST))["context"]),
}
"""One body of each variant, to list paths before any node runs (as a BAP node writes
its select context, for the on_select)."""
