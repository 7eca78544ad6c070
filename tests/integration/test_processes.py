"""Real node processes sharing one Redis: a crash between ACK and callback, and callbacks
that land on a different process than the one waiting for them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from iesnode.model.subscriber import Role, Subscriber
from iesnode.node import Node, build
from iesnode.protocol.roles.bap import Peer
from iesnode.registry.static import StaticDirectory
from iesnode.settings import load_settings
from iesnode.testing import generate_signing_key
from tests.integration.helpers import node_process, subscriber, toml
from tests.redis_server import free_port

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ORDER = {"contract": {"commitments": [{"id": "c1"}]}}


def in_process_node(settings: dict[str, Any], peers: list[dict[str, Any]]) -> Node:
    """A node in this test process with a static directory of ``peers``."""
    directory = StaticDirectory(Subscriber.model_validate(p) for p in peers)
    return build(load_settings(settings), directory=directory)


async def test_no_callback_lost_when_the_bpp_process_dies_after_ack(
    redis_url: str, tmp_path: Path
) -> None:
    """A BPP killed while handling an ACKed select is restarted; the callback still arrives."""
    bpp_key, bpp_pub = generate_signing_key()
    bap_key, bap_pub = generate_signing_key()
    bpp_url = f"http://127.0.0.1:{free_port()}"
    bap = in_process_node(
        {"node": {"subscriber_id": "bap.test", "key_id": "k1", "signing_private_key": bap_key}},
        [subscriber("bpp.proc", Role.BPP, bpp_url, bpp_pub)],
    )
    async with bap:
        config = tmp_path / "bpp.toml"
        config.write_text(
            toml(
                {
                    "node": {
                        "subscriber_id": "bpp.proc",
                        "key_id": "k1",
                        "signing_private_key": bpp_key,
                        "roles": ["bpp"],
                        "port": int(bpp_url.rsplit(":", 1)[1]),
                    },
                    "redis": {"url": redis_url},
                    "delivery": {"claim_after": 1.0, "backoff_base": 0.1},
                    "registry": {
                        "subscribers": [subscriber("bap.test", Role.BAP, bap.public_url, bap_pub)]
                    },
                }
            )
        )
        script = str(HERE / "bpp_process.py")
        async with bap.bap() as client:
            with node_process([script, str(config), "60"]) as first:
                sent = await client.send("select", ORDER, to=Peer("bpp.proc", bpp_url), ttl=20)
                await asyncio.sleep(0.5)  # the job is taken and its handler is sleeping
                first.kill()
            with node_process([script, str(config), "0"]):
                callbacks = client.callbacks(sent)
                on_select = await asyncio.wait_for(anext(callbacks), timeout=15)
                await callbacks.aclose()
    assert on_select.sender == "bpp.proc"
    assert on_select.context.message_id == sent.message_id


async def test_callback_reaches_the_caller_through_another_node_process(
    redis_url: str, tmp_path: Path
) -> None:
    """The BAP caller waits in this process; the on_select lands on a second BAP process."""
    bpp_key, bpp_pub = generate_signing_key()
    bap_key, bap_pub = generate_signing_key()
    other_url = f"http://127.0.0.1:{free_port()}"
    bpp = in_process_node(
        {
            "node": {
                "subscriber_id": "bpp.test",
                "key_id": "k1",
                "signing_private_key": bpp_key,
                "roles": ["bpp"],
            }
        },
        [subscriber("bap.shared", Role.BAP, other_url, bap_pub)],
    )
    from iesnode.demo import energy_provider

    provider = energy_provider("bpp.test", 4.0, 1.0)
    for action in provider.actions:
        handler = provider.get(action)
        assert handler is not None
        bpp.on(action)(handler)
    async with bpp:
        config = tmp_path / "bap.toml"
        config.write_text(
            toml(
                {
                    "node": {
                        "subscriber_id": "bap.shared",
                        "key_id": "k1",
                        "signing_private_key": bap_key,
                        "roles": ["bap"],
                        "port": int(other_url.rsplit(":", 1)[1]),
                    },
                    "redis": {"url": redis_url},
                    "registry": {
                        "subscribers": [subscriber("bpp.test", Role.BPP, bpp.public_url, bpp_pub)]
                    },
                }
            )
        )
        with node_process(["-m", "iesnode", "serve", "--config", str(config)]):
            here = in_process_node(
                {
                    "node": {
                        "subscriber_id": "bap.shared",
                        "key_id": "k1",
                        "signing_private_key": bap_key,
                        "public_url": other_url,
                    },
                    "redis": {"url": redis_url},
                },
                [subscriber("bpp.test", Role.BPP, bpp.public_url, bpp_pub)],
            )
            async with here, here.bap() as client:
                on_select = await client.select(Peer("bpp.test", bpp.public_url), ORDER, ttl=10)
    assert on_select.sender == "bpp.test"
    assert on_select.message["contract"]["status"]["code"] == "DRAFT"
