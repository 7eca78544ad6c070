"""P2P trades confirmed per second, end to end, with every role in its own process.

``.venv/bin/python -m bench.p2p [--duration 5] [--levels 1,4,16] [--runs 3] [--redis]
[--policy] [--json FILE] [--keep]``

Processes (``bench.p2p_role``, the roles of ``iesnode.usecases.p2p.process``):

* the seller DISCOM's ledger provider (``BESCOM-KA``) and the buyer DISCOM's
  (``HESCOM-KA``), each on its own SQLite ledger (WAL, ``synchronous=FULL``);
* the seller trading platform, its trade journal in SQLite (``state_path``): its
  ``confirm`` blocks on the signed write to BESCOM's ledger provider;
* a trivial BPP (``bench.bpp_server``) for the round-trip baseline;
* the load generator, the buyer trading platform (``bench.p2p_load``): N closed-loop
  buyers, each trade select -> init -> confirm, then the buyer's own ledger write.

For each round and concurrency level it runs the trades for ``--duration`` seconds, then
bare signed ``select``/``on_select`` round trips for ``--rtt-duration`` seconds, reading
every child's CPU time around each. Before any child starts it measures the ledger alone:
``SqliteLedger.put`` of distinct trades per second in this process. After the run both
ledgers are opened, their chains verified and their rows counted against the trades the
load generator saw confirmed. ``--redis`` puts every role node's state in a private
``redis-server`` (durable jobs); ``--policy`` installs the P2P network policy pack in
every node. Medians over ``--runs`` rounds; exit code 0 only without errors and with
both ledgers holding exactly the confirmed trades.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bpp_server import node_config
from bench.p2p_setup import BUYER_DISCOM, SELLER_DISCOM, Children, Setup
from bench.processes import cpu_seconds
from iesnode.log import configure_logging
from iesnode.usecases.p2p.ledger import TradeDetail, TradeInput
from iesnode.usecases.p2p.ledger_sqlite import SqliteLedger
from tests.redis_server import redis_server

__all__ = ["main"]

ROLES = ("seller", "lp_seller", "lp_buyer", "buyer", "trivial")


async def _ledger_puts(path: Path, seconds: float) -> float:
    """Distinct trades ``SqliteLedger.put`` takes per second, one writer, in this process."""
    ledger = await SqliteLedger.open(path)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    count, began = 0, time.perf_counter()
    try:
        while time.perf_counter() - began < seconds:
            txn = f"baseline-{path.stem}-{count}"
            trade = TradeInput(
                transaction_id=txn, order_item_id="c1/0", platform_id_buyer="buyer.bench",
                platform_id_seller="seller.bench", discom_id_buyer=BUYER_DISCOM,
                discom_id_seller=SELLER_DISCOM, buyer_id="B1", seller_id="S1",
                trade_time=datetime.now(UTC), delivery_start=start,
                delivery_end=start + timedelta(hours=1), trade_details=(TradeDetail(1000),),
                price_paise_per_kwh=650, client_reference=f"{txn}/c1/0",
            )  # fmt: skip
            await ledger.put(trade, writer="seller.bench")
            count += 1
        return count / (time.perf_counter() - began)
    finally:
        await ledger.aclose()


async def _ledger_check(path: Path) -> dict[str, Any]:
    """Rows, chain verdict and distinct trades of a ledger file after the run."""
    ledger = await SqliteLedger.open(path)
    try:
        report = await ledger.verify()
        records = await ledger.get(reader=path.stem)
        return {"rows": report.rows, "ok": report.ok, "trades": len(records)}
    finally:
        await ledger.aclose()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _measure(children: Children, command: str) -> dict[str, Any]:
    """Run one load command; its result plus the cores each child used meanwhile."""
    before = {name: cpu_seconds(child.pid) for name, child in children.items()}
    began = time.monotonic()
    result = children.command(command)
    elapsed = time.monotonic() - began
    result["cores"] = {
        name: (cpu_seconds(child.pid) - before[name]) / elapsed for name, child in children.items()
    }
    return result


def _machine() -> dict[str, str]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    head = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return {
        "revision": head.stdout.strip() or "?",
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _render(levels: list[int], rounds: list[dict[str, Any]], puts: list[float]) -> str:
    lines = [
        "| buyers | trades/s | per run | confirm p50 ms | confirm p99 ms | trade p50 ms "
        "| trade p99 ms | signed round trips/s | 5 x trades / round trips "
        "| cores seller / LP-S / LP-B / buyer |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for level in levels:
        trades = [r["trades"] for r in rounds if r["level"] == level]
        rtts = [r["roundtrips"] for r in rounds if r["level"] == level]
        rate = _median([t["rate"] for t in trades])
        rtt = _median([t["rate"] for t in rtts])
        cores = " / ".join(
            f"{_median([t['cores'][n] for t in trades]):.2f}"
            for n in ("seller", "lp_seller", "lp_buyer", "buyer")
        )
        per_run = " / ".join(f"{t['rate']:.1f}" for t in trades)
        lines.append(
            f"| {level} | {rate:.1f} | {per_run} "
            f"| {_median([t['confirm_p50_ms'] for t in trades]):.1f} "
            f"| {_median([t['confirm_p99_ms'] for t in trades]):.1f} "
            f"| {_median([t['p50_ms'] for t in trades]):.1f} "
            f"| {_median([t['p99_ms'] for t in trades]):.1f} "
            f"| {rtt:.0f} | {5 * rate / rtt if rtt else 0:.2f} | {cores} |"
        )
    lines.append(
        f"\nLedger alone (`SqliteLedger.put`, one writer, in process): "
        f"{_median(puts):.0f} puts/s (per run {' / '.join(f'{p:.0f}' for p in puts)})."
    )
    return "\n".join(lines)


def main() -> int:
    """Run the bench; print the table; 0 if clean."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rtt-duration", type=float, default=3.0)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--policy", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    configure_logging(json=True, level="WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="iesnode-bench-p2p-"))
    started = time.monotonic()
    info = _machine()
    puts = [asyncio.run(_ledger_puts(workdir / f"baseline{n}.sqlite", 2.0)) for n in range(3)]
    rounds: list[dict[str, Any]] = []
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server()) if args.redis else None
        setup = Setup(workdir, redis_url=redis_url, policy=args.policy)
        children = stack.enter_context(setup.start(node_config))
        children.command("trades 4 2")  # warm-up, not reported
        for run in range(args.runs):
            for level in levels:
                trades = _measure(children, f"trades {level} {args.duration}")
                rtts = _measure(children, f"roundtrips {level} {args.rtt_duration}")
                rounds.append({"run": run, "level": level, "trades": trades, "roundtrips": rtts})
                why = trades["first_error"] or rtts["first_error"] or ""
                print(f"run {run} buyers {level}: {trades['rate']:.1f} trades/s, "
                      f"{rtts['rate']:.0f} round trips/s, errors {trades['errors']} "
                      f"{rtts['errors']} {why}", file=sys.stderr, flush=True)  # fmt: skip
        confirmed = children.command("stats")["completed_total"]
    ledgers = {
        name: asyncio.run(_ledger_check(workdir / f"{name}.sqlite"))
        for name in (SELLER_DISCOM, BUYER_DISCOM)
    }
    errors = sum(sum(r[k]["errors"].values()) for r in rounds for k in ("trades", "roundtrips"))
    clean = errors == 0 and all(
        v["ok"] and v["rows"] == v["trades"] == confirmed for v in ledgers.values()
    )
    state = ("Redis" if args.redis else "in memory") + (", P2P policy pack" if args.policy else "")
    print(f"\nP2P trades end to end ({state}; {args.runs} x {args.duration:g} s per level):\n")
    print(_render(levels, rounds, puts))
    print(f"\nConfirmed trades seen by the buyer: {confirmed}; ledgers: {json.dumps(ledgers)}")
    print(f"Errors: {errors}. Wall time {time.monotonic() - started:.0f} s. Machine: {info}")
    if args.json is not None:
        doc: dict[str, Any] = {"machine": info, "args": vars(args), "puts": puts}
        doc |= {"rounds": rounds, "ledgers": ledgers, "confirmed": confirmed, "errors": errors}
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
