"""The baseline: a bare aiohttp app answering ``POST /{action}`` with a constant ACK.

It does what every HTTP server on this machine must do (parse the request, read the
body, write a response) and nothing a Beckn node adds (signature checks, schema,
replay guard, outbox, counter-signature), so ``node rate / bare rate`` is the share
of raw aiohttp throughput the protocol work leaves. The same program serves as the
BAP-side callback sink of the node benchmark: it counts the POSTs it answered and
reports them on ``GET /stats``.

``python -m bench.bare_app [--port 0]`` prints ``listening on http://...`` once bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from aiohttp import web

__all__ = ["ACK", "make_app", "serve"]

ACK = b'{"status":"ACK"}'
_COUNT: web.AppKey[list[int]] = web.AppKey("count")


async def _ack(request: web.Request) -> web.Response:
    await request.read()
    request.app[_COUNT][0] += 1
    return web.Response(body=ACK, content_type="application/json")


async def _stats(request: web.Request) -> web.Response:
    return web.Response(
        body=json.dumps({"posts": request.app[_COUNT][0]}), content_type="application/json"
    )


def make_app() -> web.Application:
    """The constant-ACK application (no middleware, no logging)."""
    app = web.Application()
    app[_COUNT] = [0]
    app.router.add_get("/stats", _stats)
    app.router.add_post("/{action}", _ack)
    return app


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT; print the bound URL on stdout."""
    runner = web.AppRunner(make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
