"""A BAP application: find energy sellers through the registry, discover, select.

``python examples/bap_trade.py BAP.toml [--subscribe]`` starts a BAP node from the
TOML file (which names the registry in ``[registry] url``), optionally joins the
registry first (the on_subscribe challenge is answered by the node it just started),
finds BPPs of its network *only* through registry lookups, sends them a signed
discover and selects the cheapest offer. It prints one JSON line and exits 0 when the
trade got its ``on_select``, or prints the refusal and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from iesnode import NackReceived, build, load_settings
from iesnode.errors import ClientError
from iesnode.log import configure_logging
from iesnode.model.subscriber import Role, SubscriberQuery
from iesnode.protocol.roles.bap import Peer
from iesnode.registry.subscribe import encryption_public_key, subscribe, subscription_body


async def trade(config: Path, join: bool) -> dict[str, Any]:
    """Run the node, optionally subscribe, then discover and select."""
    settings = load_settings(config)
    node = build(settings)
    async with node:
        registry_url = settings.registry.url
        if registry_url is None:
            raise SystemExit("registry.url is required")
        if join:
            enc = settings.node.encryption_private_key
            if enc is None or settings.network.network_id is None:
                raise SystemExit("node.encryption_private_key and network.network_id are required")
            body = subscription_body(
                signer=node.signer,
                subscriber_url=node.public_url,
                role=Role.BAP,
                encryption_public_key=encryption_public_key(enc.get_secret_value()),
                network_id=settings.network.network_id,
            )
            await subscribe(
                registry_url, body, signer=node.signer, transport=node.transport, clock=node.clock
            )
        sellers = await node.directory.find(
            SubscriberQuery(role=Role.BPP, network_id=settings.network.network_id)
        )
        async with node.bap() as bap:
            offers = []
            for seller in sellers:
                peer = Peer(seller.subscriber_id, seller.url)
                offers += [cb async for cb in bap.discover({"intent": {}}, to=peer, ttl=1.0)]
            if not offers:
                return {"ok": False, "why": "no offers", "sellers": len(sellers)}
            order = {"contract": {"commitments": [{"id": "c1"}]}}
            on_select = await bap.select(offers[0], order, ttl=5)
            return {
                "ok": True,
                "sellers": [s.subscriber_id for s in sellers],
                "selected_from": on_select.sender,
                "contract": on_select.message.get("contract", {}).get("id"),
            }


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", type=Path)
    parser.add_argument("--subscribe", action="store_true", help="join the registry first")
    args = parser.parse_args()
    configure_logging(json=True, level="WARNING")
    try:
        result = asyncio.run(trade(args.config, args.subscribe))
    except NackReceived as exc:
        result = {"ok": False, "status": exc.status, "code": exc.code, "why": exc.message}
    except ClientError as exc:
        result = {"ok": False, "why": str(exc)}
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
