"""Building outbound envelopes: new requests, solicited and unsolicited callbacks.

Correlation rules (Beckn v1.1.1 ``Context``; ``DESIGN.md`` section 4): the
transactionId stays constant across a flow, a request and its callbacks share the
messageId, and every unsolicited callback gets a new messageId.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from iesnode.model.envelope import Context, Dialect, Envelope, ErrorDetail
from iesnode.protocol.actions import callback_of, wire_name
from iesnode.protocol.dialects import write_envelope
from iesnode.protocol.duration import format_duration

__all__ = ["callback_envelope", "encode_envelope", "join_url", "new_id", "request_context"]

_VERSIONS = {Dialect.V2: "2.0.0", Dialect.V1: "1.1.0", Dialect.V09: "0.9.4"}


def new_id() -> str:
    """A fresh UUID for a messageId or transactionId."""
    return str(uuid.uuid4())


def join_url(base: str, action: str) -> str:
    """``http://host/beckn/`` + ``on_select`` -> ``http://host/beckn/on_select``."""
    return base.rstrip("/") + "/" + action


def encode_envelope(envelope: Envelope) -> bytes:
    """Compact JSON bytes in the envelope's dialect; these exact bytes get signed and sent."""
    doc = write_envelope(envelope)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def request_context(
    *,
    dialect: Dialect,
    action: str,
    bap_id: str,
    bap_uri: str,
    now: float,
    ttl: float,
    transaction_id: str | None = None,
    bpp_id: str | None = None,
    bpp_uri: str | None = None,
    network_id: str | None = None,
    domain: str | None = None,
    city: str | None = None,
    country: str | None = None,
) -> Context:
    """A new request context with a fresh messageId (and transactionId unless given)."""
    return Context(
        dialect=dialect,
        action=wire_name(action, dialect),
        version=_VERSIONS[dialect],
        transaction_id=transaction_id or new_id(),
        message_id=new_id(),
        timestamp=datetime.fromtimestamp(now, UTC),
        ttl=format_duration(round(ttl, 3)),
        network_id=network_id if dialect is Dialect.V2 else None,
        domain=domain,
        city=city,
        country=country,
        bap_id=bap_id,
        bap_uri=bap_uri,
        bpp_id=bpp_id,
        bpp_uri=bpp_uri,
    )


def callback_envelope(
    request: Context,
    *,
    action: str,
    bpp_id: str,
    bpp_uri: str,
    now: float,
    message: dict[str, Any] | None,
    error: ErrorDetail | None = None,
    solicited: bool = True,
) -> Envelope:
    """The ``on_*`` envelope answering ``request`` (same dialect, same transaction).

    ``action`` is the canonical request action (``select``); solicited callbacks keep
    the request's messageId, unsolicited ones get a new one.
    """
    context = request.model_copy(
        update={
            "action": wire_name(callback_of(action), request.dialect),
            "timestamp": datetime.fromtimestamp(now, UTC),
            "bpp_id": bpp_id,
            "bpp_uri": bpp_uri,
            "message_id": request.message_id if solicited else new_id(),
        }
    )
    return Envelope(context=context, message=message, error=error)
