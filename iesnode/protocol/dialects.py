"""Read Beckn v2.0, v1.1 and v0.9 envelopes into one canonical model and write them back.

Field names follow the specs of record: v2 camelCase context (Beckn v2.0.0 LTS
``Context``), v1.1 snake_case with ``location.city.code`` (Beckn v1.1.1
``Context.yaml``), v0.9 flat ``city``/``country``/``core_version``. Dialect
detection looks at the context's keys and ``version``; callers validate the
envelope against the dialect's JSON Schema before reading it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iesnode.errors import RequestRejected
from iesnode.model.envelope import Context, Dialect, Envelope, ErrorDetail

__all__ = ["detect_dialect", "read_envelope", "write_envelope"]

_V2_FIELDS = {
    "action": "action",
    "version": "version",
    "transactionId": "transaction_id",
    "messageId": "message_id",
    "timestamp": "timestamp",
    "ttl": "ttl",
    "networkId": "network_id",
    "domain": "domain",
    "bapId": "bap_id",
    "bapUri": "bap_uri",
    "bppId": "bpp_id",
    "bppUri": "bpp_uri",
    "key": "key",
}
_V1_FIELDS = {
    "action": "action",
    "version": "version",
    "core_version": "version",
    "transaction_id": "transaction_id",
    "message_id": "message_id",
    "timestamp": "timestamp",
    "ttl": "ttl",
    "domain": "domain",
    "bap_id": "bap_id",
    "bap_uri": "bap_uri",
    "bpp_id": "bpp_id",
    "bpp_uri": "bpp_uri",
    "key": "key",
}


def detect_dialect(doc: Any) -> Dialect:
    """Tell which dialect a decoded body speaks, from its context keys and version."""
    if not isinstance(doc, dict):
        raise RequestRejected("SCH_INVALID_BODY", "body must be a JSON object", path="$")
    ctx = doc.get("context")
    if not isinstance(ctx, dict):
        raise RequestRejected(
            "CTX_MISSING_FIELD", "context is required and must be an object", path="context"
        )
    version = ctx.get("version")
    if (
        "transactionId" in ctx
        or "messageId" in ctx
        or (isinstance(version, str) and version.startswith("2"))
    ):
        return Dialect.V2
    if "core_version" in ctx or ("location" not in ctx and ("city" in ctx or "country" in ctx)):
        return Dialect.V09
    return Dialect.V1


def _code(value: Any) -> str | None:
    if isinstance(value, dict):
        code = value.get("code")
        return code if isinstance(code, str) else None
    return value if isinstance(value, str) else None


def _read_error(raw: Any) -> ErrorDetail | None:
    if not isinstance(raw, dict):
        return None
    code = raw.get("code", raw.get("errorCode", ""))
    message = raw.get("message", raw.get("errorMessage", ""))
    path = raw.get("path", raw.get("paths"))
    return ErrorDetail(
        code=str(code), message=str(message), path=None if path is None else str(path)
    )


def read_envelope(doc: dict[str, Any], dialect: Dialect | None = None) -> Envelope:
    """Turn a schema-valid body into the canonical :class:`Envelope`."""
    dialect = dialect or detect_dialect(doc)
    ctx: dict[str, Any] = doc["context"]
    names = _V2_FIELDS if dialect is Dialect.V2 else _V1_FIELDS
    fields: dict[str, Any] = {"dialect": dialect}
    extra: dict[str, Any] = {}
    for key, value in ctx.items():
        name = names.get(key)
        if name is not None:
            fields[name] = value
        elif key == "location" and isinstance(value, dict):
            fields["city"] = _code(value.get("city"))
            fields["country"] = _code(value.get("country"))
            extra["location"] = value
        elif key in ("city", "country") and dialect is Dialect.V09:
            fields[key] = _code(value)
        else:
            extra[key] = value
    fields["extra"] = extra
    try:
        fields["timestamp"] = datetime.fromisoformat(str(fields["timestamp"]))
    except (KeyError, ValueError) as exc:
        raise RequestRejected(
            "CTX_INVALID_FIELD", "timestamp must be an RFC 3339 date-time", path="context.timestamp"
        ) from exc
    message = doc.get("message")
    return Envelope(
        context=Context(**fields),
        message=message if isinstance(message, dict) else None,
        error=_read_error(doc.get("error")),
    )


def _timestamp(moment: datetime) -> str:
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _write_location(ctx: Context) -> dict[str, Any]:
    """v0.9 writes flat city/country; v1.1 and v2 write ``location.{city,country}.code``."""
    if ctx.dialect is Dialect.V09 and "location" not in ctx.extra:
        return {k: v for k, v in (("city", ctx.city), ("country", ctx.country)) if v is not None}
    location = ctx.extra.get("location")
    if location is None and ctx.city is None and ctx.country is None:
        return {}
    loc = dict(location) if isinstance(location, dict) else {}
    if ctx.city is not None:
        loc["city"] = {**(loc.get("city") or {}), "code": ctx.city}
    if ctx.country is not None:
        loc["country"] = {**(loc.get("country") or {}), "code": ctx.country}
    return {"location": loc}


def _write_context(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ctx.dialect is Dialect.V2:
        names = {v: k for k, v in _V2_FIELDS.items()}
    else:
        names = {v: k for k, v in _V1_FIELDS.items() if k != "core_version"}
        if ctx.dialect is Dialect.V09:
            names["version"] = "core_version"
    values = ctx.model_dump(exclude={"dialect", "extra", "city", "country"})
    values["timestamp"] = _timestamp(ctx.timestamp)
    for name, value in values.items():
        if value is not None:
            out[names[name]] = value
    out.update(_write_location(ctx))
    for key, value in ctx.extra.items():
        if key != "location":
            out.setdefault(key, value)
    return out


def write_envelope(envelope: Envelope) -> dict[str, Any]:
    """Render an envelope in its context's dialect (a plain dict, ready for JSON)."""
    doc: dict[str, Any] = {"context": _write_context(envelope.context)}
    if envelope.message is not None:
        doc["message"] = envelope.message
    if envelope.error is not None:
        err = envelope.error
        if envelope.context.dialect is Dialect.V2:
            doc["error"] = {"code": err.code, "message": err.message}
            if err.path is not None:
                doc["error"]["path"] = err.path
        else:
            doc["error"] = {"code": err.code, "message": err.message}
            if err.path is not None:
                doc["error"]["paths"] = err.path
    return doc
