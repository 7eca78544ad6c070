"""Where the node's time goes: a py-spy sample (preferred) or a cProfile of one node process.

py-spy samples the running process from outside (``py-spy record --format raw``), so
the node runs at full speed and the shares are honest; cProfile instruments every
call, inflates cheap Python calls and counts each resumption of a coroutine as a call,
so it is only the fallback when ``py-spy`` is not installed (``pip install py-spy``).
py-spy stops the process for each sample (its default, blocking mode) so that every
stack is whole; the node runs somewhat slower while it is sampled, never time it then.
"""

from __future__ import annotations

import pstats
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

__all__ = ["PySpy", "py_spy", "summarize_collapsed", "summarize_cprofile"]

_FRAME = re.compile(r"(?P<name>.*) \((?P<file>.*?)(?::\d+)?\)$")
_TRIM = ("site-packages/", "/lib/python3.11/", "/work/main/")


def _label(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    where = match["file"]
    for marker in _TRIM:
        where = where.rsplit(marker, 1)[-1]
    return f"{match['name']} ({where})"


def summarize_collapsed(path: Path, top: int = 40) -> str:
    """Inclusive and self shares of each function in a collapsed-stack file.

    Frames present in (nearly) every sample, the event loop and the entry point, are
    left out of the inclusive list: they say nothing about where the time goes.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_label(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += samples
        own[frames[-1]] += samples
    if total == 0:
        return "no samples"
    lines = [f"{total} samples of the busy node (idle time excluded)", "inclusive:"]
    shown = [(name, n) for name, n in inclusive.most_common() if n < total * 0.99][:top]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in shown]
    lines.append("self:")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def summarize_cprofile(path: Path, top: int = 30) -> str:
    """The top functions of a cProfile dump by own time."""
    stats = pstats.Stats(str(path))
    rows = []
    for func, (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((own, cumulative, calls, f"{func[2]} ({func[0]}:{func[1]})"))
    rows.sort(reverse=True)
    lines = ["cProfile, by own time: own s, cumulative s, calls, function"]
    lines += [f"  {o:7.3f} {c:7.3f} {n:8d}  {name}" for o, c, n, name in rows[:top]]
    return "\n".join(lines)


def py_spy() -> str | None:
    """The ``py-spy`` binary on PATH or next to this interpreter (a venv install), if any."""
    beside = Path(sys.executable).with_name("py-spy")
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


class PySpy:
    """``py-spy record`` of one process for a fixed time, in raw (collapsed) format."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self.out = out
        self._process = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait(self) -> Path:
        """Wait for the recording to end; return the output file."""
        self._process.wait(timeout=120)
        return self.out
