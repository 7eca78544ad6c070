"""``[node] handlers``: how ``iesnode serve`` finds the BPP's handlers."""

from __future__ import annotations

from typing import Any

import pytest

from iesnode.errors import ConfigError
from iesnode.protocol.roles.bpp import HandlerRegistry
from iesnode.serve import load_handlers
from iesnode.settings import NodeSettings, load_settings
from iesnode.testing import generate_signing_key

SHARED = HandlerRegistry()


def settings(handlers: str | None, app: dict[str, Any] | None = None) -> NodeSettings:
    """A BPP's settings naming ``handlers``."""
    node: dict[str, Any] = {
        "subscriber_id": "bpp.example",
        "key_id": "k1",
        "signing_private_key": generate_signing_key()[0],
        "roles": ["bpp"],
    }
    if handlers is not None:
        node["handlers"] = handlers
    return load_settings({"node": node, "app": app or {}})


def test_unset_means_no_handlers() -> None:
    """Without ``handlers`` the node runs with none (it NACKs every action)."""
    assert load_handlers(settings(None)) is None


def test_a_registry_is_used_as_is() -> None:
    """``module:name`` of a HandlerRegistry is that registry."""
    assert load_handlers(settings(f"{__name__}:SHARED")) is SHARED


def test_a_factory_gets_the_settings() -> None:
    """A factory is called with the settings; ``[app]`` reaches it."""
    loaded = load_handlers(settings("iesnode.demo:demo_handlers", {"kwh": 3}))
    assert isinstance(loaded, HandlerRegistry)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("iesnode.demo", "expected 'package.module:name'"),
        ("iesnode.no_such_module:x", "cannot load"),
        ("iesnode.demo:no_such_name", "cannot load"),
        ("iesnode.demo:__all__", "is not a HandlerRegistry"),
    ],
)
def test_bad_specs_are_config_errors(spec: str, why: str) -> None:
    """A spec that names nothing usable is a ConfigError naming node.handlers."""
    with pytest.raises(ConfigError, match=f"node.handlers: .*{why}"):
        load_handlers(settings(spec))
