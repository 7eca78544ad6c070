"""The benchmark entry point: bare aiohttp vs the verified BPP ACK path, then discover.

``.venv/bin/python bench/run.py [--duration 10] [--connections 32] [--runs 3] [--redis]``

1. Starts, each in its own process: a callback sink (``bench.bare_app``, standing in
   for the BAP), the bare aiohttp baseline and the BPP node under test (pinned to
   CPU 0; with ``--redis`` the node keeps its replay guard, outbox and caches in a
   private ``redis-server`` on a free loopback port).
2. Pre-generates distinct signed ``select`` requests (sized from a warm-up run), then
   alternates wrk runs against the bare app and the node (wrk on CPU 1), waiting
   after each node run until every callback reached the sink.
3. Measures single-connection latency of both, then the discover round trip
   (``bench.discover_rtt``), and prints the summary table (``bench/report.py``).
``--profile`` adds one untimed cProfile run of the node and prints its top costs.
"""

from __future__ import annotations

import argparse
import json
import math
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bpp_server import BAP_KEY_ID, node_config  # noqa: E402
from bench.discover_rtt import DiscoverResult  # noqa: E402
from bench.loadgen import WrkResult, require_wrk, run_wrk  # noqa: E402
from bench.processes import ROOT, Child, cpu_seconds, pin_self, start_child  # noqa: E402
from bench.report import Round, Summary, machine, render  # noqa: E402
from bench.signed_requests import NETWORK, RequestProfile, write_requests  # noqa: E402
from iesnode.testing import generate_signing_key  # noqa: E402

__all__ = ["main"]

SERVER_CPUS = "0"
BAP_ID = "bap.bench.ies"
BPP_ID = "bpp.bench.ies"


def _sink_posts(sink: Child) -> int:
    with urllib.request.urlopen(sink.url + "/stats", timeout=5) as reply:
        posts: int = json.loads(reply.read())["posts"]
        return posts


