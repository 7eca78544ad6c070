"""The registry service's HTTP API (``iesnode registry serve``).

Reads: Beckn v1.1.1 ``POST /lookup`` with filters and key-id aliases; DeDi-style
``GET /lookup/{subscriber_id}/{key_id}`` (also under ``/dedi``) answering 404 for
unknown and 410 for revoked or suspended keys; ``GET /lookup?role=&networkId=...``;
``GET /revocations/{credential_id}`` (200 revoked, 404 not). Every read takes
``as_on`` (RFC 3339 or epoch seconds) to answer as of that moment.
Writes (all signed, see :mod:`iesnode.registry.governance`): ``POST /subscribe``,
``POST /participants``, ``POST /participants/status``, ``POST /revocations``,
``POST /institutions`` (read with ``GET /institutions``).
Errors answer ``{"error": {code, message, path}}``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from iesnode.errors import AuthError, ProtocolError, RequestRejected
from iesnode.registry.service import RegistryService

__all__ = ["SERVICE", "make_registry_app"]

SERVICE: web.AppKey[RegistryService] = web.AppKey("registry_service")
log = structlog.get_logger(__name__)
_V1_KEY_ALIASES = ("unique_key_id", "ukId", "key_id", "pub_key_id", "keyId")


def _error(status: int, code: str, message: str, path: str | None) -> web.Response:
    body = {"error": {"code": code, "message": message, "path": path}}
    return web.json_response(body, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """ProtocolErrors become JSON errors with their status; nothing else leaks."""
    structlog.contextvars.clear_contextvars()
    try:
        return await handler(request)
    except ProtocolError as exc:
        log.info("registry_refused", code=exc.code, path=exc.path, reason=exc.message)
        response = _error(exc.http_status, exc.code, exc.message, exc.path)
        if isinstance(exc, AuthError):
            realm = request.app[SERVICE].subscriber_id
            response.headers["WWW-Authenticate"] = (
                f'Signature realm="{realm}",headers="(created) (expires) digest"'
            )
        return response
    except web.HTTPException:
        raise
    except Exception:
        log.exception("registry_request_failed", path=request.path)
        return _error(500, "INTERNAL_ERROR", "the registry failed to process the request", None)


def _as_on(raw: Any) -> float | None:
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(raw)).timestamp()
    except ValueError:
        raise RequestRejected(
            "SCH_VALIDATION_FAILED", "as_on must be RFC 3339 or epoch seconds", path="as_on"
        ) from None


async def _json_body(request: web.Request) -> tuple[bytes, dict[str, Any]]:
    body = await request.read()
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestRejected("SCH_INVALID_JSON", "body is not JSON", path="$") from None
    if not isinstance(doc, dict):
        raise RequestRejected("SCH_INVALID_BODY", "body must be a JSON object", path="$")
    return body, doc


async def v1_lookup(request: web.Request) -> web.Response:
    """Beckn v1 ``POST /lookup``: a filter in, an array of Subscriptions out."""
    service = request.app[SERVICE]
    _, doc = await _json_body(request)
    key_id = next((doc[k] for k in _V1_KEY_ALIASES if doc.get(k)), None)
    records = await service.search(
        subscriber_id=doc.get("subscriber_id"),
        key_id=key_id,
        role=doc.get("type"),
        network_id=doc.get("network_id") or doc.get("networkId"),
        domain=doc.get("domain"),
        city=doc.get("city"),
        country=doc.get("country"),
        status=doc.get("status"),
        as_on=_as_on(doc.get("as_on")),
    )
    return web.json_response([service.v1_shape(r) for r in records])


async def dedi_lookup(request: web.Request) -> web.Response:
    """``GET /lookup/{subscriber_id}/{key_id}``: 200, 404 unknown, 410 revoked/suspended."""
    service = request.app[SERVICE]
    record = await service.lookup(
        request.match_info["subscriber_id"],
        request.match_info["key_id"],
        as_on=_as_on(request.query.get("as_on")),
    )
    if record is None:
        return _error(404, "REG_NOT_FOUND", "no such subscriber key", None)
    status = 410 if service.is_withdrawn(record) else 200
    return web.json_response(service.dedi_shape(record), status=status)


async def dedi_search(request: web.Request) -> web.Response:
    """``GET /lookup?role=&networkId=&domain=...``: an array of records."""
    service = request.app[SERVICE]
    q = request.query
    records = await service.search(
        subscriber_id=q.get("subscriberId"),
        key_id=q.get("keyId"),
        role=q.get("role"),
        network_id=q.get("networkId"),
        domain=q.get("domain"),
        city=q.get("city"),
        country=q.get("country"),
        status=q.get("status"),
        as_on=_as_on(q.get("as_on")),
    )
    return web.json_response([service.dedi_shape(r) for r in records])


async def subscribe(request: web.Request) -> web.Response:
    """``POST /subscribe``: runs the on_subscribe challenge, then answers the status."""
    service = request.app[SERVICE]
    body = await request.read()
    record = await service.subscribe(body, request.headers.getall("Authorization", []))
    return web.json_response(
        {
            "status": record.status.value,
            "subscriber_id": record.subscriber_id,
            "key_id": record.key_id,
        }
    )


async def publish(request: web.Request) -> web.Response:
    """``POST /participants``: an admin or publisher writes a participant key."""
    service = request.app[SERVICE]
    body = await request.read()
    record = await service.publish(body, request.headers.getall("Authorization", []))
    return web.json_response(service.dedi_shape(record))


async def set_status(request: web.Request) -> web.Response:
    """``POST /participants/status``: revoke, suspend or reinstate a key."""
    service = request.app[SERVICE]
    body = await request.read()
    record = await service.set_status(body, request.headers.getall("Authorization", []))
    return web.json_response(service.dedi_shape(record))


async def history(request: web.Request) -> web.Response:
    """``GET /participants/{subscriber_id}/{key_id}/history``: every version, oldest first."""
    service = request.app[SERVICE]
    versions = await service.history(
        request.match_info["subscriber_id"], request.match_info["key_id"]
    )
    return web.json_response(versions)


async def revoke_credential(request: web.Request) -> web.Response:
    """``POST /revocations``: record a revoked credential."""
    service = request.app[SERVICE]
    body = await request.read()
    entry = await service.revoke_credential(body, request.headers.getall("Authorization", []))
    return web.json_response(entry)


async def credential_status(request: web.Request) -> web.Response:
    """``GET /revocations/{credential_id}``: 200 revoked, 404 not revoked."""
    service = request.app[SERVICE]
    entry = await service.credential_revocation(
        request.match_info["credential_id"], as_on=_as_on(request.query.get("as_on"))
    )
    if entry is None:
        return _error(404, "REG_NOT_REVOKED", "the credential is not revoked", None)
    return web.json_response(entry)


async def publish_institution(request: web.Request) -> web.Response:
    """``POST /institutions``: record an authorised institution or service provider."""
    service = request.app[SERVICE]
    body = await request.read()
    entry = await service.publish_institution(body, request.headers.getall("Authorization", []))
    return web.json_response(entry)


async def institutions(request: web.Request) -> web.Response:
    """``GET /institutions?role=&orgId=&as_on=``: the role-based registry of institutions."""
    service = request.app[SERVICE]
    q = request.query
    found = await service.institutions(
        role=q.get("role"), org_id=q.get("orgId"), as_on=_as_on(q.get("as_on"))
    )
    return web.json_response(found)


async def health(request: web.Request) -> web.Response:
    """Liveness and who we are."""
    service = request.app[SERVICE]
    return web.json_response({"status": "ok", "subscriber_id": service.subscriber_id})


def make_registry_app(service: RegistryService) -> web.Application:
    """The registry's aiohttp application."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1_048_576)
    app[SERVICE] = service
    app.router.add_get("/health", health)
    app.router.add_post("/lookup", v1_lookup)
    app.router.add_get("/lookup", dedi_search)
    for prefix in ("", "/dedi"):
        app.router.add_get(prefix + "/lookup/{subscriber_id}/{key_id}", dedi_lookup)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_post("/participants", publish)
    app.router.add_post("/participants/status", set_status)
    app.router.add_get("/participants/{subscriber_id}/{key_id}/history", history)
    app.router.add_post("/institutions", publish_institution)
    app.router.add_get("/institutions", institutions)
    app.router.add_post("/revocations", revoke_credential)
    app.router.add_get("/revocations/{credential_id}", credential_status)
    return app
