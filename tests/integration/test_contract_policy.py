"""Contract policy over the node: the payload names its policy pack; the BPP fetches it only
from allowed prefixes, checks its checksum, evaluates it and fails closed on any problem."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from iesnode.clock import SystemClock
from iesnode.errors import NackReceived
from iesnode.http.transport import AiohttpTransport
from iesnode.model.envelope import Dialect, Envelope
from iesnode.node import Node, build
from iesnode.policy.contract import ContractPolicy
from iesnode.policy.decisions import DecisionLog
from iesnode.policy.packs import build as build_pack
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.protocol.roles.envelopes import request_context
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork, generate_signing_key
from tests.unit.test_reference_packs import contract_message

PACKS = Path(__file__).resolve().parents[2] / "iesnode" / "policy" / "packs"
QUERY = "ies/contracts/discom/violations"


@pytest.fixture
async def pack_server(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """Serve the discom-contract pack as a .tar.gz; yield (its URL, its sha256)."""
    archive = tmp_path / "discom-contract.tar.gz"
    build_pack(PACKS / "discom-contract", archive)
    data = archive.read_bytes()

    async def serve(_: web.Request) -> web.Response:
        return web.Response(body=data, content_type="application/gzip")

    app = web.Application()
    app.router.add_get("/packs/discom-contract.tar.gz", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/packs/discom-contract.tar.gz", hashlib.sha256(data).hexdigest()
    finally:
        await runner.cleanup()


def echo() -> HandlerRegistry:
    """A provider answering select with the contract it got."""
    handlers = HandlerRegistry()

    @handlers.on("select")
    async def select(req: IncomingRequest) -> dict[str, Any]:
        return req.message

    return handlers


def order(url: str, sha256: str) -> dict[str, Any]:
    """The settled DISCOM contract, naming its policy."""
    message = contract_message()
    attrs = message["contract"]["contractAttributes"]
    attrs["policy"] = {"url": url, "sha256": sha256, "queryPath": QUERY}
    return message


async def provider(net: LocalNetwork, prefix: str) -> Node:
    """A BPP enforcing contract policies from ``prefix`` on select."""
    settings = net.settings_for("sellerapp.example.com", NodeRole.BPP, generate_signing_key()[0])
    policy = {"contract_url_prefixes": [prefix], "contract_actions": ["select"]}
    settings = settings.model_copy(update={"policy": settings.policy.model_copy(update=policy)})
    node = build(settings, handlers=echo(), directory=net.directory)
    await node.start()
    net.nodes.append(node)
    net.enrol(node, NodeRole.BPP)
    return node


async def test_contract_policy_allows_refuses_and_fails_closed(
    pack_server: tuple[str, str],
) -> None:
    """Allowed as referenced; a violated rule, a foreign URL, a bad checksum, a dead URL: NACK."""
    url, sha = pack_server
    prefix = url.rsplit("/", 1)[0] + "/"
    async with LocalNetwork() as net:
        bpp = await provider(net, prefix)
        bap_node = await net.add("buyerapp.example.com", NodeRole.BAP)
        peer = Peer("sellerapp.example.com", bpp.public_url)
        async with bap_node.bap() as bap:
            on_select = await bap.select(peer, order(url, sha), ttl=5)
            assert on_select.message["contract"]["id"] == "contract-001"
            refused: dict[str, tuple[int, str | None, str]] = {}
            bad = order(url, sha)
            roles = bad["contract"]["contractAttributes"]["roles"]
            next(r for r in roles if r["role"] == "sellerDiscom")["participantId"] = "NOWHERE-XX"
            foreign = order("https://evil.example/pack.tar.gz", sha)
            tampered = order(url, "0" * 64)
            dead = order(f"{prefix}missing.tar.gz", "1" * 64)  # not cached; nothing there
            for name, message in (
                ("violation", bad),
                ("foreign", foreign),
                ("checksum", tampered),
                ("dead", dead),
            ):
                with pytest.raises(NackReceived) as caught:
                    await bap.select(peer, copy.deepcopy(message), ttl=5)
                refused[name] = (caught.value.status, caught.value.code, caught.value.message)
    assert refused["violation"][:2] == (400, "POL_VIOLATION")
    assert "counterpart-discom-allowed" in refused["violation"][2]
    assert refused["foreign"][1] == "POL_URL_NOT_ALLOWED"
    assert refused["checksum"][1] == "POL_PACK_CHECKSUM"
    assert refused["dead"][1] == "POL_FETCH"
    assert bpp.contract_policy is not None
    decisions = await bpp.contract_policy.decisions.recent()
    assert [d.allowed for d in reversed(decisions)] == [True, False]


async def test_revenue_flows_are_computed_and_sum_to_zero(pack_server: tuple[str, str]) -> None:
    """The contract's revenue_flows come back as integer paise that sum to zero."""
    url, sha = pack_server
    message = order(url, sha)
    message["contract"]["contractAttributes"]["policy"]["revenueFlowsPath"] = (
        "ies/contracts/discom/revenue_flows"
    )
    transport = AiohttpTransport()
    try:
        policy = ContractPolicy(
            transport=transport,
            clock=SystemClock(),
            decisions=DecisionLog(),
            allowed_prefixes=[url.rsplit("/", 1)[0] + "/"],
            actions=["confirm"],
            role="bpp",
        )
        ctx = request_context(
            dialect=Dialect.V2, action="confirm", bap_id="buyerapp.example.com",
            bap_uri="http://127.0.0.1:1", now=SystemClock().now(), ttl=30,
        )  # fmt: skip
        flows = await policy.revenue_flows(Envelope(context=ctx, message=message), sender="x")
    finally:
        await transport.aclose()
    assert flows
    assert sum(f["amount_paise"] for f in flows) == 0