def _drain(sink: Child, expected: int, timeout: float = 60.0) -> int:
    """Wait until the sink has received ``expected`` callbacks (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    posts = _sink_posts(sink)
    while posts < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        posts = _sink_posts(sink)
    return posts


def _timed(
    child: Child, path: str, requests: Path, seconds: float, connections: int, cpus: str | None
) -> tuple[WrkResult, float]:
    """One wrk run against ``child``; also the cores ``child`` used meanwhile."""
    before, started = cpu_seconds(child.pid), time.monotonic()
    result = run_wrk(
        child.url + path, requests, seconds=seconds, connections=connections, cpus=cpus
    )
    wall = time.monotonic() - started
    return result, (cpu_seconds(child.pid) - before) / wall


@contextmanager
def _redis(enabled: bool) -> Iterator[str | None]:
    if not enabled:
        yield None
        return
    from tests.redis_server import redis_server

    with redis_server() as url:
        yield url


def _warnings(log: Path) -> int:
    count = 0
    for line in log.read_text().splitlines():
        try:
            level = json.loads(line).get("level", "")
        except ValueError:
            level = "unparsed"
        count += level != "debug" and level != "info"
    return count


def _profile(args: argparse.Namespace, workdir: Path, config: Path, sink: Child) -> None:
    """One untimed cProfile run of a fresh node; print the top costs."""
    out = workdir / "node.prof"
    node = start_child(
        "node-profiled",
        "bench.bpp_server",
        ["--config", str(config), "--profile", str(out)],
        workdir,
        SERVER_CPUS,
    )
    try:
        requests = workdir / "profile.txt"
        write_requests(_profile_of(sink, node), requests, 30_000)
        run_wrk(node.url + "/select", requests, seconds=5, connections=args.connections)
        time.sleep(2)
    finally:
        node.stop()
    stats = pstats.Stats(str(out))
    print(f"\ncProfile of the node's ACK path ({out}), top 25 by own time:")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def _profile_of(sink: Child, node: Child) -> RequestProfile:
    return RequestProfile(
        bap_id=BAP_ID,
        bap_key_id=BAP_KEY_ID,
        bap_private_key=_BAP_KEY[0],
        bap_uri=sink.url,
        bpp_id=BPP_ID,
        bpp_uri=node.url,
    )


_BAP_KEY = generate_signing_key()


def _discover(count: int, cpus: str | None) -> DiscoverResult:
    command = [sys.executable, "-m", "bench.discover_rtt", "--count", str(count)]
    if cpus is not None:
        command = ["taskset", "--cpu-list", cpus, *command]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return DiscoverResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3, help="runs per server (medians)")
    parser.add_argument("--redis", action="store_true", help="node state in a private Redis")
    parser.add_argument("--discovers", type=int, default=200)
    parser.add_argument("--single-duration", type=float, default=3.0)
    parser.add_argument("--profile", action="store_true", help="add an untimed cProfile run")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args()


def _measure(args: argparse.Namespace, workdir: Path, stack: ExitStack) -> Summary:
    server_cpus, load_cpus = (None, None) if args.no_pin else (SERVER_CPUS, "1")
    redis_url = stack.enter_context(_redis(args.redis))
    bpp_private, _ = generate_signing_key()
    sink = start_child("sink", "bench.bare_app", [], workdir, None)
    stack.callback(sink.stop)
    bare = start_child("bare", "bench.bare_app", [], workdir, server_cpus)
    stack.callback(bare.stop)
    config = workdir / "node.json"
    config.write_text(
        json.dumps(
            node_config(
                subscriber_id=BPP_ID,
                private_key=bpp_private,
                bap_id=BAP_ID,
                bap_public_key=_BAP_KEY[1],
                bap_url=sink.url,
                network=NETWORK,
                redis_url=redis_url,
            )
        )
    )
    node = start_child("node", "bench.bpp_server", ["--config", str(config)], workdir, server_cpus)
    stack.callback(node.stop)
    profile = _profile_of(sink, node)
    c, secs = args.connections, args.duration
    warm = workdir / "warmup.txt"
    print("generating warm-up requests ...", flush=True)
    write_requests(profile, warm, 20_000)
    run_wrk(bare.url + "/select", warm, seconds=2, connections=c, cpus=load_cpus)
    probe = run_wrk(node.url + "/select", warm, seconds=2, connections=c, cpus=load_cpus)
    acked = probe.ok
    per_run = max(20_000, math.ceil(probe.ok_per_second * secs * 2.0))
    rounds: list[Round] = []
    for i in range(args.runs):
        _drain(sink, acked)
        requests = workdir / f"run{i}.txt"
        print(f"round {i + 1}/{args.runs}: generating {per_run:,} signed requests ...", flush=True)
        write_requests(profile, requests, per_run)
        b, b_cpu = _timed(bare, "/select", warm, secs, c, load_cpus)
        n, n_cpu = _timed(node, "/select", requests, secs, c, load_cpus)
        acked += n.ok
        rounds.append(Round(b, n, b_cpu, n_cpu))
        print(
            f"  bare {b.ok_per_second:,.0f}/s p99 {b.p99_ms:.2f} ms | node "
            f"{n.ok_per_second:,.0f}/s p99 {n.p99_ms:.2f} ms non-200 {n.non_200}",
            flush=True,
        )
        requests.unlink()
    _drain(sink, acked)
    single = workdir / "single.txt"
    write_requests(profile, single, 20_000)
    bare_single, _ = _timed(bare, "/select", warm, args.single_duration, 1, load_cpus)
    node_single, _ = _timed(node, "/select", single, args.single_duration, 1, load_cpus)
    acked += node_single.ok
    delivered = _drain(sink, acked)
    print("discover round trips ...", flush=True)
    discover = _discover(args.discovers, server_cpus)
    if args.profile:
        _profile(args, workdir, config, sink)
    node.stop()
    return Summary(
        connections=c,
        seconds=secs,
        redis=args.redis,
        rounds=rounds,
        bare_single=bare_single,
        node_single=node_single,
        discover=discover,
        callbacks_delivered=delivered,
        acks_total=acked,
        node_warnings=_warnings(node.log),
    )


def main() -> int:
    """Run everything; print the summary table; 0 when every answer was an ACK."""
    args = _parse()
    require_wrk()
    if not args.no_pin and not pin_self({1}):
        args.no_pin = True
    info = machine()
    workdir = Path(tempfile.mkdtemp(prefix="iesnode-bench-"))
    try:
        with ExitStack() as stack:
            summary = _measure(args, workdir, stack)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(render(summary, info))
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": info, **asdict(summary)}, indent=2))
    bad = sum(r.node.non_200 + r.node.socket_errors + r.node.wrapped for r in summary.rounds)
    return 0 if bad == 0 and summary.discover.complete == summary.discover.count else 1


if __name__ == "__main__":
    raise SystemExit(main())
