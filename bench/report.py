"""Medians, the machine description and the summary table printed by ``bench/run.py``."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.discover_rtt import DiscoverResult
from bench.loadgen import WrkResult

__all__ = ["Round", "Summary", "machine", "render"]


@dataclass(frozen=True, slots=True)
class Round:
    """One bare run and one node run taken back to back, with the servers' CPU use."""

    bare: WrkResult
    node: WrkResult
    bare_cpu: float
    """Cores the bare app used during its run (1.0 = all of CPU 0)."""
    node_cpu: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything one benchmark invocation measured."""

    connections: int
    seconds: float
    redis: bool
    rounds: Sequence[Round]
    bare_single: WrkResult
    node_single: WrkResult
    discover: DiscoverResult
    callbacks_delivered: int
    acks_total: int
    node_warnings: int


def machine() -> dict[str, str]:
    """nproc, CPU model, Python, aiohttp and wrk versions, load average."""
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "wrk": (wrk.stdout or wrk.stderr).split(" [", 1)[0].strip(),
        "loadavg": Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__(),
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _row(name: str, results: Sequence[WrkResult], cpu: Sequence[float]) -> str:
    rate = _median([r.ok_per_second for r in results])
    p50 = _median([r.p50_ms for r in results])
    p99 = _median([r.p99_ms for r in results])
    bad = sum(r.non_200 for r in results)
    errors = sum(r.socket_errors for r in results)
    runs = " / ".join(f"{r.ok_per_second:,.0f}" for r in results)
    return (
        f"  {name:<28} {rate:>9,.0f} {p50:>8.2f} {p99:>8.2f} {bad:>7} {errors:>6} "
        f"{_median(cpu):>5.2f}   {runs}"
    )


def render(s: Summary, info: dict[str, str]) -> str:
    """The summary table as text."""
    bare = [r.bare for r in s.rounds]
    node = [r.node for r in s.rounds]
    bare_rate = _median([r.ok_per_second for r in bare])
    node_rate = _median([r.ok_per_second for r in node])
    ratio = node_rate / bare_rate if bare_rate else 0.0
    node_p99 = _median([r.p99_ms for r in node])
    state = "redis" if s.redis else "memory"
    d = s.discover
    lines = [
        f"machine: {info['nproc']} x {info['cpu']}; Python {info['python']}; "
        f"aiohttp {info['aiohttp']}; {info['wrk']}; loadavg at start {info['loadavg']}",
        f"ACK path: {len(s.rounds)} x {s.seconds:g} s per server, {s.connections} connections, "
        f"wrk 1 thread on CPU 1, server on CPU 0; node state: {state}",
        "",
        f"  {'server':<28} {'ACK/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>7} "
        f"{'sockerr':>6} {'cores':>5}   per run ACK/s",
        _row("bare aiohttp", bare, [r.bare_cpu for r in s.rounds]),
        _row(f"BPP node ({state})", node, [r.node_cpu for r in s.rounds]),
        _row("bare aiohttp, 1 connection", [s.bare_single], []),
        _row(f"BPP node, 1 connection", [s.node_single], []),
        "",
        f"  node/bare ratio (medians): {ratio:.2f}  [target >= 0.40: "
        f"{'met' if ratio >= 0.40 else 'MISSED'}]",
        f"  node p99 at {s.connections} connections: {node_p99:.2f} ms  [target < 5 ms: "
        f"{'met' if node_p99 < 5 else 'MISSED'}]",
        f"  callbacks delivered to the sink: {s.callbacks_delivered:,} of "
        f"{s.acks_total:,} ACKed; node log lines at WARNING or above: {s.node_warnings}",
        "",
        f"discover round trip (gateway + 3 BPPs + BAP, one process on CPU 0, {d.count} sequential):",
        f"  p50 {d.p50_ms:.2f} ms  p99 {d.p99_ms:.2f} ms  mean {d.mean_ms:.2f} ms  "
        f"max {d.max_ms:.2f} ms  complete {d.complete}/{d.count}  "
        f"(first-hop ACK p50 {d.ack_p50_ms:.2f} ms, p99 {d.ack_p99_ms:.2f} ms)  "
        f"[target p50 < 5 ms: {'met' if d.p50_ms < 5 else 'MISSED'}]",
    ]
    return "\n".join(lines)
