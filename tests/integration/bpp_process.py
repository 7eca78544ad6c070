"""A BPP node process for the multi-process tests: ``python bpp_process.py CONFIG DELAY``.

Its handlers answer like the demo's energy provider, after sleeping DELAY seconds,
so a test can kill the process while a job is being handled.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from iesnode.demo import energy_provider
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.serve import serve


def slow_provider(delay: float) -> HandlerRegistry:
    """The demo provider, delayed."""
    inner = energy_provider("bpp.proc", 4.0, 2.0)
    handlers = HandlerRegistry()
    for action in inner.actions:
        handler = inner.get(action)
        assert handler is not None

        async def delayed(req: IncomingRequest, _h: Any = handler) -> dict[str, Any]:
            await asyncio.sleep(delay)
            result: dict[str, Any] = await _h(req)
            return result

        handlers.on(action)(delayed)
    return handlers


if __name__ == "__main__":
    raise SystemExit(serve(Path(sys.argv[1]), slow_provider(float(sys.argv[2]))))
