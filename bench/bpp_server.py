"""The BPP node under test: ``iesnode.serve.run_node`` with a trivial ``select`` handler.

``python -m bench.bpp_server --config FILE [--profile OUT]`` reads a JSON document of
node settings (the same sections as the TOML file: ``node``, ``network``,
``registry.subscribers`` listing the benchmark BAP, optionally ``redis.url``), logs at
WARNING only, and runs until SIGTERM. With ``--profile`` the whole process runs under
``cProfile`` and the stats are written to OUT on exit (profiling slows the node; never
time a profiled run).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
from pathlib import Path
from typing import Any

from iesnode.log import configure_logging
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.serve import run_node
from iesnode.settings import load_settings

__all__ = ["main", "trivial_handlers"]


def trivial_handlers() -> HandlerRegistry:
    """A ``select`` handler that does no work: the callback carries a fixed draft contract."""
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return {"contract": {"id": "bench-contract", "status": {"code": "DRAFT"}}}

    return handlers


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    configure_logging(json=True, level="WARNING")
    settings = load_settings(json.loads(args.config.read_text("utf-8")))
    if args.profile is None:
        asyncio.run(run_node(settings, trivial_handlers()))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(run_node(settings, trivial_handlers()))
    finally:
        profiler.disable()
        profiler.dump_stats(str(args.profile))


if __name__ == "__main__":
    main()
