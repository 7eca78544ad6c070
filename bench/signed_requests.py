"""Pre-generated signed Beckn v2 ``select`` requests for the load generator.

The node's replay guard refuses a repeated (messageId, signature) pair (Beckn v2
signing, section 5), so a throughput run needs one distinct request per call. One
envelope is built with the node's own ``request_context``/``encode_envelope``; each
copy gets a fresh messageId and transactionId (plain text substitution of the two
UUIDs) and its own Ed25519 signature over BLAKE2b-512 of exactly those bytes
(BECKN-006). Lines are ``Authorization<TAB>body``: compact JSON holds no raw tab or
newline, so the Lua script can split them without a JSON parser.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iesnode.model.envelope import Dialect, Envelope
from iesnode.protocol.roles.envelopes import encode_envelope, request_context
from iesnode.protocol.signing import Signer

__all__ = [
    "NETWORK",
    "RequestProfile",
    "select_message",
    "template_body",
    "write_requests",
]

NETWORK: dict[str, str] = {
    "network_id": "ies.example/p2p-trading",
    "domain": "deg:p2p-energy-trading",
    "city": "std:080",
    "country": "IND",
}


@dataclass(frozen=True, slots=True)
class RequestProfile:
    """Who signs the requests, where they go and how long they stay valid."""

    bap_id: str
    bap_key_id: str
    bap_private_key: str
    """Base64 Ed25519 seed of the BAP."""
    bap_uri: str
    """The callback sink the BPP delivers ``on_select`` to."""
    bpp_id: str
    bpp_uri: str
    lifetime: int = 900
    """Seconds both the signature (``expires``) and the context ``ttl`` stay valid."""


def select_message() -> dict[str, Any]:
    """A small but realistic energy-trade order, as the demo's BAP sends it."""
    return {
        "contract": {
            "commitments": [
                {
                    "id": "c1",
                    "offer": {"id": "solar-a.demo.ies-offer-1"},
                    "quantity": {"unitCode": "KWH", "unitQuantity": 10.0},
                }
            ]
        }
    }


def template_body(profile: RequestProfile, now: float) -> tuple[bytes, str, str]:
    """One encoded select envelope and its (messageId, transactionId) to substitute."""
    ctx = request_context(
        dialect=Dialect.V2,
        action="select",
        bap_id=profile.bap_id,
        bap_uri=profile.bap_uri,
        now=now,
        ttl=float(profile.lifetime),
        bpp_id=profile.bpp_id,
        bpp_uri=profile.bpp_uri,
        **NETWORK,
    )
    body = encode_envelope(Envelope(context=ctx, message=select_message()))
    return body, ctx.message_id, ctx.transaction_id


def _write_chunk(profile: RequestProfile, path: str, count: int) -> int:
    now = time.time()
    template, message_id, transaction_id = template_body(profile, now)
    text = template.decode("utf-8")
    if text.count(message_id) != 1 or text.count(transaction_id) != 1:
        raise RuntimeError("template ids are not unique in the body")
    signer = Signer.from_base64(profile.bap_id, profile.bap_key_id, profile.bap_private_key)
    created = int(now)
    expires = created + profile.lifetime
    lines: list[str] = []
    for _ in range(count):
        body = text.replace(message_id, str(uuid.uuid4())).replace(
            transaction_id, str(uuid.uuid4())
        )
        auth = signer.sign(body.encode("utf-8"), created, expires)
        lines.append(f"{auth}\t{body}\n")
    Path(path).write_text("".join(lines), encoding="utf-8")
    return count


def write_requests(profile: RequestProfile, path: Path, count: int, workers: int = 0) -> int:
    """Write ``count`` distinct signed requests to ``path``, in parallel processes."""
    workers = workers or max(1, os.cpu_count() or 1)
    share = -(-count // workers)
    parts = [path.with_name(f"{path.name}.part{i}") for i in range(workers)]
    counts = [min(share, count - i * share) for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_write_chunk, profile, str(part), n)
            for part, n in zip(parts, counts, strict=True)
            if n > 0
        ]
        written = sum(f.result() for f in futures)
    with path.open("wb") as out:
        for part in parts:
            if part.exists():
                out.write(part.read_bytes())
                part.unlink()
    return written
