"""Medians, the machine description and the summary table printed by ``bench/run.py``."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.discover_rtt import DiscoverResult
from bench.loadgen import WrkResult

__all__ = ["SERVERS", "Round", "Summary", "machine", "median_rate", "render"]

SERVERS: Mapping[str, str] = {
    "bare": "bare aiohttp",
    "ack": "BPP node, ACK path only",
    "node": "BPP node, ACK + callbacks",
}
"""Servers in the order each round runs them, with their table labels."""
TARGET_RATIO = 0.40
TARGET_P99_MS = 5.0
TARGET_DISCOVER_P50_MS = 5.0


@dataclass(frozen=True, slots=True)
class Round:
    """One wrk run per server, back to back, with the cores each server used meanwhile."""

    results: Mapping[str, WrkResult]
    cores: Mapping[str, float]
    """Cores of CPU time the server process used during its run (1.0 = all of one)."""
    callbacks: int
    """Callbacks the sink received while the full node's run lasted."""


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything one benchmark invocation measured."""

    connections: int
    seconds: float
    redis: bool
    pinned: bool
    rounds: Sequence[Round]
    single: Mapping[str, WrkResult]
    """One run per server at a single connection (service time, no queueing)."""
    discover: DiscoverResult | None
    """None when the discover benchmark failed."""
    callbacks_delivered: int
    acks_total: int
    node_warnings: int


def machine() -> dict[str, str]:
    """Git revision, nproc, CPU model, Python, aiohttp and wrk versions, load average."""
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(
        ["git", "-C", str(root), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "revision": head.stdout.strip() or "?",
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "wrk": (wrk.stdout or wrk.stderr).split(" [", 1)[0].strip(),
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def median_rate(rounds: Sequence[Round], server: str) -> float:
    """Median HTTP-200 rate of ``server`` over ``rounds``."""
    return _median([r.results[server].ok_per_second for r in rounds])


def _row(label: str, results: Sequence[WrkResult], cores: Sequence[float]) -> str:
    rate = _median([r.ok_per_second for r in results])
    p50 = _median([r.p50_ms for r in results])
    p99 = _median([r.p99_ms for r in results])
    bad = sum(r.non_200 for r in results)
    errors = sum(r.socket_errors for r in results)
    client = _median([r.client_cores for r in results])
    runs = " / ".join(f"{r.ok_per_second:,.0f}" for r in results)
    core = f"{_median(cores):5.2f}" if cores else "    -"
    return (
        f"  {label:<32} {rate:>7,.0f} {p50:>7.2f} {p99:>7.2f} {bad:>7} {errors:>6} {core} "
        f"{client:>5.2f}   {runs}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def render(s: Summary, info: dict[str, str]) -> str:
    """The summary table as text."""
    bare_rate = median_rate(s.rounds, "bare")
    ack_ratio = median_rate(s.rounds, "ack") / bare_rate if bare_rate else 0.0
    node_ratio = median_rate(s.rounds, "node") / bare_rate if bare_rate else 0.0
    pair_ratio = _median(
        [r.results["ack"].ok_per_second / r.results["bare"].ok_per_second for r in s.rounds]
    )
    callback_rate = _median([r.callbacks / r.results["node"].seconds for r in s.rounds])
    ack_p99 = _median([r.results["ack"].p99_ms for r in s.rounds])
    bare_p99 = _median([r.results["bare"].p99_ms for r in s.rounds])
    state = "Redis" if s.redis else "in-memory"
    pins = "server on CPU 0, wrk (1 thread) + callback sink on CPU 1" if s.pinned else "unpinned"
    header = (
        f"  {'server':<32} {'ACK/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'non-200':>7} "
        f"{'sock':>6} {'srv':>5} {'wrk':>5}   per-run ACK/s\n"
        f"  {'':<32} {'':>7} {'':>7} {'':>7} {'':>7} {'errors':>6} {'cores':>5} {'cores':>5}"
    )
    wrapped = sum(
        r.results[k].wrapped + (s.single[k].wrapped if k in s.single else 0)
        for r in s.rounds
        for k in ("ack", "node")
    )
    lines = [
        f"iesnode {info['revision']}; machine: {info['nproc']} x {info['cpu']}; "
        f"Python {info['python']}; aiohttp {info['aiohttp']}; {info['wrk']}; "
        f"load average at start {info['loadavg']}",
        f"ACK path: {len(s.rounds)} rounds x {s.seconds:g} s per server, {s.connections} "
        f"connections; {pins}; node state {state}; medians over rounds",
        "",
        header,
        *(
            _row(label, [r.results[key] for r in s.rounds], [r.cores[key] for r in s.rounds])
            for key, label in SERVERS.items()
        ),
        *(_row(f"{SERVERS[k]}, 1 conn", [v], []) for k, v in s.single.items()),
        "",
        *(
            [f"  WARNING: node runs ran out of distinct requests {wrapped} times (repeats NACKed)"]
            if wrapped
            else []
        ),
        f"  ACK path / bare: {ack_ratio:.2f}  [target >= {TARGET_RATIO:.2f}: "
        f"{_verdict(ack_ratio >= TARGET_RATIO)}]   median of per-round ratios: "
        f"{pair_ratio:.2f}   full node / bare: {node_ratio:.2f}",
        f"  ACK path p99 at {s.connections} connections: {ack_p99:.2f} ms  [target < "
        f"{TARGET_P99_MS:g} ms: {_verdict(ack_p99 < TARGET_P99_MS)}]   bare p99: {bare_p99:.2f} ms",
        f"  full node: callbacks delivered during its runs {callback_rate:,.0f}/s (median); "
        f"the worker's backlog is drained before each round",
        f"  callbacks delivered to the sink: {s.callbacks_delivered:,} for {s.acks_total:,} "
        f"ACKs counted by wrk (requests in flight when wrk stops are ACKed but not counted); "
        f"node log lines at WARNING or above: {s.node_warnings}",
        "",
    ]
    return "\n".join([*lines, *_discover_lines(s.discover)])


def _discover_lines(d: DiscoverResult | None) -> list[str]:
    if d is None:
        return ["discover round trip: FAILED (its error output is printed above)"]
    return [
        f"discover round trip (gateway + 3 BPPs + BAP in one process, {d.count} sequential):",
        f"  p50 {d.p50_ms:.2f} ms  p99 {d.p99_ms:.2f} ms  mean {d.mean_ms:.2f} ms  max "
        f"{d.max_ms:.2f} ms  complete {d.complete}/{d.count}  [target p50 < "
        f"{TARGET_DISCOVER_P50_MS:g} ms: {_verdict(d.p50_ms < TARGET_DISCOVER_P50_MS)}]",
        f"  first hop (BAP -> gateway ACK) p50 {d.ack_p50_ms:.2f} ms  p99 {d.ack_p99_ms:.2f} ms",
    ]
