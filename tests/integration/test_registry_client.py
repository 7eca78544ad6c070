"""RegistryClient against a real aiohttp fake registry on 127.0.0.1 (Beckn v1 and DeDi)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from iesnode.clock import FrozenClock
from iesnode.errors import TransportError
from iesnode.http.transport import AiohttpTransport
from iesnode.model.subscriber import Role, SubscriberQuery, SubscriberStatus
from iesnode.registry import LayeredDirectory, RegistryClient
from iesnode.storage.cache import MemoryCache
from tests.redis_server import free_port

SID = "bpp.example.org"

REG_S_ENTRY = {
    "subscriber_id": SID,
    "ukId": "k1",
    "subscriber_url": "https://bpp.example.org/beckn",
    "type": "BPP",
    "signing_public_key": "c2lnbmluZw==",
    "encr_public_key": "ZW5jcnlwdGlvbg==",
    "domain": "ies:energy",
    "city": "std:080",
    "country": "IND",
    "valid_from": "2025-01-01T00:00:00.000Z",
    "valid_until": "2030-01-01T00:00:00.000Z",
    "status": "SUBSCRIBED",
    "created": "2025-01-01T00:00:00.000Z",
}


@dataclass
class Seen:
    method: str
    raw_path: str
    query: dict[str, str]
    body: bytes


@dataclass
class FakeRegistry:
    """Answers every request from ``replies[(method, raw_path)]``; 404 otherwise."""

    base: str = ""
    replies: dict[tuple[str, str], tuple[int, bytes]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    stall: asyncio.Event = field(default_factory=asyncio.Event)
    stalled_path: str | None = None

    def reply(self, method: str, path: str, status: int, body: object) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.replies[(method, "/registry" + path)] = (status, raw)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(
            Seen(request.method, request.raw_path, dict(request.query), await request.read())
        )
        if request.path == self.stalled_path:
            await self.stall.wait()
        status, body = self.replies.get((request.method, request.rel_url.raw_path), (404, b"{}"))
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
async def registry() -> AsyncIterator[FakeRegistry]:
    fake = FakeRegistry()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.base = f"http://127.0.0.1:{port}/registry/"
    try:
        yield fake
    finally:
        fake.stall.set()
        await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    outbound = AiohttpTransport()
    try:
        yield outbound
    finally:
        await outbound.aclose()


def v1(registry: FakeRegistry, transport: AiohttpTransport) -> RegistryClient:
    return RegistryClient(transport, registry.base, timeout=2.0)


def dedi(registry: FakeRegistry, transport: AiohttpTransport) -> RegistryClient:
    return RegistryClient(transport, registry.base, api="dedi", timeout=2.0)


async def test_v1_lookup_posts_filter_and_reads_reg_s_aliases(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """POST /lookup carries subscriber_id and unique_key_id; ukId/subscriber_url/type parse."""
    registry.reply("POST", "/lookup", 200, [REG_S_ENTRY])
    sub = await v1(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert (sub.key_id, sub.url, sub.role) == ("k1", "https://bpp.example.org/beckn", Role.BPP)
    assert sub.encryption_public_key == "ZW5jcnlwdGlvbg=="
    assert (sub.domains, sub.city, sub.country) == (("ies:energy",), "std:080", "IND")
    assert json.loads(registry.seen[0].body) == {"subscriber_id": SID, "unique_key_id": "k1"}


async def test_v1_lookup_reads_pub_key_id_and_url(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """The ONIX-style pub_key_id and url names are accepted too."""
    entry = {k: v for k, v in REG_S_ENTRY.items() if k not in ("ukId", "subscriber_url")}
    entry |= {"pub_key_id": "k1", "url": "https://bpp.example.org/beckn"}
    registry.reply("POST", "/lookup", 200, [entry])
    sub = await v1(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert sub.key_id == "k1"


async def test_v1_lookup_picks_the_requested_key(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """When the registry returns several keys, only the one asked for is used."""
    other = REG_S_ENTRY | {"ukId": "k0", "signing_public_key": "b2xk"}
    registry.reply("POST", "/lookup", 200, [other, REG_S_ENTRY])
    sub = await v1(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert sub.signing_public_key == "c2lnbmluZw=="
    assert await v1(registry, transport).lookup(SID, "k2") is None


async def test_v1_empty_array_is_none(registry: FakeRegistry, transport: AiohttpTransport) -> None:
    """An empty array means the registry does not know the key."""
    registry.reply("POST", "/lookup", 200, [])
    assert await v1(registry, transport).lookup(SID, "k1") is None


async def test_v1_invalid_entry_is_skipped(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """An entry that fails validation is skipped; the valid one is still returned."""
    broken = {"subscriber_id": SID, "ukId": "k1", "type": "LREG"}
    registry.reply("POST", "/lookup", 200, [broken, "junk", REG_S_ENTRY])
    sub = await v1(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert sub.role == Role.BPP


async def test_v1_location_object_is_read(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """A v1 Subscription location {city: {code}, country: {code}} fills city and country."""
    entry: dict[str, object] = {
        k: v for k, v in REG_S_ENTRY.items() if k not in ("city", "country")
    }
    entry["location"] = {"city": {"code": "std:011"}, "country": {"code": "IND"}}
    registry.reply("POST", "/lookup", 200, [entry])
    sub = await v1(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert (sub.city, sub.country) == ("std:011", "IND")


async def test_v1_find_sends_only_set_fields(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """find posts only the query fields that are set and filters what comes back."""
    bap = REG_S_ENTRY | {"subscriber_id": "bap.example.org", "type": "BAP"}
    registry.reply("POST", "/lookup", 200, [REG_S_ENTRY, bap])
    found = await v1(registry, transport).find(SubscriberQuery(role=Role.BPP, domain="ies:energy"))
    assert [s.subscriber_id for s in found] == [SID]
    assert json.loads(registry.seen[0].body) == {
        "type": "BPP",
        "domain": "ies:energy",
        "status": "SUBSCRIBED",
    }


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"error": "boom"}'), (200, b"<html>not json"), (200, b'{"subscriber_id": "x"}')],
    ids=["http-500", "garbage-json", "not-an-array"],
)
async def test_v1_bad_answer_raises_transport_error(
    registry: FakeRegistry, transport: AiohttpTransport, status: int, body: bytes
) -> None:
    """A 5xx, invalid JSON or a non-array answer raises TransportError."""
    registry.reply("POST", "/lookup", status, body)
    with pytest.raises(TransportError) as caught:
        await v1(registry, transport).lookup(SID, "k1")
    assert caught.value.status == status


async def test_unreachable_registry_raises_transport_error(transport: AiohttpTransport) -> None:
    """Nothing listening on the registry port raises TransportError."""
    client = RegistryClient(transport, f"http://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(TransportError):
        await client.lookup(SID, "k1")


async def test_slow_registry_raises_transport_error(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """No answer within the client's timeout raises TransportError."""
    registry.stalled_path = "/registry/lookup"
    client = RegistryClient(transport, registry.base, timeout=0.1)
    with pytest.raises(TransportError, match="no answer"):
        await client.lookup(SID, "k1")


