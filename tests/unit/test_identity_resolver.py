"""DID documents and the DID resolver against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from nacl.signing import SigningKey, VerifyKey

from iesnode.clock import FrozenClock
from iesnode.http.transport import AiohttpTransport
from iesnode.identity import (
    DidDocumentMismatch,
    DidKey,
    DidNotFound,
    DidResolver,
    DidUnreachable,
    IdentifierError,
    MalformedDidDocument,
    UnsupportedDidMethod,
    did_web_url,
    node_did_document,
)
from tests.redis_server import free_port

T0 = 1_750_000_000.0
SIGNING = SigningKey(bytes(range(32)))
PUBLIC_B64 = base64.b64encode(bytes(SIGNING.verify_key)).decode()


@dataclass
class DidHost:
    """Serves ``pages[path] = (status, body)``; counts hits per path."""

    port: int = 0
    pages: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    @property
    def did(self) -> str:
        return f"did:web:127.0.0.1%3A{self.port}"

    def serve(self, path: str, body: object, status: int = 200) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.pages[path] = (status, raw)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        status, body = self.pages.get(request.path, (404, b"not here"))
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
async def host() -> AsyncIterator[DidHost]:
    """A DID host on 127.0.0.1, port chosen by the OS."""
    did_host = DidHost()
    app = web.Application()
    app.router.add_get("/{tail:.*}", did_host.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    did_host.port = runner.addresses[0][1]
    try:
        yield did_host
    finally:
        await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    """The node's real outbound transport."""
    t = AiohttpTransport()
    try:
        yield t
    finally:
        await t.aclose()


def node_document(host: DidHost) -> dict[str, object]:
    return node_did_document(
        f"127.0.0.1:{host.port}",
        signing_public_key=PUBLIC_B64,
        service_endpoint=f"http://127.0.0.1:{host.port}/beckn",
    ).to_json()


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:example.com:user:alice", "https://example.com/user/alice/did.json"),
        ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
        (
            "did:web:d.example:consumers:RR%201",
            "https://d.example/consumers/RR%201/did.json",
        ),
    ],
)
def test_did_web_urls_follow_the_method_spec(did: str, url: str) -> None:
    """Colons become slashes, %3A a port, and bare domains use /.well-known."""
    assert did_web_url(did) == url


def test_did_web_url_base_override() -> None:
    """base_url replaces scheme, host and port; scheme alone switches to http."""
    assert did_web_url("did:web:x.example:a", base_url="http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/a/did.json"
    )
    assert did_web_url("did:web:x.example", scheme="http") == (
        "http://x.example/.well-known/did.json"
    )


def test_node_did_document_carries_the_signing_key_and_endpoint() -> None:
    """The node's document has one Multikey for authentication and assertion, and its URL."""
    doc = node_did_document(
        "bpp.example.org",
        signing_public_key=PUBLIC_B64,
        service_endpoint="https://bpp.example.org/beckn",
    )
    data = doc.to_json()
    assert data["id"] == "did:web:bpp.example.org"
    assert data["authentication"] == data["assertionMethod"] == ["did:web:bpp.example.org#key-1"]
    assert data["service"] == [
        {
            "id": "did:web:bpp.example.org#beckn",
            "type": "BecknSubscriber",
            "serviceEndpoint": "https://bpp.example.org/beckn",
        }
    ]
    method = doc.find_method("#key-1")
    assert method is not None
    assert method.type == "Multikey"
    assert method.ed25519_public_key() == bytes(SIGNING.verify_key)
    assert "keyAgreement" not in data


async def test_resolves_a_node_document_over_http(
    host: DidHost, transport: AiohttpTransport
) -> None:
    """A did:web with a port resolves at /.well-known/did.json and its key verifies."""
    host.serve("/.well-known/did.json", node_document(host))
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    doc = await resolver.resolve(host.did)
    assert doc.id == host.did
    method = await resolver.resolve_method(f"{host.did}#key-1")
    VerifyKey(method.ed25519_public_key()).verify(SIGNING.sign(b"hello"))
    assert doc.authorises("#key-1", "authentication")


async def test_base_url_serves_a_path_did_from_loopback(
    host: DidHost, transport: AiohttpTransport
) -> None:
    """With base_url, did:web:<domain>:consumers:<no> is fetched from <base>/consumers/<no>/."""
    did = "did:web:discom.example:consumers:RR-1234"
    host.serve("/consumers/RR-1234/did.json", {"id": did})
    resolver = DidResolver(transport, FrozenClock(T0), base_url=f"http://127.0.0.1:{host.port}")
    assert (await resolver.resolve(did)).id == did


async def test_not_found_is_did_not_found(host: DidHost, transport: AiohttpTransport) -> None:
    """A 404 from the host is DidNotFound."""
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    with pytest.raises(DidNotFound, match="404"):
        await resolver.resolve(host.did)


async def test_server_error_is_unreachable_with_status(
    host: DidHost, transport: AiohttpTransport
) -> None:
    """A 500 is DidUnreachable carrying the status."""
    host.serve("/.well-known/did.json", b"oops", status=500)
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    with pytest.raises(DidUnreachable) as info:
        await resolver.resolve(host.did)
    assert info.value.status == 500


