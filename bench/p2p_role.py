"""One P2P role as a bench child: ``python -m bench.p2p_role CONFIG.json``.

The same as ``python -m iesnode.usecases.p2p.process FILE`` (:func:`load_role`,
:func:`run_role`), with the role file as JSON (the orchestrator writes it) and logging
at WARNING, as every bench server logs, so log lines do not take the CPU under test.
Runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from iesnode.log import configure_logging
from iesnode.usecases.p2p.process import load_role, run_role

__all__ = ["main"]


def main() -> int:
    """Run the role the JSON file describes."""
    configure_logging(json=True, level="WARNING")
    settings, role = load_role(json.loads(Path(sys.argv[1]).read_text("utf-8")))

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_role(settings, role, stop)

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
