"""Resolving DIDs: did:web over HTTPS (through the ``Transport`` seam), did:key locally.

did:web Method Specification (W3C CCG), section 3.2 "Read (Resolve)": the
method-specific id's ``:`` become ``/``, the domain's ``%3A`` becomes ``:``, a DID with
no path gets ``/.well-known``, then ``/did.json`` is appended and ``https://``
prepended; the fetched document's ``id`` must equal the DID. did:key documents are
derived from the key itself ("The did:key Method" v0.7 section 3.1.2).

Resolved documents are cached in a bounded LRU for ``ttl`` seconds of the injected
clock; failures are not cached.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Literal

import structlog
from pydantic import ValidationError

from iesnode.errors import TransportError
from iesnode.identity.did import Did, DidUrl
from iesnode.identity.didkey import DidKey
from iesnode.identity.documents import DidDocument, VerificationMethod, did_key_document
from iesnode.identity.errors import (
    DidDocumentMismatch,
    DidNotFound,
    DidUnreachable,
    MalformedDidDocument,
    UnsupportedDidMethod,
)
from iesnode.interfaces import Clock, Transport

__all__ = ["DidResolver", "did_web_url"]

log = structlog.get_logger(__name__)

_ACCEPT = {"Accept": "application/did+json, application/did+ld+json, application/json"}
_MAX_DOCUMENT = 256 * 1024


def did_web_url(
    did: Did | str, *, scheme: Literal["https", "http"] = "https", base_url: str | None = None
) -> str:
    """The URL of a did:web document.

    ``base_url`` (e.g. ``http://127.0.0.1:8080``) replaces scheme, host and port, so
    loopback tests can serve any did:web; ``scheme`` alone switches to plain http.
    """
    parsed = did if isinstance(did, Did) else Did.parse(did)
    host, segments = parsed.web_host, parsed.web_path
    path = "/" + "/".join(segments) if segments else "/.well-known"
    origin = base_url.rstrip("/") if base_url is not None else f"{scheme}://{host}"
    return f"{origin}{path}/did.json"


class DidResolver:
    """Resolve did:web and did:key DIDs to :class:`DidDocument`, with a TTL cache."""

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        scheme: Literal["https", "http"] = "https",
        base_url: str | None = None,
        timeout: float = 5.0,
        ttl: float = 300.0,
        max_entries: int = 1024,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._scheme: Literal["https", "http"] = scheme
        self._base_url = base_url
        self._timeout = timeout
        self._ttl = ttl
        self._max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, DidDocument]] = OrderedDict()
        self.fetches = 0
        """How many documents were fetched over the network (cache misses)."""

    async def resolve(self, did: str) -> DidDocument:
        """Return the DID document of ``did`` (a bare DID; use :meth:`resolve_method` for URLs).

        A malformed ``did`` raises :class:`IdentifierError`; everything that goes wrong
        afterwards raises a :class:`DidResolutionError` subclass.
        """
        parsed = Did.parse(did)
        if parsed.method == "key":
            return did_key_document(DidKey.parse(did))
        if parsed.method != "web":
            raise UnsupportedDidMethod(did, f"method {parsed.method!r} is not web or key")
        cached = self._cached(did)
        if cached is not None:
            return cached
        document = await self._fetch(parsed)
        self._store(did, document)
        return document

    async def resolve_method(self, did_url: str) -> VerificationMethod:
        """Dereference a key reference such as ``did:web:host#key-1`` to its method."""
        url = DidUrl.parse(did_url)
        document = await self.resolve(str(url.did))
        method = document.find_method(did_url)
        if method is None:
            raise DidNotFound(did_url, "no such verification method in the document")
        return method

    def forget(self, did: str) -> None:
        """Drop ``did`` from the cache (e.g. after a signature fails against its key)."""
        self._cache.pop(did, None)

    def _cached(self, did: str) -> DidDocument | None:
        entry = self._cache.get(did)
        if entry is None:
            return None
        expires, document = entry
        if expires <= self._clock.now():
            del self._cache[did]
            return None
        self._cache.move_to_end(did)
        return document

    def _store(self, did: str, document: DidDocument) -> None:
        self._cache[did] = (self._clock.now() + self._ttl, document)
        self._cache.move_to_end(did)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)

    async def _fetch(self, did: Did) -> DidDocument:
        text = str(did)
        url = did_web_url(did, scheme=self._scheme, base_url=self._base_url)
        self.fetches += 1
        try:
            reply = await self._transport.get(url, _ACCEPT, self._timeout)
        except TransportError as exc:
            log.info("did_resolve_unreachable", host=did.web_host, reason=exc.reason)
            raise DidUnreachable(text, exc.reason) from exc
        if reply.status in (404, 410):
            raise DidNotFound(text, f"{url} answered {reply.status}")
        if reply.status != 200:
            raise DidUnreachable(text, f"{url} answered {reply.status}", status=reply.status)
        if len(reply.body) > _MAX_DOCUMENT:
            raise MalformedDidDocument(text, f"document over {_MAX_DOCUMENT} bytes")
        return _parse_document(text, reply.body)


def _parse_document(did: str, body: bytes) -> DidDocument:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDidDocument(did, f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedDidDocument(did, "a DID document is a JSON object")
    try:
        document = DidDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise MalformedDidDocument(did, str(first["msg"]), path=path) from exc
    if document.id != did:
        raise DidDocumentMismatch(did, document.id)
    return document