async def test_dedi_lookup_gets_quoted_path(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """GET /lookup/{subscriber_id}/{key_id} quotes both parts; a flat camelCase record parses."""
    record = {
        "subscriberId": SID,
        "keyId": "key 1/a",
        "subscriberUrl": "https://bpp.example.org/beckn",
        "role": "BPP",
        "signingPublicKey": "c2lnbmluZw==",
        "encryptionPublicKey": "ZW5jcnlwdGlvbg==",
        "networkId": "ies.example/energy",
        "domain": ["ies:energy"],
        "validUntil": "2030-01-01T00:00:00Z",
    }
    registry.reply("GET", f"/lookup/{SID}/key%201%2Fa", 200, record)
    sub = await dedi(registry, transport).lookup(SID, "key 1/a")
    assert sub is not None
    assert (sub.key_id, sub.network_id) == ("key 1/a", "ies.example/energy")
    assert registry.seen[0].raw_path == f"/registry/lookup/{SID}/key%201%2Fa"


async def test_dedi_wrapped_record_takes_ids_from_path(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """A {"data": {"details": {...}}} record is unwrapped; a missing key id comes from the path."""
    wrapped = {
        "data": {
            "details": {
                "url": "https://bpp.example.org/beckn",
                "type": "BPP",
                "domain": "ies:energy",
                "subscriber_id": SID,
                "signing_public_key": "c2lnbmluZw==",
                "encr_public_key": "ZW5jcnlwdGlvbg==",
            },
            "network_memberships": ["ies.example/energy"],
            "valid_until": "2030-01-01T00:00:00Z",
            "created_at": "2025-01-01T00:00:00Z",
        }
    }
    registry.reply("GET", f"/lookup/{SID}/k1", 200, wrapped)
    sub = await dedi(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert (sub.subscriber_id, sub.key_id, sub.domains) == (SID, "k1", ("ies:energy",))
    assert sub.valid_until is not None
    assert sub.encryption_public_key == "ZW5jcnlwdGlvbg=="


async def test_dedi_404_is_none(registry: FakeRegistry, transport: AiohttpTransport) -> None:
    """404 means the registry does not know the key."""
    registry.reply("GET", f"/lookup/{SID}/k1", 404, {"error": "not found"})
    assert await dedi(registry, transport).lookup(SID, "k1") is None


async def test_dedi_410_with_record_is_revoked(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """410 with a record yields that subscriber with status REVOKED."""
    record = REG_S_ENTRY | {"status": "SUBSCRIBED"}
    registry.reply("GET", f"/lookup/{SID}/k1", 410, {"data": {"details": record}})
    sub = await dedi(registry, transport).lookup(SID, "k1")
    assert sub is not None
    assert sub.status == SubscriberStatus.REVOKED


async def test_dedi_410_without_record_is_none(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """410 without a usable record yields None."""
    registry.reply("GET", f"/lookup/{SID}/k1", 410, b"gone")
    assert await dedi(registry, transport).lookup(SID, "k1") is None


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"oops"), (503, b""), (200, b"{not json"), (200, b'["a", "list"]')],
    ids=["http-500", "http-503", "garbage-json", "not-an-object"],
)
async def test_dedi_bad_answer_raises_transport_error(
    registry: FakeRegistry, transport: AiohttpTransport, status: int, body: bytes
) -> None:
    """Any other status, invalid JSON or a non-object record raises TransportError."""
    registry.reply("GET", f"/lookup/{SID}/k1", status, body)
    with pytest.raises(TransportError):
        await dedi(registry, transport).lookup(SID, "k1")


async def test_dedi_invalid_record_raises_transport_error(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """A 200 whose record does not validate is a registry fault, not an unknown key."""
    registry.reply("GET", f"/lookup/{SID}/k1", 200, {"subscriber_id": SID, "type": "BPP"})
    with pytest.raises(TransportError, match="signing_public_key"):
        await dedi(registry, transport).lookup(SID, "k1")


async def test_dedi_find_sends_query_parameters(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """find GETs /lookup?role=..&networkId=..&domain=.. and reads the array of records."""
    record = REG_S_ENTRY | {"networkId": "ies.example/energy"}
    registry.reply("GET", "/lookup", 200, {"data": [record, {"details": record | {"ukId": "k2"}}]})
    query = SubscriberQuery(role=Role.BPP, network_id="ies.example/energy", domain="ies:energy")
    found = await dedi(registry, transport).find(query)
    assert [s.key_id for s in found] == ["k1", "k2"]
    assert registry.seen[0].query == {
        "role": "BPP",
        "networkId": "ies.example/energy",
        "domain": "ies:energy",
        "status": "SUBSCRIBED",
    }


async def test_layered_over_registry_asks_once(
    registry: FakeRegistry, transport: AiohttpTransport
) -> None:
    """Behind LayeredDirectory, repeated and concurrent lookups reach the registry once."""
    registry.reply("POST", "/lookup", 200, [REG_S_ENTRY])
    clock = FrozenClock(1_750_000_000.0)
    directory = LayeredDirectory([v1(registry, transport)], clock=clock, memory=MemoryCache(clock))
    results = await asyncio.gather(*(directory.lookup(SID, "k1") for _ in range(20)))
    await directory.lookup(SID, "k1")
    assert all(r is not None and r.key_id == "k1" for r in results)
    assert len(registry.seen) == 1
