"""The configuration example the README documents is complete and valid."""

from __future__ import annotations

from pathlib import Path

from iesnode.node import build
from iesnode.settings import NodeRole, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_config_example_is_the_shipped_file() -> None:
    """The README shows examples/node.toml verbatim."""
    example = (ROOT / "examples" / "node.toml").read_text()
    assert example in (ROOT / "README.md").read_text()


def test_config_example_builds_a_bpp_node() -> None:
    """examples/node.toml loads and wires a BPP node."""
    settings = load_settings(ROOT / "examples" / "node.toml")
    node = build(settings)
    assert node.roles == {NodeRole.BPP}
    assert node.signer.subscriber_id == "bpp.solar.example"


def test_public_api_is_exactly_what_the_package_exports() -> None:
    """``iesnode.__all__`` lists the public names (submodules aside), and each one exists."""
    import types

    import iesnode

    public = {
        name
        for name, value in vars(iesnode).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"__version__"} == set(iesnode.__all__)
