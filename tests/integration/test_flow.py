"""The whole discover -> select -> init -> confirm -> status flow between real nodes."""

from __future__ import annotations

import pytest

from iesnode.demo import energy_provider, run_demo
from iesnode.model.envelope import Dialect
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork


@pytest.mark.parametrize("dialect", [Dialect.V2, Dialect.V1])
async def test_full_flow_in_each_dialect(dialect: Dialect) -> None:
    """A BAP trades with a BPP through a gateway, in v2.0 and in v1.1 wire format."""
    async with LocalNetwork(dialect=dialect) as net:
        await net.add("gw.test", NodeRole.GATEWAY)
        await net.add("bpp.test", NodeRole.BPP, handlers=energy_provider("bpp.test", 4.0, 5.0))
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            offers = [cb async for cb in bap.discover({"intent": {}}, ttl=0.5)]
            assert [cb.sender for cb in offers] == ["bpp.test"]
            assert offers[0].gateway == "gw.test"
            assert offers[0].context.dialect is dialect
            key = "contract" if dialect is Dialect.V2 else "order"
            order = {key: {"commitments": [{"id": "c1"}]}}
            on_select = await bap.select(offers[0], order, ttl=5)
            assert on_select.context.transaction_id == offers[0].context.transaction_id
            on_init = await bap.init(on_select, order, ttl=5)
            on_confirm = await bap.confirm(on_init, order, ttl=5)
            state = on_confirm.message[key]["status"]
            assert (state["code"] if key == "contract" else state) == "ACTIVE"
            contract_id = on_confirm.message[key]["id"]
            ask = (
                {"contract": {"id": contract_id}}
                if key == "contract"
                else {"order_id": contract_id}
            )
            on_status = await bap.status(on_confirm, ask, ttl=5)
            assert on_status.message[key]["id"] == contract_id


def test_demo_command_completes(capsys: pytest.CaptureFixture[str]) -> None:
    """``iesnode demo`` prints a transcript and exits 0 after the whole flow."""
    assert run_demo() == 0
    out = capsys.readouterr().out
    assert "signature verified" in out
    assert "demo completed" in out


async def test_nodes_sharing_one_redis_keep_their_state_apart(redis_url: str) -> None:
    """Gateway, two BPPs and a BAP on one Redis: the same forwarded bytes reach both BPPs
    (no false replay), and each BPP's outbox delivers its own signed offer."""
    async with LocalNetwork(redis_url=redis_url) as net:
        await net.add("gw.test", NodeRole.GATEWAY)
        for name in ("bpp-a.test", "bpp-b.test"):
            await net.add(name, NodeRole.BPP, handlers=energy_provider(name, 4.0, 5.0))
        bap_node = await net.add("bap.test", NodeRole.BAP)
        async with bap_node.bap() as bap:
            offers = [cb async for cb in bap.discover({"intent": {}}, ttl=1.0)]
    assert sorted(cb.sender for cb in offers) == ["bpp-a.test", "bpp-b.test"]
    assert all(cb.gateway == "gw.test" for cb in offers)
