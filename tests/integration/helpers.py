"""Shared helpers for integration tests that talk to real nodes over loopback HTTP.

* :func:`enrol_key` lists a key we control in a :class:`LocalNetwork`'s directory and
  returns its :class:`Signer`, so a test can sign exactly the bytes it sends;
* :func:`v2_context` / :func:`v1_context` build contexts (Beckn v2.0 camelCase,
  Beckn v1.1 snake_case) that a test then breaks on purpose;
* :func:`post` sends raw bytes with a plain ``aiohttp.ClientSession``;
* :func:`assert_v2_nack` / :func:`assert_v1_nack` / :func:`assert_challenge` check a
  rejection the way a peer sees it (``DESIGN.md`` section 4, "Rejections");
* :class:`CallbackSink` is a tiny HTTP server that ACKs whatever is POSTed to it and
  records it (a stand-in BAP for a BPP's callbacks, or a stand-in BPP for a BAP).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy

from iesnode.model.envelope import utc_timestamp
from iesnode.model.subscriber import Role, Subscriber, SubscriberStatus
from iesnode.protocol.signing import Signer
from iesnode.registry.static import StaticDirectory
from iesnode.testing import generate_signing_key

__all__ = [
    "NETWORK_ID",
    "Answer",
    "CallbackSink",
    "Received",
    "assert_ack",
    "assert_challenge",
    "assert_no_traceback",
    "assert_v1_nack",
    "assert_v2_nack",
    "encode",
    "enrol_key",
    "new_id",
    "node_process",
    "post",
    "signed_headers",
    "subscriber",
    "toml",
    "v1_context",
    "v2_context",
]

NETWORK_ID = "ies.example/p2p-trading"
"""The network id :class:`~iesnode.testing.LocalNetwork` uses by default."""
_CHALLENGE = 'Signature realm="{}",headers="(created) (expires) digest"'


def new_id() -> str:
    """A fresh UUID string for a messageId or transactionId."""
    return str(uuid.uuid4())


def encode(doc: Any) -> bytes:
    """Compact JSON bytes, as a peer would send them."""
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def enrol_key(
    directory: StaticDirectory,
    subscriber_id: str,
    role: Role,
    url: str,
    *,
    status: SubscriberStatus = SubscriberStatus.SUBSCRIBED,
    valid_until: datetime | None = None,
    lifetime: int = 300,
) -> Signer:
    """Generate a key, list it in ``directory`` (key id ``k1``) and return its signer."""
    private, public = generate_signing_key()
    directory.put(
        Subscriber(
            subscriber_id=subscriber_id,
            key_id="k1",
            url=url,
            role=role,
            signing_public_key=public,
            status=status,
            network_id=NETWORK_ID,
            valid_until=valid_until,
        )
    )
    return Signer.from_base64(subscriber_id, "k1", private, lifetime)


def signed_headers(
    signer: Signer,
    body: bytes,
    now: float,
    *,
    created: int | None = None,
    expires: int | None = None,
) -> dict[str, str]:
    """``Content-Type`` plus an ``Authorization`` signed over exactly ``body``."""
    stamp = int(now) if created is None else created
    return {
        "Content-Type": "application/json",
        "Authorization": signer.sign(body, stamp, expires),
    }


def v2_context(
    action: str,
    *,
    bap_id: str,
    bap_uri: str,
    now: float,
    bpp_id: str | None = None,
    bpp_uri: str | None = None,
    transaction_id: str | None = None,
    message_id: str | None = None,
    ttl: str = "PT30S",
) -> dict[str, Any]:
    """A complete Beckn v2.0 context (fresh ids unless given)."""
    ctx: dict[str, Any] = {
        "action": action,
        "version": "2.0.0",
        "networkId": NETWORK_ID,
        "bapId": bap_id,
        "bapUri": bap_uri,
        "transactionId": transaction_id or new_id(),
        "messageId": message_id or new_id(),
        "timestamp": utc_timestamp(now),
        "ttl": ttl,
    }
    if bpp_id is not None:
        ctx["bppId"] = bpp_id
    if bpp_uri is not None:
        ctx["bppUri"] = bpp_uri
    return ctx


def v1_context(
    action: str, *, bap_id: str, bap_uri: str, now: float, ttl: str = "PT30S"
) -> dict[str, Any]:
    """A complete Beckn v1.1 request context with fresh ids."""
    return {
        "domain": "deg:p2p-energy-trading",
        "location": {"city": {"code": "std:080"}, "country": {"code": "IND"}},
        "action": action,
        "version": "1.1.0",
        "bap_id": bap_id,
        "bap_uri": bap_uri,
        "transaction_id": new_id(),
        "message_id": new_id(),
        "timestamp": utc_timestamp(now),
        "ttl": ttl,
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """What a node answered: status, headers and the raw body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str] | list[tuple[str, str]],
    *,
    chunked: bool = False,
) -> Answer:
    """POST raw bytes (a list of pairs may repeat a header); never raises on status.

    ``chunked`` streams the body without a ``Content-Length``.
    """

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    data = chunks() if chunked else body
    async with session.post(url, data=data, headers=headers) as resp:
        return Answer(resp.status, resp.headers, await resp.read())


