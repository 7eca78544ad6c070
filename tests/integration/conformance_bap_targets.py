"""Deliberately broken BAPs, to prove each BAP conformance check catches what it claims to.

:class:`BrokenBap` is a small but complete BAP on 127.0.0.1. Asked to send an action
(:meth:`BrokenBap.trigger`, the suite's in-process trigger) it registers the messageId
as pending until timestamp + ttl, signs the exact bytes it sends and retries a 5xx
with backoff but never a 4xx. Its ``on_*`` endpoints verify ``Authorization`` over the
raw bytes with the key its registry (the suite's loopback one) lists, refuse what
BECKN-006 refuses with 401 and ``WWW-Authenticate``, refuse replays, callbacks no
pending request awaits and late ones with 400, and ACK the rest. Each :class:`BapFlaw`
switches off or breaks exactly one of those behaviours; without flaws it passes the
whole BAP suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web

from iesnode.conformance.messages import request_message
from iesnode.conformance.target import TargetProfile
from iesnode.errors import AuthError, ProtocolError, RequestRejected, UnknownAction
from iesnode.http.transport import AiohttpTransport
from iesnode.model.envelope import Dialect, Envelope
from iesnode.protocol.actions import canonical, is_callback
from iesnode.protocol.dialects import write_envelope
from iesnode.protocol.roles.envelopes import join_url, request_context
from iesnode.protocol.signing import (
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

__all__ = ["BapFlaw", "BrokenBap"]


class BapFlaw(StrEnum):
    """One way a BAP gets the protocol wrong."""

    ACCEPTS_UNSIGNED = "accepts-unsigned-callbacks"
    ACCEPTS_UNKNOWN = "accepts-callbacks-for-unknown-transactions"
    ACCEPTS_LATE = "accepts-late-callbacks"
    ACCEPTS_EXPIRED = "accepts-expired-signatures"
    RESERIALISES_BODY = "verifies-a-reserialised-body"
    IGNORES_SENDER = "ignores-keyid-vs-bpp-id"
    NO_REPLAY_GUARD = "accepts-replayed-callbacks"
    NO_WWW_AUTHENTICATE = "401-without-www-authenticate"
    MALFORMED_JSON_500 = "500-on-malformed-json"
    TRUSTS_NO_ONE = "refuses-every-callback-with-401"
    UNREGISTERED_KEY = "signs-requests-with-an-unregistered-key"
    WRONG_BAP_ID = "signs-for-another-bap-id"
    ACTION_MISMATCH = "context-action-differs-from-path"
    NO_TTL = "requests-without-ttl"
    NO_RETRY = "never-retries-on-503"
    RETRIES_ON_400 = "retries-after-400"
    CANNOT_SEND = "trigger-fails"


@dataclass
class BrokenBap:
    """A BAP with the given flaws, trusting keys from ``registry_url``."""

    registry_url: str
    flaws: frozenset[BapFlaw] = frozenset()
    subscriber_id: str = "bap.broken.example"
    ttl: float = 1.0
    url: str = ""
    _signer: Signer = field(init=False)
    _forger: Signer = field(init=False)
    _public_key: str = field(init=False)
    _pending: dict[str, float] = field(default_factory=dict)
    """messageId -> deadline."""
    _seen: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    _transport: AiohttpTransport = field(default_factory=AiohttpTransport)

    def __post_init__(self) -> None:
        private, self._public_key = generate_signing_key()
        self._signer = Signer.from_base64(self.subscriber_id, "k1", private)
        self._forger = Signer.from_base64(self.subscriber_id, "k1", generate_signing_key()[0])
        self._registry = RegistryClient(self._transport, self.registry_url)

    def profile(self) -> TargetProfile:
        """How the suite is told about this target."""
        return TargetProfile(self.url, "bap", self.subscriber_id, "k1", self._public_key)

    async def start(self) -> BrokenBap:
        """Serve the on_* endpoints on a free loopback port."""
        self._runner, self.url = await serve(self._endpoint)
        return self

    async def aclose(self) -> None:
        """Stop the server and close connections."""
        if self._runner is not None:
            await self._runner.cleanup()
        await self._transport.aclose()

    # --- sending (the trigger) ---

    def _request(self, action: str, bpp_id: str, bpp_uri: str) -> tuple[str, bytes]:
        now = time.time()
        ctx = request_context(
            dialect=Dialect.V2,
            action=action,
            bap_id=self.subscriber_id,
            bap_uri=self.url,
            now=now,
            ttl=self.ttl,
            bpp_id=bpp_id,
            bpp_uri=bpp_uri,
            network_id="ies.example/p2p-trading",
        )
        message = request_message(action, Dialect.V2)
        doc = write_envelope(Envelope(context=ctx, message=message))
        if BapFlaw.ACTION_MISMATCH in self.flaws and action == "select":
            doc["context"]["action"] = "init"  # same message shape, other endpoint
        if BapFlaw.NO_TTL in self.flaws:
            del doc["context"]["ttl"]
        if BapFlaw.WRONG_BAP_ID in self.flaws:
            doc["context"]["bapId"] = "someone-else.example"
        self._pending[ctx.message_id] = now + self.ttl
        return ctx.message_id, compact_json(doc)

    async def trigger(self, action: str, bpp_id: str, bpp_uri: str) -> None:
        """Send ``action`` to the BPP, retrying 5xx with backoff and never 4xx."""
        if BapFlaw.CANNOT_SEND in self.flaws:
            raise RuntimeError("this BAP cannot send")
        _, body = self._request(action, bpp_id, bpp_uri)
        signer = self._forger if BapFlaw.UNREGISTERED_KEY in self.flaws else self._signer
        for attempt in range(3):
            headers = {
                "Content-Type": "application/json",
                "Authorization": signer.sign(body, int(time.time())),
            }
            reply = await self._transport.post(join_url(bpp_uri, action), body, headers, 2.0)
            if reply.status < 300:
                return
            if reply.status < 500 and not (BapFlaw.RETRIES_ON_400 in self.flaws and attempt == 0):
                return
            if reply.status >= 500 and BapFlaw.NO_RETRY in self.flaws:
                return
            await asyncio.sleep(0.2)

    # --- receiving callbacks ---

    def _answer(self, body: bytes, error: ProtocolError | None, status: int) -> web.Response:
        headers = {}
        if status == 401 and BapFlaw.NO_WWW_AUTHENTICATE not in self.flaws:
            headers["WWW-Authenticate"] = f'Signature realm="{self.subscriber_id}"'
        return ack_response(body, error, status, headers)

    async def _endpoint(self, request: web.Request) -> web.Response:
        return await guarded(request, self._accept, self._answer)

    async def _verify(self, value: str, body: bytes) -> str:
        """The signer's subscriber id, when ``value`` proves it signed ``body``."""
        if BapFlaw.TRUSTS_NO_ONE in self.flaws:
            raise AuthError("AUT_KEY_NOT_FOUND", "I trust no one")
        header = parse_authorization(value)
        check_times(header, accepts_expired=BapFlaw.ACCEPTS_EXPIRED in self.flaws)
        found = await self._registry.lookup(header.subscriber_id, header.key_id)
        if found is None:
            raise AuthError("AUT_KEY_NOT_FOUND", "unknown key")
        signed = body
        if BapFlaw.RESERIALISES_BODY in self.flaws:
            with contextlib.suppress(ValueError):
                signed = compact_json(json.loads(body))
        verify_signature(signed, header, load_verify_key(found.signing_public_key))
        return header.subscriber_id

    async def _accept(self, request: web.Request, body: bytes) -> web.Response:
        action = canonical(request.match_info["action"])
        if action is None or not is_callback(action):
            raise UnknownAction("CTX_UNKNOWN_ACTION", "a BAP serves on_* only")
        auth = request.headers.get("Authorization")
        signer: str | None = None
        if auth is not None or BapFlaw.ACCEPTS_UNSIGNED not in self.flaws:
            if auth is None:
                raise AuthError("AUT_SIGNATURE_MISSING", "sign your callback")
            signer = await self._verify(auth, body)
        try:
            doc = json.loads(body)
        except ValueError:
            if BapFlaw.MALFORMED_JSON_500 in self.flaws:
                return web.Response(status=500, text="Internal Server Error")
            raise RequestRejected("SCH_INVALID_JSON", "not JSON") from None
        ctx = doc["context"]
        mismatch = signer is not None and signer != ctx.get("bppId")
        if mismatch and BapFlaw.IGNORES_SENDER not in self.flaws:
            raise AuthError("AUT_SENDER_MISMATCH", "signer is not the bpp")
        message_id = str(ctx.get("messageId"))
        replay = f"{message_id}|{auth}"
        if replay in self._seen and BapFlaw.NO_REPLAY_GUARD not in self.flaws:
            raise RequestRejected("CTX_DUPLICATE_MESSAGE", "seen before")
        deadline = self._pending.get(message_id)
        if deadline is None and BapFlaw.ACCEPTS_UNKNOWN not in self.flaws:
            raise RequestRejected("CTX_UNKNOWN_MESSAGE", "no such pending request")
        late = deadline is not None and time.time() > deadline
        if late and BapFlaw.ACCEPTS_LATE not in self.flaws:
            raise RequestRejected("CTX_LATE_CALLBACK", "too late")
        self._seen.add(replay)
        return self._answer(body, None, 200)
