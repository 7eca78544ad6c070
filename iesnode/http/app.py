"""The aiohttp application: Beckn endpoints, ``/health``, ``/metrics`` and the NACK middleware.

Routes only read bytes, hand them to the node's inbound pipeline and write what
comes back; exactly one middleware turns a :class:`~iesnode.errors.ProtocolError`
into a NACK in the caller's dialect (``DESIGN.md`` section 4, "Rejections").
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from iesnode.errors import (
    AuthError,
    PayloadTooLarge,
    ProtocolError,
    UnknownAction,
)
from iesnode.identity.documents import node_did_document
from iesnode.model.envelope import Dialect
from iesnode.protocol.acks import ack_body
from iesnode.protocol.actions import canonical
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.inbound import GATEWAY_HEADER, LEGACY_GATEWAY_HEADER, Exchange

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["NODE", "make_app"]

NODE: web.AppKey[Node] = web.AppKey("node")
_EXCHANGE: web.RequestKey[Exchange] = web.RequestKey("exchange", Exchange)
_JSON = "application/json"
log = structlog.get_logger(__name__)


def _sniff_dialect(ex: Exchange | None) -> Dialect:
    """The caller's dialect, for a NACK; building a NACK must never raise."""
    if ex is None:
        return Dialect.V2
    if ex.dialect is not None:
        return ex.dialect
    try:
        return detect_dialect(json.loads(ex.body))
    except (ValueError, RecursionError, ProtocolError):
        return Dialect.V2


def _nack(node: Node, request: web.Request, exc: ProtocolError) -> web.Response:
    ex = request.get(_EXCHANGE)
    dialect = _sniff_dialect(ex)
    message_id = ex.envelope.context.message_id if ex and ex.envelope else ""
    body = ack_body(
        dialect,
        error=exc,
        signer=node.signer,
        request_body=ex.body if ex else b"",
        message_id=message_id,
        now=int(node.clock.now()),
    )
    headers: dict[str, str] = {}
    if isinstance(exc, AuthError):
        challenge = (
            f'Signature realm="{node.signer.subscriber_id}",headers="(created) (expires) digest"'
        )
        headers["Proxy-Authenticate" if exc.gateway else "WWW-Authenticate"] = challenge
        node.metrics.signature_failures.labels(exc.code).inc()
        if ex is not None and (sig := ex.gateway_signature or ex.signature) is not None:
            log.warning(
                "signature_rejected",
                code=exc.code,
                created=sig.created,
                expires=sig.expires,
                now=int(node.clock.now()),
            )
    action = ex.action if ex else request.match_info.get("action", "?")
    log.info("nack", action=action, code=exc.code, path=exc.path, reason=exc.message)
    label = action if canonical(action) is not None else "unknown"  # bounded label values
    node.metrics.requests.labels(label, exc.code).inc()
    return web.Response(status=exc.http_status, body=body, content_type=_JSON, headers=headers)


