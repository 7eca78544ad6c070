"""Discover round trip: BAP -> gateway -> 3 BPPs -> gateway -> BAP, all on loopback.

One process runs :class:`iesnode.testing.LocalNetwork`: a gateway, three BPPs with
the demo's energy-offer handlers and a BAP, each a real aiohttp server with its own
Ed25519 key (so every hop is signed, verified and counter-signed; callbacks come back
relayed and re-signed by the gateway, BECKN-003). The BAP sends ``count`` discovers
one after another; each is timed from the moment the BAP starts building it to the
moment the third ``on_discover`` is in its hands. The ACK time of the first hop is
reported too. All five nodes share this process's event loop, hence one core.

``python -m bench.discover_rtt [--count 200]`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from contextlib import aclosing
from dataclasses import asdict, dataclass

from iesnode.demo import energy_provider
from iesnode.log import configure_logging
from iesnode.protocol.roles.bap_client import BapClient
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork

__all__ = ["DiscoverResult", "measure", "percentile"]

BPPS = 3
_INTENT = {"intent": {"textSearch": "solar energy"}}


@dataclass(frozen=True, slots=True)
class DiscoverResult:
    """Latencies of sequential discovers, in milliseconds."""

    count: int
    complete: int
    """Discovers that got all three ``on_discover`` before their ttl."""
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    ack_p50_ms: float
    ack_p99_ms: float


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


async def _one(bap: BapClient, ttl: float) -> tuple[float, float, int]:
    started = time.perf_counter()
    sent = await bap.send("discover", _INTENT, ttl=ttl)
    acked = time.perf_counter()
    seen = 0
    async with aclosing(bap.callbacks(sent)) as stream:
        async for _ in stream:
            seen += 1
            if seen == BPPS:
                break
    return acked - started, time.perf_counter() - started, seen


async def measure(count: int, warmup: int = 10, ttl: float = 2.0) -> DiscoverResult:
    """Run ``warmup`` untimed then ``count`` timed discovers through a fresh network."""
    async with LocalNetwork() as net:
        await net.add("gateway.bench.ies", NodeRole.GATEWAY)
        for i in range(BPPS):
            name = f"bpp-{i}.bench.ies"
            await net.add(name, NodeRole.BPP, handlers=energy_provider(name, 4.5 + i, 10.0))
        bap_node = await net.add("bap.bench.ies", NodeRole.BAP)
        acks: list[float] = []
        totals: list[float] = []
        async with bap_node.bap() as bap:
            for _ in range(warmup):
                await _one(bap, ttl)
            for _ in range(count):
                ack, total, seen = await _one(bap, ttl)
                acks.append(ack * 1000)
                if seen == BPPS:
                    totals.append(total * 1000)
    return DiscoverResult(
        count=count,
        complete=len(totals),
        p50_ms=percentile(totals, 50),
        p99_ms=percentile(totals, 99),
        mean_ms=statistics.fmean(totals) if totals else 0.0,
        max_ms=max(totals, default=0.0),
        ack_p50_ms=percentile(acks, 50),
        ack_p99_ms=percentile(acks, 99),
    )


def main() -> None:
    """Command-line entry point: print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    configure_logging(json=True, level="WARNING")
    result = asyncio.run(measure(args.count))
    print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main()
