"""Per-step CPU cost of the node's ACK path, in one process, without HTTP.

The wrk runs say how fast the node is; this says where its time goes, with less
noise than a sampling profile: a real node is built (``iesnode.node.build``, the
ACK-only settings of ``bench.bpp_server``) and started, and distinct signed requests
go through the same steps ``iesnode.http.app.beckn_endpoint`` takes (the
``InboundVerifier`` steps of BECKN-006 in order, then ``Node.accept``), each step
timed on its own. Pure sub-steps (Ed25519 verify, header parsing, schema predicate,
envelope reading, ACK signing) are timed again in isolation on the same inputs.
What the table does not show (aiohttp's request parsing and response writing, the
middleware, structlog binding, Prometheus) is the rest of the per-request CPU time the
wrk run implies.

``python -m bench.ack_steps [--count 5000]`` prints one line per step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bench.bpp_server import BAP_KEY_ID, node_config, trivial_handlers
from bench.signed_requests import NETWORK, RequestProfile, write_requests
from iesnode.log import configure_logging
from iesnode.model.envelope import Dialect
from iesnode.node import Node, build
from iesnode.protocol.acks import ack_body
from iesnode.protocol.dialects import read_envelope
from iesnode.protocol.inbound import Exchange
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import load_verify_key, parse_authorization, verify_signature
from iesnode.settings import load_settings
from iesnode.testing import generate_signing_key

__all__ = ["measure_steps"]

T = TypeVar("T")


class _Clock:
    """Accumulates perf_counter time per step name."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def time(self, name: str, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = fn()
        self.seconds[name] += time.perf_counter() - started
        return value

    async def time_async(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        value = await fn()
        self.seconds[name] += time.perf_counter() - started
        return value


def _node(bap_public: str) -> Node:
    bpp_private, _ = generate_signing_key()
    config = node_config(
        subscriber_id="bpp.bench.ies",
        private_key=bpp_private,
        bap_id="bap.bench.ies",
        bap_public_key=bap_public,
        bap_url="http://127.0.0.1:9",
        network=NETWORK,
        ack_only=True,
    )
    return build(load_settings(config), handlers=trivial_handlers())


def _requests(bap_private: str, count: int) -> list[tuple[str, bytes]]:
    profile = RequestProfile(
        bap_id="bap.bench.ies",
        bap_key_id=BAP_KEY_ID,
        bap_private_key=bap_private,
        bap_uri="http://127.0.0.1:9",
        bpp_id="bpp.bench.ies",
        bpp_uri="http://127.0.0.1:9",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.txt"
        write_requests(profile, path, count)
        lines = path.read_bytes().splitlines()
    return [(auth.decode(), body) for auth, body in (x.split(b"\t", 1) for x in lines)]


async def _pipeline(node: Node, clock: _Clock, auth: str, body: bytes) -> None:
    v = node.verifier
    ex = Exchange(
        action="select",
        body=body,
        content_type="application/json",
        authorization=[auth],
        gateway_authorization=[],
        received_at=node.clock.now(),
    )

    def limits() -> None:
        v.check_size(ex)
        v.check_content_type(ex)

    def context() -> None:
        v.check_sender(ex, envelope)
        v.check_context(envelope)

    clock.time("size + content type", limits)
    await clock.time_async("verify_signatures (all)", lambda: v.verify_signatures(ex))
    doc: Any = clock.time("decode_json", lambda: v.decode_json(ex))
    envelope = clock.time("validate_schema (all)", lambda: v.validate_schema(ex, doc))
    clock.time("check_sender + check_context", context)
    await clock.time_async("check_replay", lambda: v.check_replay(ex, envelope))
    await clock.time_async("Node.accept (all)", lambda: node.accept(ex, envelope))
    assert ex.signature is not None
    assert ex.sender is not None
    header, key = ex.signature, load_verify_key(ex.sender.signing_public_key)
    clock.time("  parse_authorization", lambda: parse_authorization(auth))
    await clock.time_async(
        "  directory lookup", lambda: node.directory.lookup(header.subscriber_id, header.key_id)
    )
    clock.time("  Ed25519 verify (+ BLAKE2b)", lambda: verify_signature(body, header, key))
    schemas = _SCHEMAS
    clock.time("  schema predicate", lambda: schemas.validate(Dialect.V2, "select", doc))
    clock.time("  read_envelope (pydantic)", lambda: read_envelope(doc, Dialect.V2))
    clock.time(
        "  ack_body (Ed25519 sign)",
        lambda: ack_body(
            Dialect.V2,
            signer=node.signer,
            request_body=body,
            message_id=envelope.context.message_id,
            now=int(node.clock.now()),
        ),
    )


_SCHEMAS = SchemaRegistry.load()


async def measure_steps(count: int) -> dict[str, float]:
    """Microseconds per request of each step, over ``count`` distinct requests."""
    bap_private, bap_public = generate_signing_key()
    requests = _requests(bap_private, count)
    node = _node(bap_public)
    await node.start()
    clock = _Clock()
    try:
        for auth, body in requests[: min(200, count // 10)]:
            await _pipeline(node, _Clock(), auth, body)  # warm caches; not counted
        for auth, body in requests[min(200, count // 10) :]:
            await _pipeline(node, clock, auth, body)
    finally:
        await node.aclose()
    n = count - min(200, count // 10)
    return {name: seconds / n * 1e6 for name, seconds in clock.seconds.items()}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    configure_logging(json=True, level="WARNING")
    steps = asyncio.run(measure_steps(args.count))
    if args.json:
        print(json.dumps(steps))
        return
    total = sum(us for name, us in steps.items() if not name.startswith("  "))
    for name, us in steps.items():
        print(f"{us:8.1f} us  {name}")
    print(f"{total:8.1f} us  total of the steps above (indented lines are parts of them)")


if __name__ == "__main__":
    main()
