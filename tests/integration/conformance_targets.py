"""Deliberately broken BPPs, to prove each conformance check catches what it claims to.

:class:`BrokenBpp` is a small but complete BPP on 127.0.0.1: it looks keys up in a
registry (the suite's loopback one), verifies ``Authorization`` and
``X-Gateway-Authorization`` over the raw bytes, refuses what BECKN-006 refuses, ACKs,
and calls back signed ``on_*`` messages with retries and backoff. Each :class:`Flaw`
switches off or breaks exactly one of those behaviours; without flaws it passes the
whole suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from iesnode.conformance.target import TargetProfile
from iesnode.errors import AuthError, ProtocolError, RequestRejected, UnknownAction
from iesnode.http.transport import AiohttpTransport
from iesnode.model.envelope import Dialect, utc_timestamp
from iesnode.model.subscriber import Role, Subscriber
from iesnode.protocol.actions import canonical, is_callback, wire_name
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.roles.envelopes import join_url
from iesnode.protocol.signing import (
    SignatureHeader,
    Signer,
    load_verify_key,
    parse_authorization,
    verify_signature,
)
from iesnode.registry.client import RegistryClient
from iesnode.testing import generate_signing_key
from tests.integration.conformance_broken import (
    ack_response,
    check_times,
    compact_json,
    guarded,
    serve,
)

__all__ = ["BrokenBpp", "Flaw"]


class Flaw(StrEnum):
    """One way a BPP gets the protocol wrong."""

    ACCEPTS_EXPIRED = "accepts-expired-signatures"
    RESERIALISES_BODY = "verifies-a-reserialised-body"
    NO_WWW_AUTHENTICATE = "401-without-www-authenticate"
    IGNORES_SENDER = "ignores-keyid-vs-sender"
    NO_REPLAY_GUARD = "accepts-replays"
    MALFORMED_JSON_500 = "500-on-malformed-json"
    IGNORES_ACTION_MISMATCH = "ignores-action-mismatch"
    ACKS_UNKNOWN_ACTION = "acks-unknown-actions"
    NEVER_CALLS_BACK = "never-calls-back"
    ACKS_STATUS_WITHOUT_CALLBACK = "acks-status-without-callback"
    DUPLICATE_ON_SELECT = "sends-on-select-twice"
    WRONG_MESSAGE_ID = "callbacks-with-wrong-message-id"
    UNSIGNED_CALLBACKS = "unsigned-callbacks"
    SIGNS_OTHER_BYTES = "signs-other-bytes-than-sent"
    INVALID_CALLBACK_SCHEMA = "callbacks-without-bpp-uri"
    NO_RETRY = "no-retry-on-503"
    IMMEDIATE_RETRY = "retry-without-backoff"
    RETRIES_ON_400 = "retries-after-400"


def _result(action: str, dialect: Dialect) -> dict[str, Any]:
    """A small valid message for ``on_<action>``."""
    if dialect is Dialect.V2:
        if action == "discover":
            return {"catalogs": [{"id": "cat-1", "offers": [{"id": "offer-1"}]}]}
        contract = {"id": "contract-1", "commitments": [{"id": "c1", "offer": {"id": "offer-1"}}]}
        return {"contract": {**contract, "status": {"code": "ACTIVE"}}}
    if action == "discover":
        return {"catalog": {"providers": [{"id": "p1", "items": [{"id": "item-1"}]}]}}
    return {"order": {"id": "order-1", "items": [{"id": "item-1"}], "status": "ACTIVE"}}


@dataclass
class BrokenBpp:
    """A BPP with the given flaws, trusting keys from ``registry_url``."""

    registry_url: str
    flaws: frozenset[Flaw] = frozenset()
    subscriber_id: str = "bpp.broken.example"
    url: str = ""
    _signer: Signer = field(init=False)
    _public_key: str = field(init=False)
    _seen: set[str] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    _transport: AiohttpTransport = field(default_factory=AiohttpTransport)

    def __post_init__(self) -> None:
        private, self._public_key = generate_signing_key()
        self._signer = Signer.from_base64(self.subscriber_id, "k1", private)
        self._registry = RegistryClient(self._transport, self.registry_url)

    def profile(self) -> TargetProfile:
        """How the suite is told about this target."""
        return TargetProfile(
            url=self.url,
            role="bpp",
            subscriber_id=self.subscriber_id,
            key_id="k1",
            public_key=self._public_key,
        )

    async def start(self) -> BrokenBpp:
        """Serve on a free loopback port."""
        self._runner, self.url = await serve(self._endpoint)
        return self

    async def aclose(self) -> None:
        """Stop callbacks in flight and the server."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        await self._transport.aclose()

    def _answer(self, body: bytes, error: ProtocolError | None, status: int) -> web.Response:
        headers = {}
        if status == 401 and Flaw.NO_WWW_AUTHENTICATE not in self.flaws:
            headers["WWW-Authenticate"] = f'Signature realm="{self.subscriber_id}"'
        if isinstance(error, AuthError) and error.gateway:
            headers = {"Proxy-Authenticate": f'Signature realm="{self.subscriber_id}"'}
        return ack_response(body, error, status, headers)

    async def _key(self, header: SignatureHeader, gateway: bool) -> Subscriber:
        found = await self._registry.lookup(header.subscriber_id, header.key_id)
        if found is None or (gateway and found.role is not Role.BG):
            raise AuthError("AUT_KEY_NOT_FOUND", "unknown key", gateway=gateway)
        return found

    async def _verify(self, value: str, body: bytes, *, gateway: bool = False) -> Subscriber:
        header = parse_authorization(value, gateway=gateway)
        check_times(header, accepts_expired=Flaw.ACCEPTS_EXPIRED in self.flaws)
        sender = await self._key(header, gateway)
        signed = body
        if Flaw.RESERIALISES_BODY in self.flaws:
            with contextlib.suppress(ValueError):
                signed = compact_json(json.loads(body))
        key = load_verify_key(sender.signing_public_key)
        verify_signature(signed, header, key, gateway=gateway)
        return sender

    async def _endpoint(self, request: web.Request) -> web.Response:
        return await guarded(request, self._accept, self._answer)

    async def _accept(self, request: web.Request, body: bytes) -> web.Response:
        action = canonical(request.match_info["action"])
        if action is None or is_callback(action):
            if Flaw.ACKS_UNKNOWN_ACTION in self.flaws:
                return self._answer(body, None, 200)
            raise UnknownAction("CTX_UNKNOWN_ACTION", "no such action")
        auth = request.headers.getall("Authorization", [])
        if len(auth) != 1:
            raise AuthError("AUT_SIGNATURE_MISSING", "sign your request")
        signer = await self._verify(auth[0], body)
        gateway = None
        if "X-Gateway-Authorization" in request.headers:
            value = request.headers["X-Gateway-Authorization"]
            gateway = await self._verify(value, body, gateway=True)
        try:
            doc = json.loads(body)
        except ValueError:
            if Flaw.MALFORMED_JSON_500 in self.flaws:
                return web.Response(status=500, text="Internal Server Error")
            raise RequestRejected("SCH_INVALID_JSON", "not JSON") from None
        dialect = detect_dialect(doc)
        ctx = doc["context"]
        mismatch = ctx.get("action") != wire_name(action, dialect)
        if mismatch and Flaw.IGNORES_ACTION_MISMATCH not in self.flaws:
            raise RequestRejected("CTX_ACTION_MISMATCH", "action differs from the path")
        bap = ctx.get("bapId", ctx.get("bap_id"))
        if signer.subscriber_id != bap and Flaw.IGNORES_SENDER not in self.flaws:
            raise AuthError("AUT_SENDER_MISMATCH", "signer is not the bap")
        msg_id = str(ctx.get("messageId", ctx.get("message_id")))
        replay = f"{msg_id}|{auth[0]}"
        if replay in self._seen and Flaw.NO_REPLAY_GUARD not in self.flaws:
            raise RequestRejected("CTX_DUPLICATE_MESSAGE", "seen before")
        self._seen.add(replay)
        if self._calls_back(action):
            reply_to = gateway.url if gateway else str(ctx.get("bapUri", ctx.get("bap_uri")))
            task = asyncio.create_task(self._call_back(action, dialect, doc, reply_to))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return self._answer(body, None, 200)

    def _calls_back(self, action: str) -> bool:
        if Flaw.NEVER_CALLS_BACK in self.flaws:
            return False
        return not (action == "status" and Flaw.ACKS_STATUS_WITHOUT_CALLBACK in self.flaws)

    def _callback_body(self, action: str, dialect: Dialect, doc: dict[str, Any]) -> bytes:
        ctx = dict(doc["context"])
        v2 = dialect is Dialect.V2
        ctx["action"] = wire_name(f"on_{action}", dialect)
        ctx["timestamp"] = utc_timestamp(time.time())
        ctx["bppId" if v2 else "bpp_id"] = self.subscriber_id
        ctx["bppUri" if v2 else "bpp_uri"] = self.url
        if Flaw.WRONG_MESSAGE_ID in self.flaws:
            ctx["messageId" if v2 else "message_id"] = str(uuid.uuid4())
        if Flaw.INVALID_CALLBACK_SCHEMA in self.flaws:
            del ctx["bppUri" if v2 else "bpp_uri"]
        return compact_json({"context": ctx, "message": _result(action, dialect)})

    async def _call_back(
        self, action: str, dialect: Dialect, doc: dict[str, Any], reply_to: str
    ) -> None:
        await asyncio.sleep(0.01)
        body = self._callback_body(action, dialect, doc)
        headers = {"Content-Type": "application/json"}
        if Flaw.UNSIGNED_CALLBACKS not in self.flaws:
            headers["Authorization"] = self._signer.sign(body, int(time.time()))
        if Flaw.SIGNS_OTHER_BYTES in self.flaws:
            body = json.dumps(json.loads(body), indent=2).encode("utf-8")
        url = join_url(reply_to, wire_name(f"on_{action}", dialect))
        copies = 2 if action == "select" and Flaw.DUPLICATE_ON_SELECT in self.flaws else 1
        for _ in range(copies):
            await self._deliver(url, body, headers)

    async def _deliver(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        delay = 0.0 if Flaw.IMMEDIATE_RETRY in self.flaws else 0.2
        for attempt in range(3):
            reply = await self._transport.post(url, body, headers, 2.0)
            if reply.status < 300:
                return
            refused = reply.status < 500 and reply.status != 429
            if refused and not (Flaw.RETRIES_ON_400 in self.flaws and attempt == 0):
                return
            if not refused and Flaw.NO_RETRY in self.flaws:
                return
            await asyncio.sleep(delay)
