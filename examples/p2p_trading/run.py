"""The P2P trading day of ``iesnode demo p2p`` with every role as its own process.

    python examples/p2p_trading/run.py [--run-dir DIR] [--day-file day.toml]

Writes a run directory (``iesnode.usecases.p2p.runfiles``: one TOML file per role with a
fresh key and a free loopback port, the sample meter exports moved to tomorrow, a SQLite
ledger per DISCOM), starts the gateway, each DISCOM's meter-data BPP and ledger provider
and each seller platform as processes (``python -m iesnode.usecases.p2p.process
ROLE.toml --control SOCKET``; ``iesnode serve`` for the gateway) and waits until each
answers ``/health``. The buyer platforms are a library API, so this process hosts them
as real nodes that talk to the others over signed HTTP: they discover through the
gateway and buy tomorrow's slots; the seller DISCOM curtails one trade; then each
DISCOM is asked for its allocation run now, through its control socket, rather than at
its ``allocate_at`` time after delivery. The tables are those of ``iesnode demo p2p``;
every process is stopped at the end. See README.md next to this file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from pydantic import ValidationError

from iesnode.errors import IesError
from iesnode.log import configure_logging
from iesnode.usecases.p2p.day import DayResult
from iesnode.usecases.p2p.day_processes import ProcessDay
from iesnode.usecases.p2p.daybook import print_day
from iesnode.usecases.p2p.processes import running
from iesnode.usecases.p2p.runfiles import RunLayout, tomorrow, write_run
from iesnode.usecases.p2p.scenario import DAY_FILE, DayScenario


async def drive(layout: RunLayout) -> DayResult:
    """Host the buyer platforms and run the day against the role processes."""
    async with ProcessDay(layout) as day:
        return await day.run()


def run(day_file: Path, root: Path) -> DayResult:
    """Write the run directory under ``root``, start the roles, run the day, stop them."""
    sample = DayScenario.load(day_file)
    layout = write_run(sample.on_day(tomorrow()), root, exports_day=sample.day)
    print(f"run directory {root}: delivery day {layout.scenario.day}", flush=True)
    with running(layout) as processes:
        for name, process in processes.items():
            pid = process.proc.pid if process.proc else "-"
            print(f"  {process.role.role:16} {name:24} {process.role.url}  pid {pid}")
        return asyncio.run(drive(layout))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the day as processes and print its book; 0 only if everything agreed."""
    parser = argparse.ArgumentParser(prog="python examples/p2p_trading/run.py")
    parser.add_argument("--run-dir", type=Path, help="keep the run here (default: a temp dir)")
    parser.add_argument("--day-file", type=Path, default=DAY_FILE, help="the day to run")
    args = parser.parse_args(argv)
    configure_logging(json=True, level="ERROR")
    with ExitStack() as stack:
        root = args.run_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        try:
            result = run(args.day_file, root.resolve())
        except (IesError, OSError, ValidationError) as exc:
            print(f"p2p run failed: {exc}", file=sys.stderr)
            return 1
    print_day(result, sys.stdout)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
