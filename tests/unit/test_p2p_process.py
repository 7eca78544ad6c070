"""A P2P role's process file: node settings plus exactly one valid ``[p2p.<role>]`` table."""

from __future__ import annotations

from typing import Any

import pytest

from iesnode.errors import ConfigError
from iesnode.settings import NodeRole
from iesnode.testing import generate_signing_key
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.meter_bpp import MeterDataBpp
from iesnode.usecases.p2p.platform import SellerPlatform
from iesnode.usecases.p2p.process import load_role

TABLES: dict[str, dict[str, Any]] = {
    "seller_platform": {"name": "SunShare"},
    "buyer_platform": {"consumers": []},
    "ledger_provider": {"discom_id": "BESCOM-KA", "meter_bpp": "mdm.bescom.test"},
    "meter_bpp": {"readers": ["BESCOM-KA"]},
}


def role_file(p2p: dict[str, Any]) -> dict[str, Any]:
    """A parsed role file with ``p2p`` as its [p2p] tables."""
    node = {
        "subscriber_id": "x.test",
        "key_id": "k1",
        "signing_private_key": generate_signing_key()[0],
    }
    return {"node": {**node, "roles": ["bpp", "bap"]}, "p2p": p2p}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("seller_platform", SellerPlatform),
        ("buyer_platform", BuyerPlatform),
        ("ledger_provider", LedgerProvider),
        ("meter_bpp", MeterDataBpp),
    ],
)
def test_each_role_loads_with_its_node_settings(name: str, kind: type) -> None:
    """The file gives the node's settings and the role its table configures."""
    settings, role = load_role(role_file({name: TABLES[name]}))
    assert isinstance(role, kind)
    assert settings.node.roles == (NodeRole.BPP, NodeRole.BAP)


def test_a_file_needs_exactly_one_known_role() -> None:
    """No role, two roles or an unknown role is a configuration error."""
    files: list[dict[str, Any]] = [{}, dict(TABLES), {"exchange": {}}]
    for p2p in files:
        with pytest.raises(ConfigError):
            load_role(role_file(p2p))


def test_a_bad_role_table_names_the_field() -> None:
    """A ledger provider without its meter-data BPP: the error names the missing field."""
    with pytest.raises(ConfigError) as refused:
        load_role(role_file({"ledger_provider": {"discom_id": "BESCOM-KA"}}))
    assert "p2p.ledger_provider.meter_bpp" in str(refused.value)
