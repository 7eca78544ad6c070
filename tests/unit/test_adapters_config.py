"""Adapters chosen by name in the node's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from iesnode.adapters.base import CustomerInformation
from iesnode.adapters.http_api import HttpApiAdapter
from iesnode.adapters.registry import AdapterConfigError
from iesnode.node import build
from iesnode.settings import load_settings
from iesnode.testing import generate_signing_key


def settings(adapters: dict[str, object]) -> dict[str, object]:
    """Node settings with ``adapters``."""
    return {
        "node": {"subscriber_id": "bpp.test", "key_id": "k1",
                 "signing_private_key": generate_signing_key()[0], "roles": ["bpp"]},
        "adapters": adapters,
    }  # fmt: skip


async def test_node_builds_the_configured_adapters(tmp_path: Path) -> None:
    """[adapters.csv] and [adapters.http] become node.adapters, usable by handlers."""
    cis = tmp_path / "cis.csv"
    cis.write_text("consumer_no,connection_id,sanctioned_load_kw,tariff,meters\n"
                   "C1,CONN-1,5,LT-1,M1\n")  # fmt: skip
    node = build(
        load_settings(
            settings(
                {
                    "csv": {"consumers": {"path": str(cis), "columns": {
                        "consumer_id": "consumer_no", "connection_id": "connection_id",
                        "sanctioned_load": "sanctioned_load_kw", "tariff_category": "tariff",
                        "meters": "meters"}}},
                    "http": {"consumer_url": "http://127.0.0.1:1/c/{consumer_id}",
                             "consumer_by_meter_url": "http://127.0.0.1:1/m/{meter}",
                             "readings_url": "http://127.0.0.1:1/r/{meter}"},
                }
            )
        )
    )  # fmt: skip
    try:
        csv_adapter = node.adapters["csv"]
        assert isinstance(csv_adapter, CustomerInformation)
        consumer = await csv_adapter.consumer("C1")
        assert (consumer.sanctioned_load_w, consumer.meters) == (5000, ("M1",))
        assert isinstance(node.adapters["http"], HttpApiAdapter)
    finally:
        await node.aclose()


def test_unknown_adapter_name_is_a_configuration_error() -> None:
    """A name no adapter registers stops the node at start-up, naming it."""
    with pytest.raises(AdapterConfigError) as caught:
        build(load_settings(settings({"mainframe": {}})))
    assert caught.value.path == "mainframe"
