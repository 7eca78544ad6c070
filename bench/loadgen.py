"""The load generator: ``wrk`` (a separate C process) driven by ``bench/replay.lua``.

wrk keeps 32 keep-alive connections busy from one event-loop thread and costs far
less CPU per request than any Python client would, so on a 2-core machine it leaves
the server's core alone. Its script replays pre-generated signed requests (see
``bench/signed_requests.py``), counts HTTP 200 answers apart from everything else,
and prints one ``BENCH {json}`` line that :func:`run_wrk` parses.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SCRIPT", "WrkResult", "require_wrk", "run_wrk"]

SCRIPT = Path(__file__).with_name("replay.lua")


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: counts and latency percentiles (closed loop, ``connections`` in flight)."""

    seconds: float
    ok: int
    """HTTP 200 answers (ACKs)."""
    non_200: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    wrapped: int
    """How often a wrk thread ran out of distinct requests and started over."""
    loaded: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    client_cores: float
    """Cores of CPU time wrk itself used (near 1.0 would mean the client was the limit)."""

    @property
    def socket_errors(self) -> int:
        """Connect, read and write errors plus timeouts."""
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    @property
    def ok_per_second(self) -> float:
        """HTTP 200 answers per second of the run."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def require_wrk() -> str:
    """Path of the ``wrk`` binary; raise with the install hint when it is missing."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return binary


def run_wrk(
    url: str,
    requests_file: Path,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    cpus: str | None = None,
) -> WrkResult:
    """Run wrk against ``url`` (path included) for ``seconds``; return its parsed summary."""
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    command = [
        require_wrk(),
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--script",
        str(SCRIPT),
        url,
        "--",
        str(requests_file),
        str(threads),
        path,
    ]
    if cpus is not None:
        command = ["taskset", "--cpu-list", cpus, *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    data = json.loads(line.removeprefix("BENCH "))
    return WrkResult(
        seconds=data["duration_us"] / 1e6,
        ok=data["ok"],
        non_200=data["non200"],
        connect_errors=data["connect_errors"],
        read_errors=data["read_errors"],
        write_errors=data["write_errors"],
        timeouts=data["timeouts"],
        wrapped=data["wrapped"],
        loaded=data["loaded"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        client_cores=used / (data["duration_us"] / 1e6),
    )
