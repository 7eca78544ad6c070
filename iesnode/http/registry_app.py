"""The registry service's HTTP API (``iesnode registry serve``).

Reads: Beckn v1.1.1 ``POST /lookup`` with filters and key-id aliases; DeDi-style
``GET /lookup/{subscriber_id}/{key_id}`` (also under ``/dedi``) answering 404 for
unknown and 410 for revoked or suspended keys; ``GET /lookup?role=&networkId=...``;
``GET /revocations/{credential_id}`` (200 revoked, 404 not). Every read takes
``as_on`` (RFC 3339 with its offset, or epoch seconds, in the years 1 to 9999) to answer as of that
moment.
Writes (all signed, see :mod:`iesnode.registry.governance`): ``POST /subscribe``,
``POST /participants``, ``POST /participants/status``, ``POST /revocations``,
``POST /institutions`` (read with ``GET /institutions``).
Errors answer ``{"error": {code, message, path}}``, as do unknown routes and methods
(404/405 ``CTX_UNKNOWN_ACTION``) and bodies over 1 MiB (413 ``SCH_PAYLOAD_TOO_LARGE``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from iesnode.errors import AuthError, ProtocolError, RequestRejected
from iesnode.registry.service import RegistryService
from iesnode.registry.write_requests import json_object

__all__ = ["SERVICE", "make_registry_app"]

SERVICE: web.AppKey[RegistryService] = web.AppKey("registry_service")
log = structlog.get_logger(__name__)
_V1_KEY_ALIASES = ("unique_key_id", "ukId", "key_id", "pub_key_id", "keyId")
_MAX_BODY = 1_048_576


def _error(status: int, code: str, message: str, path: str | None) -> web.Response:
    body = {"error": {"code": code, "message": message, "path": path}}
    return web.json_response(body, status=status)


_HTTP_REFUSALS = {
    404: ("CTX_UNKNOWN_ACTION", "$path"),
    405: ("CTX_UNKNOWN_ACTION", "$path"),
    413: ("SCH_PAYLOAD_TOO_LARGE", "$"),
}
"""Refusals aiohttp raises itself: no such route, wrong method, body over the limit."""
_EARLIEST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
_V1_FILTERS = (
    "subscriber_id",
    *_V1_KEY_ALIASES,
    *("type", "network_id", "networkId", "domain", "city", "country", "status"),
)


def _http_refusal(request: web.Request, exc: web.HTTPException) -> web.Response:
    """One of aiohttp's own refusals in the registry's error shape."""
    code, path = _HTTP_REFUSALS[exc.status]
    if exc.status == 413:
        message = f"body is over the limit of {_MAX_BODY} bytes"
    else:
        message = f"no endpoint {request.method} {request.path}"
    log.info("registry_refused", code=code, path=path, reason=message)
    response = _error(exc.status, code, message, path)
    if "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


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
    except web.HTTPException as exc:
        if exc.status not in _HTTP_REFUSALS:
            raise
        return _http_refusal(request, exc)
    except Exception:
        log.exception("registry_request_failed", path=request.path)
        return _error(500, "INTERNAL_ERROR", "the registry failed to process the request", None)


def _moment(raw: Any) -> float | None:
    """Epoch seconds from epoch seconds or an RFC 3339 time, or None."""
    if isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError, OverflowError):
        pass
    try:
        moment = datetime.fromisoformat(str(raw))
        # RFC 3339 times carry their offset: a local time would depend on the server's zone
        return None if moment.tzinfo is None else moment.timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _as_on(raw: Any) -> float | None:
    """``as_on`` (absent: now), a moment in the years 1 to 9999 (NaN and infinities are not)."""
    if raw is None or raw == "":
        return None
    moment = _moment(raw)
    if moment is None or not _EARLIEST <= moment <= _LATEST:
        raise RequestRejected(
            "SCH_VALIDATION_FAILED",
            "as_on must be RFC 3339 (with an offset) or epoch seconds, in the years 1 to 9999",
            path="as_on",
        )
    return moment


async def _lookup_body(request: web.Request) -> dict[str, Any]:
    """The v1 lookup body: a JSON object whose filters, where given, are strings."""
    doc = json_object(await request.read())
    for name in _V1_FILTERS:
        if doc.get(name) is not None and not isinstance(doc[name], str):
            raise RequestRejected("SCH_VALIDATION_FAILED", f"{name} must be a string", path=name)
    return doc


async def v1_lookup(request: web.Request) -> web.Response:
    """Beckn v1 ``POST /lookup``: a filter in, an array of Subscriptions out."""
    service = request.app[SERVICE]
    doc = await _lookup_body(request)
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
    app = web.Application(middlewares=[error_middleware], client_max_size=_MAX_BODY)
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