@web.middleware
async def nack_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn protocol errors into NACKs and anything unexpected into a 500 NACK without details."""
    structlog.contextvars.clear_contextvars()
    node = request.app[NODE]
    try:
        return await handler(request)
    except ProtocolError as exc:
        return _nack(node, request, exc)
    except web.HTTPNotFound:
        missing = UnknownAction("CTX_UNKNOWN_ACTION", f"no endpoint {request.path}", path="$path")
        return _nack(node, request, missing)
    except web.HTTPMethodNotAllowed as exc:
        where = f"no endpoint {request.method} {request.path}"
        response = _nack(node, request, UnknownAction("CTX_UNKNOWN_ACTION", where, path="$path"))
        response.set_status(405)
        response.headers["Allow"] = exc.headers.get("Allow", "")
        return response
    except web.HTTPRequestEntityTooLarge:
        limit = node.settings.security.max_body_bytes
        too_large = PayloadTooLarge(
            "SCH_PAYLOAD_TOO_LARGE", f"body is over the limit of {limit} bytes", path="$"
        )
        return _nack(node, request, too_large)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request_failed", path=request.path)
        failure = ProtocolError("INTERNAL_ERROR", "the node failed to process the request")
        response = _nack(node, request, failure)
        response.set_status(500)
        return response


async def beckn_endpoint(request: web.Request) -> web.Response:
    """``POST /{action}`` and ``POST /beckn/{action}``: verify, route, ACK."""
    node = request.app[NODE]
    started = time.perf_counter()
    name = request.match_info["action"]
    action = canonical(name)
    limit = node.settings.security.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(
            "SCH_PAYLOAD_TOO_LARGE",
            f"body is {request.content_length} bytes; the limit is {limit}",
            path="$",
        )
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(
            "SCH_PAYLOAD_TOO_LARGE", f"body is over the limit of {limit} bytes", path="$"
        ) from None
    headers = request.headers
    ex = Exchange(
        action=action or name,
        body=body,
        content_type=headers.get("Content-Type", ""),
        authorization=headers.getall("Authorization", []),
        gateway_authorization=headers.getall(GATEWAY_HEADER, [])
        or headers.getall(LEGACY_GATEWAY_HEADER, []),
        received_at=node.clock.now(),
    )
    request[_EXCHANGE] = ex
    if action is None or action not in node.served_actions:
        raise UnknownAction(
            "CTX_UNKNOWN_ACTION",
            f"this node ({', '.join(sorted(node.roles))}) does not serve {name!r}",
            path="$path",
        )
    envelope = await node.verifier.verify(ex)
    ctx = envelope.context
    structlog.contextvars.bind_contextvars(
        action=ctx.action,
        transaction_id=ctx.transaction_id,
        message_id=ctx.message_id,
        subscriber_id=ex.sender.subscriber_id if ex.sender else None,
    )
    await node.check_inbound(envelope, ex.sender.subscriber_id if ex.sender else "")
    status, payload = await node.accept(ex, envelope)
    node.metrics.requests.labels(action, "ACK").inc()
    node.metrics.ack_latency.labels(action).observe(time.perf_counter() - started)
    return web.Response(status=status, body=payload, content_type=_JSON)


async def on_subscribe(request: web.Request) -> web.Response:
    """``POST /on_subscribe``: answer the registry's encrypted challenge."""
    node = request.app[NODE]
    body = await request.read()
    answer = await node.on_subscribe.answer(body, request.headers.getall("Authorization", []))
    return web.Response(body=answer, content_type=_JSON)


async def did_document(request: web.Request) -> web.Response:
    """``GET /.well-known/did.json``: our did:web document (key = our registered signing key)."""
    node = request.app[NODE]
    document = node_did_document(
        node.signer.subscriber_id,
        signing_public_key=node.signer.public_key,
        service_endpoint=node.public_url,
    )
    body = json.dumps(document.to_json()).encode("utf-8")
    return web.Response(body=body, content_type="application/did+json")


async def status_list(request: web.Request) -> web.Response:
    """``GET /status/{purpose}``: our signed Bitstring Status List, with HTTP caching."""
    node = request.app[NODE]
    purpose = request.match_info["purpose"]
    if node.credentials is None or purpose not in ("revocation", "suspension"):
        raise web.HTTPNotFound
    signed = await node.credentials.signed_list(purpose)  # type: ignore[arg-type]
    headers = {
        "ETag": signed.etag,
        "Last-Modified": formatdate(signed.last_modified, usegmt=True),
        "Cache-Control": "public, max-age=60",
    }
    if request.headers.get("If-None-Match") == signed.etag:
        return web.Response(status=304, headers=headers)
    body = json.dumps(signed.credential).encode("utf-8")
    return web.Response(body=body, content_type="application/vc+ld+json", headers=headers)


async def health(request: web.Request) -> web.Response:
    """Liveness plus who we are."""
    node = request.app[NODE]
    return web.json_response(
        {
            "status": "ok",
            "subscriber_id": node.signer.subscriber_id,
            "roles": sorted(node.roles),
            "url": node.public_url,
        }
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    node = request.app[NODE]
    return web.Response(
        body=node.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"}
    )


def make_app(node: Node) -> web.Application:
    """The node's aiohttp application."""
    limit = node.settings.security.max_body_bytes
    app = web.Application(middlewares=[nack_middleware], client_max_size=limit)
    app[NODE] = node
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/on_subscribe", on_subscribe)
    app.router.add_get("/.well-known/did.json", did_document)
    app.router.add_get("/status/{purpose}", status_list)
    app.router.add_post("/beckn/{action}", beckn_endpoint)
    app.router.add_post("/{action}", beckn_endpoint)
    return app
