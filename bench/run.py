"""The benchmark entry point: bare aiohttp vs the verified BPP ACK path, then discover.

``.venv/bin/python bench/run.py [--duration 10] [--connections 32] [--runs 3] [--redis]``

1. Starts, each in its own process: a callback sink (``bench.bare_app`` standing in
   for the BAP), the bare aiohttp baseline, a BPP node doing only the ACK path (its
   outbox worker idle) and a full BPP node (ACK, then handler and signed callback to
   the sink). Servers are pinned to CPU 0; with ``--redis`` both nodes keep replay
   guard, outbox and caches in a private ``redis-server`` (one database each).
2. Pre-generates distinct signed ``select`` requests (sized from a warm-up run), then
   runs rounds of wrk (CPU 1) against bare, ACK-only node and full node in turn,
   waiting before each round until every callback of the last one reached the sink.
3. Measures single-connection latency of each server, the discover round trip
   (``bench.discover_rtt``), and prints the summary table (``bench/report.py``).
   ``--profile`` adds an untimed py-spy (or cProfile) sample of the full node.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bpp_server import BAP_KEY_ID, node_config
from bench.discover_rtt import DiscoverResult
from bench.loadgen import WrkResult, require_wrk, run_wrk
from bench.processes import ROOT, Child, cpu_seconds, pin_self, start_child
from bench.profiling import PySpy, py_spy, summarize_collapsed, summarize_cprofile
from bench.report import Round, Summary, machine, render
from bench.signed_requests import NETWORK, RequestProfile, write_requests
from iesnode.testing import generate_signing_key

__all__ = ["main"]

SERVER_CPUS = "0"
LOAD_CPUS = "1"
BAP_ID = "bap.bench.ies"
BPP_ID = "bpp.bench.ies"


@dataclass(frozen=True, slots=True)
class _Setup:
    """The running processes and what the request generator needs to know."""

    workdir: Path
    sink: Child
    servers: dict[str, Child]
    profile: RequestProfile
    configs: dict[str, Path]
    server_cpus: str | None
    load_cpus: str | None


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
    child: Child, requests: Path, seconds: float, connections: int, cpus: str | None
) -> tuple[WrkResult, float]:
    """One wrk run against ``child``; also the cores ``child`` used meanwhile."""
    before, started = cpu_seconds(child.pid), time.monotonic()
    result = run_wrk(
        child.url + "/select", requests, seconds=seconds, connections=connections, cpus=cpus
    )
    return result, (cpu_seconds(child.pid) - before) / (time.monotonic() - started)


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
        count += level not in ("debug", "info")
    return count


def _start(args: argparse.Namespace, workdir: Path, stack: ExitStack) -> _Setup:
    server_cpus, load_cpus = (None, None) if args.no_pin else (SERVER_CPUS, LOAD_CPUS)
    redis_url = stack.enter_context(_redis(args.redis))
    bap_private, bap_public = generate_signing_key()
    bpp_private, _ = generate_signing_key()
    sink = start_child("sink", "bench.bare_app", [], workdir, None)
    stack.callback(sink.stop)
    servers = {"bare": start_child("bare", "bench.bare_app", [], workdir, server_cpus)}
    stack.callback(servers["bare"].stop)
    configs: dict[str, Path] = {}
    for name, database in (("ack", 1), ("node", 0)):
        configs[name] = workdir / f"{name}.json"
        config = node_config(
            subscriber_id=BPP_ID,
            private_key=bpp_private,
            bap_id=BAP_ID,
            bap_public_key=bap_public,
            bap_url=sink.url,
            network=NETWORK,
            redis_url=redis_url.rsplit("/", 1)[0] + f"/{database}" if redis_url else None,
            ack_only=name == "ack",
        )
        configs[name].write_text(json.dumps(config))
        args_ = ["--config", str(configs[name])]
        servers[name] = start_child(name, "bench.bpp_server", args_, workdir, server_cpus)
        stack.callback(servers[name].stop)
    profile = RequestProfile(
        bap_id=BAP_ID,
        bap_key_id=BAP_KEY_ID,
        bap_private_key=bap_private,
        bap_uri=sink.url,
        bpp_id=BPP_ID,
        bpp_uri=servers["node"].url,
    )
    return _Setup(workdir, sink, servers, profile, configs, server_cpus, load_cpus)


def _rounds(args: argparse.Namespace, s: _Setup) -> tuple[list[Round], int]:
    """Warm up, then ``args.runs`` rounds over every server; return them and the ACK count."""
    c, secs = args.connections, args.duration
    warm = s.workdir / "warmup.txt"
    print("warm-up ...", flush=True)
    write_requests(s.profile, warm, 20_000)
    probes = {
        k: run_wrk(v.url + "/select", warm, seconds=2, connections=c, cpus=s.load_cpus)
        for k, v in s.servers.items()
    }
    acked = probes["node"].ok
    fastest = max(probes["ack"].ok_per_second, probes["node"].ok_per_second)
    per_run = max(20_000, math.ceil(fastest * secs * 2.0))
    rounds: list[Round] = []
    for i in range(args.runs):
        _drain(s.sink, acked)
        requests = s.workdir / f"round{i}.txt"
        print(f"round {i + 1}/{args.runs}: {per_run:,} fresh signed requests ...", flush=True)
        write_requests(s.profile, requests, per_run)
        results: dict[str, WrkResult] = {}
        cores: dict[str, float] = {}
        callbacks = 0
        for name, child in s.servers.items():
            # The bare app ignores signatures, so it may replay the warm-up file.
            source = warm if name == "bare" else requests
            posts = _sink_posts(s.sink)
            results[name], cores[name] = _timed(child, source, secs, c, s.load_cpus)
            if name == "node":
                callbacks = _sink_posts(s.sink) - posts
        acked += results["node"].ok
        rounds.append(Round(results, cores, callbacks))
        print(
            "  "
            + " | ".join(
                f"{k} {v.ok_per_second:,.0f}/s p99 {v.p99_ms:.1f} ms" for k, v in results.items()
            ),
            flush=True,
        )
        requests.unlink()
    return rounds, acked


def _single(args: argparse.Namespace, s: _Setup) -> dict[str, WrkResult]:
    single = s.workdir / "single.txt"
    write_requests(s.profile, single, 20_000)
    out: dict[str, WrkResult] = {}
    for name, child in s.servers.items():
        source = s.workdir / "warmup.txt" if name == "bare" else single
        out[name], _ = _timed(child, source, args.single_duration, 1, s.load_cpus)
    return out


def _discover(count: int, cpus: str | None) -> DiscoverResult | None:
    """Run ``bench.discover_rtt`` in its own process; None (after its stderr) if it failed."""
    command = [sys.executable, "-m", "bench.discover_rtt", "--count", str(count)]
    if cpus is not None:
        command = ["taskset", "--cpu-list", cpus, *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        print(f"discover benchmark failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return None
    return DiscoverResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def _profile(args: argparse.Namespace, s: _Setup) -> str:
    """Sample a fresh node (``args.profile``: ack or node) under load, untimed."""
    seconds = 8.0
    use_spy = py_spy() is not None
    out = s.workdir / ("node.spy" if use_spy else "node.prof")
    extra = [] if use_spy else ["--profile", str(out)]
    node = start_child(
        "profiled",
        "bench.bpp_server",
        ["--config", str(s.configs[args.profile]), *extra],
        s.workdir,
        s.server_cpus,
    )
    try:
        requests = s.workdir / "profile.txt"
        write_requests(s.profile, requests, 40_000)
        spy = PySpy(node.pid, seconds, out) if use_spy else None
        run_wrk(
            node.url + "/select",
            requests,
            seconds=seconds,
            connections=args.connections,
            cpus=s.load_cpus,
        )
        if spy is not None:
            spy.wait()
    finally:
        node.stop()
    summary = summarize_collapsed(out) if use_spy else summarize_cprofile(out)
    return f"profile of the {args.profile!r} node under {args.connections} connections\n{summary}"


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3, help="rounds (medians are reported)")
    parser.add_argument("--redis", action="store_true", help="node state in a private Redis")
    parser.add_argument("--discovers", type=int, default=200)
    parser.add_argument("--single-duration", type=float, default=3.0)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="ack",
        choices=("ack", "node"),
        help="add an untimed py-spy (else cProfile) run of the ACK-only or the full node",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args()


def _measure(args: argparse.Namespace, workdir: Path) -> tuple[Summary, str]:
    with ExitStack() as stack:
        s = _start(args, workdir, stack)
        rounds, acked = _rounds(args, s)
        _drain(s.sink, acked)
        single = _single(args, s)
        acked += single["node"].ok
        delivered = _drain(s.sink, acked)
        for child in s.servers.values():
            child.stop()  # idle servers must not share the profiled node's Redis outbox
        warnings = sum(_warnings(s.servers[k].log) for k in ("ack", "node"))
        print("discover round trips ...", flush=True)
        discover = _discover(args.discovers, s.server_cpus)
        profile = _profile(args, s) if args.profile else ""
    summary = Summary(
        connections=args.connections,
        seconds=args.duration,
        redis=args.redis,
        pinned=not args.no_pin,
        rounds=rounds,
        single=single,
        discover=discover,
        callbacks_delivered=delivered,
        acks_total=acked,
        node_warnings=warnings,
    )
    return summary, profile


def main() -> int:
    """Run everything, print the summary; 0 when every answer was a 200 ACK."""
    args = _parse()
    require_wrk()
    if not args.no_pin and not pin_self({int(LOAD_CPUS)}):
        args.no_pin = True
    info = machine()
    workdir = Path(tempfile.mkdtemp(prefix="iesnode-bench-"))
    try:
        summary, profile = _measure(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if profile:
        print("\n" + profile)
    print("\n" + render(summary, info), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": info, **asdict(summary)}, indent=2))
    runs = [*(r for rnd in summary.rounds for r in rnd.results.values()), *summary.single.values()]
    failures = sum(r.non_200 + r.socket_errors for r in runs)
    d = summary.discover
    return 0 if failures == 0 and d is not None and d.complete == d.count else 1


if __name__ == "__main__":
    raise SystemExit(main())
