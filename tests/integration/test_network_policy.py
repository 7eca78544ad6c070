"""Network policy in the node: a P2P init is refused with the violated rules named for many
single mutations of a valid message, and a pack revision swapped at runtime takes effect."""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from iesnode.errors import NackReceived
from iesnode.node import Node, build
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork, generate_signing_key
from tests.unit.test_pack_p2p_trading import MUTATIONS, TEST_NETWORK, valid_init_input

PACK = Path(__file__).resolve().parents[2] / "iesnode" / "policy" / "packs" / "p2p-trading-network"
BAP, BPP = "buyer-app.example.com", "seller-app.example.com"


def echo_init() -> HandlerRegistry:
    """A seller platform answering init with the contract it got."""
    handlers = HandlerRegistry()

    @handlers.on("init")
    async def init(req: IncomingRequest) -> dict[str, Any]:
        return req.message

    return handlers


async def seller(net: LocalNetwork) -> Node:
    """The BPP enforcing the P2P network pack on its network."""
    settings = net.settings_for(BPP, NodeRole.BPP, generate_signing_key()[0])
    policy = {"packs": (PACK,), "networks": {TEST_NETWORK: "p2p-trading-network"}}
    settings = settings.model_copy(update={"policy": settings.policy.model_copy(update=policy)})
    node = build(settings, handlers=echo_init(), directory=net.directory)
    await node.start()
    net.nodes.append(node)
    net.enrol(node, NodeRole.BPP)
    return node


def message_mutations() -> dict[str, tuple[dict[str, Any], str]]:
    """The pack's single mutations that change only the message (the node builds the rest)."""
    now_ns = time.time_ns()
    valid = valid_init_input(now_ns, bap_id=BAP, bpp_id=BPP)
    found = {}
    for name, (mutate, anchor, _) in MUTATIONS.items():
        mutated = copy.deepcopy(valid)
        mutate(mutated)
        rest = {k: v for k, v in mutated.items() if k != "message"}
        if rest == {k: v for k, v in valid.items() if k != "message"}:
            found[name] = (mutated["message"], anchor)
    return found


async def test_p2p_init_refused_naming_the_rule_for_each_mutation() -> None:
    """The valid init is served; each message mutation is NACKed POL_VIOLATION naming its rule."""
    async with LocalNetwork(network_id=TEST_NETWORK) as net:
        bpp = await seller(net)
        bap_node = await net.add(BAP, NodeRole.BAP)
        peer = Peer(BPP, bpp.public_url)
        valid = valid_init_input(time.time_ns(), bap_id=BAP, bpp_id=BPP)["message"]
        named: dict[str, str] = {}
        async with bap_node.bap() as bap:
            on_init = await bap.init(peer, valid, ttl=10)
            assert on_init.message["contract"] == valid["contract"]
            for name, (message, anchor) in message_mutations().items():
                with pytest.raises(NackReceived) as refused:
                    await bap.init(peer, message, ttl=10)
                assert refused.value.code == "POL_VIOLATION", name
                assert f"{anchor}:" in refused.value.message, (name, refused.value.message)
                assert "intent.md#" in refused.value.message
                named[name] = anchor
    assert len(set(named.values())) >= 8, named


async def test_pack_revision_swapped_at_runtime_takes_effect(tmp_path: Path) -> None:
    """Installing revision 2 changes the next decision; the decision log shows both revisions."""
    revised = tmp_path / "p2p-trading-network"
    shutil.copytree(PACK, revised)
    manifest = json.loads((revised / "manifest.json").read_text())
    manifest["revision"] = 2
    manifest["version"] = "1.0.1"
    (revised / "manifest.json").write_text(json.dumps(manifest, indent=2))
    async with LocalNetwork(network_id=TEST_NETWORK) as net:
        bpp = await seller(net)
        bap_node = await net.add(BAP, NodeRole.BAP)
        peer = Peer(BPP, bpp.public_url)
        assert bpp.network_policy is not None
        async with bap_node.bap() as bap:
            await bap.init(
                peer, valid_init_input(time.time_ns(), bap_id=BAP, bpp_id=BPP)["message"]
            )
            bpp.network_policy.registry.install(revised)
            await bap.init(
                peer, valid_init_input(time.time_ns(), bap_id=BAP, bpp_id=BPP)["message"]
            )
        revisions = [d.revision for d in await bpp.network_policy.decisions.recent(20)]
    assert {1, 2} <= set(revisions)
    assert revisions[0] == 2  # the newest decision used the new revision
