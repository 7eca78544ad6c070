"""Start, watch and stop the role processes of a run directory (:mod:`.runfiles`).

Each role of the run but the hosted buyer platforms becomes its own OS process, its
output going to ``logs/<subscriber id>.log``. Every process is started first and then
waited for, so the start-ups (each installs and tests the policy pack) overlap: a role
is up once it has printed its ``listening on`` line (the node serves, the role is bound
and its control socket listens) and its ``/health`` answers. Stopping sends SIGTERM (the
role closes its ledger, the node drains) and kills what is still running after a grace
period. A process that exits early fails the start with the tail of its log.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import structlog

from iesnode.errors import IesError
from iesnode.usecases.p2p.runfiles import RoleFile, RunLayout

__all__ = ["ProcessFailed", "RoleProcess", "running"]

log = structlog.get_logger(__name__)

_READY = "listening on"


class ProcessFailed(IesError):
    """A role process did not come up (or died); the message ends with its log's tail."""


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])


class RoleProcess:
    """One role running as its own process."""

    def __init__(self, role: RoleFile) -> None:
        self.role = role
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path) -> None:
        """Launch the process (its output to the role's log file)."""
        log_path = self.role.log or cwd / "logs" / f"{self.role.subscriber_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.role.command(), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        log.info("role_process_started", role=self.role.subscriber_id, pid=self.proc.pid)

    def wait_ready(self, deadline: float) -> None:
        """Block until the role printed its URL and answers ``/health``; ProcessFailed if not."""
        assert self.proc is not None, "start() first"
        while True:
            if self.proc.poll() is not None:
                raise self._failed(f"exited with {self.proc.returncode}")
            if self.role.log is None or _READY in _tail(self.role.log, 1000):
                break
            if time.monotonic() > deadline:
                raise self._failed("did not start in time")
            time.sleep(0.05)
        while not self._healthy():
            if time.monotonic() > deadline:
                raise self._failed("/health does not answer")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.role.url}/health", timeout=2) as reply:  # noqa: S310
                return reply.status == 200 and isinstance(json.loads(reply.read()), dict)
        except (OSError, ValueError):
            return False

    def _failed(self, why: str) -> ProcessFailed:
        return ProcessFailed(
            f"{self.role.subscriber_id} ({self.role.role}) {why}:\n{_tail(self.role.log)}"
        )

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("role_process_killed", role=self.role.subscriber_id)
                self.proc.kill()
                self.proc.wait(timeout=grace)
        return self.proc.returncode


@contextmanager
def running(
    layout: RunLayout, roles: Sequence[RoleFile] | None = None, *, timeout: float = 90.0
) -> Iterator[dict[str, RoleProcess]]:
    """Run ``roles`` (default: every process of the layout) until the block ends."""
    started = [RoleProcess(role) for role in (roles or layout.processes)]
    try:
        for process in started:
            process.start(layout.root)
        deadline = time.monotonic() + timeout
        for process in started:
            process.wait_ready(deadline)
        yield {p.role.subscriber_id: p for p in started}
    finally:
        for process in started:
            if process.proc is not None and process.proc.poll() is None:
                process.proc.terminate()
        for process in started:
            process.stop()
