"""Child processes of the benchmark: start, wait for their URL, read CPU time, stop.

The machine has two cores. The server under test gets CPU 0 (``taskset``); the
orchestrator pins itself to CPU 1, so everything it starts without an explicit
CPU list (wrk, the callback sink, redis-server) shares CPU 1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Child", "cpu_seconds", "pin_self", "start_child"]

_URL = re.compile(r"listening on (http://\S+)")
ROOT = Path(__file__).resolve().parents[1]


def pin_self(cpus: set[int]) -> bool:
    """Restrict this process (and so its future children) to ``cpus``; False if impossible."""
    try:
        os.sched_setaffinity(0, cpus)
    except (OSError, AttributeError):
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Child:
    """A running child and the URL it printed."""

    name: str
    process: subprocess.Popen[str]
    url: str
    log: Path
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, SIGKILL if needed; return the exit code."""
        if not self.stopped:
            self.stopped = True
            if self.process.poll() is None:
                self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process.returncode is not None else -1


def start_child(name: str, module: str, args: list[str], workdir: Path, cpus: str | None) -> Child:
    """Run ``python -m module args`` (optionally under taskset); wait for its URL line."""
    command = [sys.executable, "-m", module, *args]
    if cpus is not None:
        command = ["taskset", "--cpu-list", cpus, *command]
    log = workdir / f"{name}.log"
    errors = log.open("w")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        cwd=ROOT,
    )
    errors.close()
    assert process.stdout is not None
    line = process.stdout.readline()
    match = _URL.search(line)
    if match is None:
        process.kill()
        process.wait()
        raise RuntimeError(f"{name} did not start: {line!r}; see {log}: {log.read_text()[-2000:]}")
    return Child(name, process, match.group(1), log)
