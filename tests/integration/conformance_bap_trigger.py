"""A ``--trigger-command`` for an iesnode BAP served by another process (sharing its Redis).

``python tests/integration/conformance_bap_trigger.py BAP.toml`` reads what to send
from the ``IES_CONFORMANCE_*`` environment the conformance suite sets, and sends it
with iesnode's :class:`~iesnode.protocol.roles.bap_client.BapClient` signed by the
BAP's key. The BAP's served process (``iesnode serve --config BAP.toml``) receives the
callbacks: the pending messageId lives in the Redis both processes use, as in any
multi-process iesnode deployment. Prints one JSON line; exits 0 when the request was
ACKed, 1 when it was refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from iesnode import NackReceived, build, load_settings
from iesnode.log import configure_logging
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bap_client import BapClient, BapProfile


async def send(config: Path) -> dict[str, object]:
    """Send the action the suite asks for to the suite's BPP; return what happened."""
    settings = load_settings(config)
    node = build(settings)  # not started: the served process owns the address
    net = settings.network
    profile = BapProfile(
        public_url=settings.node.public_url or "",
        dialect=net.dialect,
        network_id=net.network_id,
        domain=net.domain,
        city=net.city,
        country=net.country,
        request_ttl=net.request_ttl,
    )
    client = BapClient(
        signer=node.signer,
        profile=profile,
        inbox=node.inbox,
        receiver=node.receiver,
        transport=node.transport,
        directory=node.directory,
        clock=node.clock,
    )
    env = os.environ
    action = env["IES_CONFORMANCE_ACTION"]
    peer = Peer(env["IES_CONFORMANCE_BPP_ID"], env["IES_CONFORMANCE_BPP_URI"])
    try:
        sent = await client.send(action, json.loads(env["IES_CONFORMANCE_MESSAGE"]), to=peer)
        return {"ok": True, "action": action, "message_id": sent.message_id}
    except NackReceived as exc:
        return {"ok": False, "action": action, "status": exc.status, "code": exc.code}
    finally:
        await node.aclose()


def main() -> int:
    """Command-line entry point."""
    configure_logging(json=True, level="WARNING")
    result = asyncio.run(send(Path(sys.argv[1])))
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
