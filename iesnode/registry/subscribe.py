"""The subscriber's half of joining a registry: the signed ``subscribe`` request.

Beckn v1.1.1 registry API ``POST /subscribe`` with a ``Subscription`` body (field names
as deployed registries use them, ``research/beckn-core.md`` section 3.2). The body is
signed with the very key it registers, which proves possession; the registry then
calls our ``/on_subscribe`` with an encrypted challenge (answered by
:mod:`iesnode.protocol.roles.subscriber`) before it answers this request with the
new status.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from nacl.public import PrivateKey

from iesnode.errors import NackReceived
from iesnode.interfaces import Clock, Transport
from iesnode.model.subscriber import Role
from iesnode.protocol.challenge import load_x25519_private_key
from iesnode.protocol.roles.envelopes import join_url
from iesnode.protocol.signing import Signer

__all__ = ["encryption_public_key", "subscribe", "subscription_body"]


def encryption_public_key(private_key_b64: str) -> str:
    """The base64 X25519 public key of a raw or PKCS#8 private key."""
    raw = load_x25519_private_key(private_key_b64)
    return base64.b64encode(bytes(PrivateKey(raw).public_key)).decode("ascii")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def subscription_body(
    *,
    signer: Signer,
    subscriber_url: str,
    role: Role,
    encryption_public_key: str,
    network_id: str,
    domains: Sequence[str] = (),
    city: str | None = None,
    country: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> bytes:
    """The exact bytes of a subscribe request for ``signer``'s key."""
    namespace, _, registry = network_id.partition("/")
    doc = {
        "subscriber_id": signer.subscriber_id,
        "unique_key_id": signer.key_id,
        "subscriber_url": subscriber_url,
        "type": role.value,
        "namespace": namespace,
        "registry": registry,
        "domain": list(domains),
        "city": city,
        "country": country,
        "signing_public_key": signer.public_key,
        "encr_public_key": encryption_public_key,
        "valid_from": _iso(valid_from),
        "valid_until": _iso(valid_until),
        "nonce": str(uuid.uuid4()),
    }
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode("utf-8")


async def subscribe(
    registry_url: str,
    body: bytes,
    *,
    signer: Signer,
    transport: Transport,
    clock: Clock,
    timeout: float = 15.0,
) -> str:
    """POST the signed subscribe request; return the status the registry answers."""
    url = join_url(registry_url, "subscribe")
    headers = {
        "Content-Type": "application/json",
        "Authorization": signer.sign(body, int(clock.now())),
    }
    reply = await transport.post(url, body, headers, timeout)
    try:
        doc = json.loads(reply.body)
    except ValueError:
        doc = {}
    if reply.status == 200 and isinstance(doc, dict) and isinstance(doc.get("status"), str):
        return str(doc["status"])
    error = doc.get("error", {}) if isinstance(doc, dict) else {}
    raise NackReceived(
        url,
        reply.status,
        error.get("code") if isinstance(error, dict) else None,
        str(error.get("message", "subscribe refused")) if isinstance(error, dict) else "",
        error.get("path") if isinstance(error, dict) else None,
    )