async def test_id_mismatch_is_refused(host: DidHost, transport: AiohttpTransport) -> None:
    """A document for another DID is DidDocumentMismatch."""
    host.serve("/.well-known/did.json", {"id": "did:web:evil.example"})
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    with pytest.raises(DidDocumentMismatch) as info:
        await resolver.resolve(host.did)
    assert info.value.document_id == "did:web:evil.example"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>not json</html>", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"verificationMethod": []}', "$.id"),
        (b'{"id": "not a did"}', "$.id"),
        (
            b'{"id": "did:web:x", "verificationMethod": [{"id": "k", "type": "Multikey"}]}',
            "$.verificationMethod[0]",
        ),
    ],
)
async def test_garbage_is_a_malformed_document(
    host: DidHost, transport: AiohttpTransport, body: bytes, fragment: str
) -> None:
    """Non-JSON, non-objects and invalid members are MalformedDidDocument, with a path."""
    host.serve("/.well-known/did.json", body)
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    with pytest.raises(
        MalformedDidDocument, match=fragment.replace("[", r"\[").replace("$", r"\$")
    ):
        await resolver.resolve(host.did)


async def test_documents_are_cached_until_the_ttl(
    host: DidHost, transport: AiohttpTransport
) -> None:
    """A second resolve within the TTL is served from cache; after it, fetched again."""
    host.serve("/.well-known/did.json", node_document(host))
    clock = FrozenClock(T0)
    resolver = DidResolver(transport, clock, scheme="http", ttl=60)
    await resolver.resolve(host.did)
    await resolver.resolve(host.did)
    assert host.hits["/.well-known/did.json"] == 1
    clock.advance(61)
    await resolver.resolve(host.did)
    assert host.hits["/.well-known/did.json"] == 2
    assert resolver.fetches == 2


async def test_cache_is_bounded_and_failures_are_not_cached(
    host: DidHost, transport: AiohttpTransport
) -> None:
    """The LRU evicts beyond max_entries; a 404 is retried once the document appears."""
    base = f"http://127.0.0.1:{host.port}"
    resolver = DidResolver(transport, FrozenClock(T0), base_url=base, max_entries=1)
    a, b = "did:web:d.example:consumers:A", "did:web:d.example:consumers:B"
    with pytest.raises(DidNotFound):
        await resolver.resolve(a)
    host.serve("/consumers/A/did.json", {"id": a})
    host.serve("/consumers/B/did.json", {"id": b})
    await resolver.resolve(a)
    await resolver.resolve(b)
    await resolver.resolve(a)
    assert host.hits["/consumers/A/did.json"] == 3
    assert host.hits["/consumers/B/did.json"] == 1


async def test_forget_drops_a_cached_document(host: DidHost, transport: AiohttpTransport) -> None:
    """After forget(), the next resolve fetches again (e.g. after key rotation)."""
    host.serve("/.well-known/did.json", node_document(host))
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    await resolver.resolve(host.did)
    resolver.forget(host.did)
    await resolver.resolve(host.did)
    assert host.hits["/.well-known/did.json"] == 2


async def test_closed_port_is_unreachable(transport: AiohttpTransport) -> None:
    """Nobody listening is DidUnreachable, not a crash."""
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http", timeout=2)
    with pytest.raises(DidUnreachable):
        await resolver.resolve(f"did:web:127.0.0.1%3A{free_port()}")


async def test_unknown_verification_method_is_not_found(
    host: DidHost, transport: AiohttpTransport
) -> None:
    """Dereferencing a key the document does not list is DidNotFound."""
    host.serve("/.well-known/did.json", node_document(host))
    resolver = DidResolver(transport, FrozenClock(T0), scheme="http")
    with pytest.raises(DidNotFound, match="verification method"):
        await resolver.resolve_method(f"{host.did}#key-2")


async def test_did_key_resolves_locally(host: DidHost, transport: AiohttpTransport) -> None:
    """did:key documents are derived from the key, without any request."""
    key = DidKey(bytes(SIGNING.verify_key))
    resolver = DidResolver(transport, FrozenClock(T0), base_url=f"http://127.0.0.1:{host.port}")
    doc = await resolver.resolve(str(key))
    method = await resolver.resolve_method(key.key_id)
    assert doc.id == str(key)
    assert method.ed25519_public_key() == key.public_key
    assert doc.authorises(key.key_id, "capability_invocation")
    assert sum(host.hits.values()) == 0


async def test_other_methods_and_bad_dids_are_refused(transport: AiohttpTransport) -> None:
    """did:example is unsupported; text that is not a DID is an IdentifierError."""
    resolver = DidResolver(transport, FrozenClock(T0))
    with pytest.raises(UnsupportedDidMethod):
        await resolver.resolve("did:example:customer:abc123")
    with pytest.raises(IdentifierError):
        await resolver.resolve("https://example.com")
    with pytest.raises(IdentifierError, match="domain"):
        await resolver.resolve("did:web:-bad.example")
