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

__all__ = ["BAP_KEY_ID", "main", "node_config", "trivial_handlers"]

BAP_KEY_ID = "k1"


def trivial_handlers() -> HandlerRegistry:
    """A ``select`` handler that does no work: the callback carries a fixed draft contract."""
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return {"contract": {"id": "bench-contract", "status": {"code": "DRAFT"}}}

    return handlers


def node_config(
    *,
    subscriber_id: str,
    private_key: str,
    bap_id: str,
    bap_public_key: str,
    bap_url: str,
    network: dict[str, str],
    redis_url: str | None = None,
    ack_only: bool = False,
) -> dict[str, Any]:
    """Settings of the BPP under test; the benchmark BAP is SUBSCRIBED in its static list.

    ``ack_only`` sets ``delivery.concurrency`` to 0: the outbox worker never takes a
    job, so the process does only the synchronous path (verify, queue the job, sign
    the ACK) and the jobs pile up in the outbox. That isolates the ACK path the
    target is about from the callback work the same core does in a full node.
    Load shedding is disabled in both, so overload shows as latency, not as 503s.
    """
    config: dict[str, Any] = {
        "node": {
            "subscriber_id": subscriber_id,
            "key_id": "k1",
            "signing_private_key": private_key,
            "roles": ["bpp"],
        },
        "network": {**network, "allowed_networks": [network["network_id"]]},
        "registry": {
            "subscribers": [
                {
                    "subscriber_id": bap_id,
                    "key_id": BAP_KEY_ID,
                    "url": bap_url,
                    "role": "BAP",
                    "signing_public_key": bap_public_key,
                    "status": "SUBSCRIBED",
                    "network_id": network["network_id"],
                    "domains": [network["domain"]],
                }
            ]
        },
    }
    if redis_url is not None:
        config["redis"] = {"url": redis_url}
    # Load shedding (delivery.max_backlog) is off: the bench measures how fast the ACK
    # path runs, and the full node's sustainable rate is its callback rate, reported apart.
    config["delivery"] = {"max_backlog": 0}
    if ack_only:
        config["delivery"]["concurrency"] = 0
    return config


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