def assert_no_traceback(reply: Answer) -> None:
    """The answer leaks no Python internals."""
    assert b"Traceback" not in reply.body
    assert b'File "' not in reply.body


def assert_challenge(reply: Answer, node_id: str, header: str = "WWW-Authenticate") -> None:
    """A 401 names the node's realm and the signed headers it expects."""
    assert reply.headers.get(header) == _CHALLENGE.format(node_id)


def assert_v2_nack(reply: Answer, status: int, code: str, path: str, node_id: str) -> None:
    """A Beckn v2.0 NACK with this code and path, counter-signed by ``node_id``."""
    assert_no_traceback(reply)
    assert reply.status == status, reply.body
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    doc = reply.json()
    assert doc.get("status") == "NACK", doc
    assert doc["error"]["code"] == code, doc
    assert doc["error"]["path"] == path, doc
    assert doc["error"]["message"]
    assert doc["signature"].startswith(f'Signature keyId="{node_id}|')
    assert list(doc)[-1] == "signature"
    if status != 401:
        assert "WWW-Authenticate" not in reply.headers
        assert "Proxy-Authenticate" not in reply.headers


def assert_v1_nack(reply: Answer, status: int, code: str, path: str, error_type: str) -> None:
    """A Beckn v1.1 NACK: ``message.ack.status`` NACK and a numeric ``error.code``."""
    assert_no_traceback(reply)
    assert reply.status == status, reply.body
    doc = reply.json()
    assert doc.get("message") == {"ack": {"status": "NACK"}}, doc
    err = doc["error"]
    assert (err["code"], err["paths"], err["type"]) == (code, path, error_type), err
    assert err["code"].isdigit()
    assert err["message"]
    assert "status" not in doc


def assert_ack(reply: Answer) -> None:
    """A plain HTTP 200 v2 ACK."""
    assert reply.status == 200, reply.body
    assert reply.json()["status"] == "ACK"


@dataclass(frozen=True, slots=True)
class Received:
    """One POST the sink received."""

    path: str
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    @property
    def message_id(self) -> str | None:
        """The body's ``context.messageId`` (or v1 ``message_id``), if readable."""
        try:
            ctx = self.json()["context"]
            return str(ctx.get("messageId", ctx.get("message_id")))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass
class CallbackSink:
    """An HTTP server on 127.0.0.1 that answers every POST with a v2 ACK."""

    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, request.headers, await request.read()))
        return web.json_response({"status": "ACK"})

    async def start(self) -> CallbackSink:
        """Bind to a free port; ``url`` is set afterwards."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def wait_for(self, path: str, message_id: str, timeout: float = 2.0) -> Received:
        """The first POST on ``path`` carrying ``message_id``, waiting up to ``timeout`` s."""
        async with asyncio.timeout(timeout):
            while True:
                for item in self.received:
                    if item.path == path and item.message_id == message_id:
                        return item
                await asyncio.sleep(0.01)

    async def aclose(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()


def toml(data: dict[str, Any]) -> str:
    """Render a two-level dict (sections of scalars and lists of tables) as TOML."""
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if key != "subscribers":
                lines.append(f"{key} = {json.dumps(value)}")
        for sub in values.get("subscribers", []):
            lines.append(f"[[{section}.subscribers]]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in sub.items())
    return "\n".join(lines) + "\n"


@contextmanager
def node_process(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """Start a node process, wait for its 'listening' line, kill it on exit."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, f"node process did not start: {line!r}"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def subscriber(sid: str, role: Role, url: str, public: str) -> dict[str, Any]:
    """A static-directory entry as it appears in a TOML config."""
    return {
        "subscriber_id": sid,
        "key_id": "k1",
        "url": url,
        "role": role.value,
        "signing_public_key": public,
    }
