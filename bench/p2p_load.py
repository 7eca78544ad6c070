"""The P2P bench's load generator: a buyer trading platform driving trades, in its own process.

``python -m bench.p2p_load CONFIG.json`` starts the buyer platform's node (a
``buyer_platform`` role file as JSON, plus a ``bench`` table naming the seller platform,
the buyer's DISCOM and a trivial BPP), finds the seller's offer once, prints its
``listening on`` line and then obeys one command per stdin line, answering each with one
``BENCH {json}`` line:

* ``trades N SECONDS``: N buyers in a closed loop, each trade the buyer platform's whole
  flow (``research/energy-domain.md`` §2.2, phases 2-3): ``select`` -> ``init`` ->
  ``confirm`` at the seller platform (whose ``confirm`` blocks on its write to the seller
  DISCOM's ledger provider), then the buyer's own ledger write (``confirm`` to the buyer
  DISCOM's provider). Five signed request/callback round trips per trade.
* ``roundtrips N SECONDS``: N loops of one signed ``select`` -> ``on_select`` against a
  BPP whose handler does nothing (``bench.bpp_server``): the floor a round trip costs.
* ``stats``: the trades confirmed since the start (warm-up and windows included);
* ``quit``.

A trade counts when both ledgers answered with their records; rates and latencies are
of the trades completed inside the window. Errors are counted by exception type, never retried.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from iesnode.log import configure_logging
from iesnode.node import Node, build
from iesnode.protocol.roles.bap import Peer
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.peers import bap_client, peer
from iesnode.usecases.p2p.process import load_role

__all__ = ["main", "percentile"]

TTL = 30.0


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, round(q * len(ranked)) - 1))]


class Load:
    """The buyer platform's node and what a trade needs, found once."""

    def __init__(self, node: Node, buyer: BuyerPlatform, bench: dict[str, Any]) -> None:
        self.node = node
        self.buyer = buyer
        self.bench = bench
        self.drafts: dict[int, dict[str, Any]] = {}
        self.started = 0
        self.seller = Peer("", "")
        self.ledger = Peer("", "")
        self.trivial = Peer("", "")
        self.completed = 0
        """Trades both ledgers confirmed, over the process's life (window or not)."""

    async def prepare(self) -> None:
        """Find the offer and the peers; the contract a trade orders in each slot."""
        self.seller = await peer(self.node, self.bench["seller"])
        self.ledger = await peer(self.node, self.bench["buyer_discom"])
        self.trivial = await peer(self.node, self.bench["trivial_bpp"])
        found = (await self.buyer.discover(to=self.seller, ttl=10, sellers=1))[0]
        for n, slot in enumerate(found.offer.slots):
            order = {slot.start: self.bench["wh"]}
            contract = await self.buyer.order(found, self.bench["meter"], order)
            self.drafts[n] = {"contract": contract.to_wire()}

    async def trade(self) -> float:
        """One whole trade; the seconds its ``confirm`` took (both ledger writes done)."""
        bap = bap_client(self.node)
        draft = self.drafts[self.started // self.bench["per_slot"]]  # next slot once sold out
        self.started += 1
        on_select = await bap.select(self.seller, draft, ttl=TTL)
        on_init = await bap.init(on_select, {"contract": on_select.message["contract"]}, ttl=TTL)
        started = time.perf_counter()
        on_confirm = await bap.confirm(on_init, {"contract": on_init.message["contract"]}, ttl=TTL)
        confirmed = time.perf_counter() - started
        if not read_records(on_confirm.message):
            raise RuntimeError("on_confirm without the seller ledger's records")
        written = await bap.confirm(
            self.ledger,
            {"contract": on_confirm.message["contract"]},
            transaction_id=on_confirm.context.transaction_id,
            ttl=TTL,
        )
        if not read_records(written.message):
            raise RuntimeError("the buyer's ledger answered without records")
        self.completed += 1
        return confirmed

    async def roundtrip(self) -> float:
        """One signed select (a trade's draft) -> on_select with the trivial BPP.

        On a network of its own, which no policy pack governs (``--policy`` or not).
        """
        bap = bap_client(self.node, network_id=self.bench["bare_network"])
        await bap.select(self.trivial, self.drafts[0], ttl=TTL)
        return 0.0

    async def run(self, kind: str, workers: int, seconds: float) -> dict[str, Any]:
        """``workers`` closed loops of ``kind`` for ``seconds``; counts and latencies."""
        step = self.trade if kind == "trades" else self.roundtrip
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        done: list[float] = []
        inner: list[float] = []
        errors: Counter[str] = Counter()
        first_error: list[str] = []

        async def worker() -> None:
            while loop.time() < end:
                started = time.perf_counter()
                try:
                    confirm = await step()
                except Exception as exc:
                    errors[type(exc).__name__] += 1
                    first_error[:] = first_error or [str(exc)[:300]]
                    continue
                if loop.time() <= end:
                    done.append(time.perf_counter() - started)
                    inner.append(confirm)

        began = loop.time()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = loop.time() - began
        return {
            "kind": kind,
            "workers": workers,
            "seconds": elapsed,
            "count": len(done),
            "rate": len(done) / seconds,
            "p50_ms": percentile(done, 0.5) * 1000,
            "p99_ms": percentile(done, 0.99) * 1000,
            "confirm_p50_ms": percentile(inner, 0.5) * 1000,
            "confirm_p99_ms": percentile(inner, 0.99) * 1000,
            "errors": dict(errors),
            "first_error": first_error[0] if first_error else None,
            "completed_total": self.completed,
        }


async def serve(config: dict[str, Any]) -> None:
    """Start, prepare, then answer commands until ``quit`` or end of input."""
    bench = config.pop("bench")
    settings, role = load_role(config)
    assert isinstance(role, BuyerPlatform)
    node = build(settings, handlers=role.handlers)
    async with node:
        await role.start(node)
        load = Load(node, role, bench)
        await load.prepare()
        print(f"p2p load generator listening on {node.public_url}", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            words = line.split()
            if not words or words[0] == "quit":
                break
            if words[0] == "stats":
                print("BENCH " + json.dumps({"completed_total": load.completed}), flush=True)
                continue
            result = await load.run(words[0], int(words[1]), float(words[2]))
            print("BENCH " + json.dumps(result), flush=True)


def main() -> int:
    """Command-line entry point."""
    configure_logging(json=True, level="WARNING")
    asyncio.run(serve(json.loads(Path(sys.argv[1]).read_text("utf-8"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
