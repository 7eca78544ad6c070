"""Package boundaries: protocol logic stays free of transport and storage imports."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import iesnode

PACKAGE = Path(iesnode.__file__).parent
FORBIDDEN_IN_PROTOCOL = ("aiohttp", "redis")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_protocol_package_imports_no_transport_or_storage() -> None:
    """No module under iesnode/protocol imports aiohttp or redis (DESIGN.md section 2)."""
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & set(FORBIDDEN_IN_PROTOCOL))
        for path in (PACKAGE / "protocol").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_http_package_and_wiring_import_aiohttp() -> None:
    """aiohttp appears only in iesnode/http and the composition roots."""
    # the two composition roots, and the conformance suite (it serves a callback receiver
    # and a loopback registry: a composition root of its own)
    allowed = {"http", "node.py", "registry_serve.py", "conformance"}
    users = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "aiohttp" in _imports(path)
    }
    assert {u for u in users if u.split("/")[0] not in allowed} == set()


def test_every_module_imports_on_its_own() -> None:
    """Each module imports cleanly and its __all__ names exist."""
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="iesnode."):
        if info.name.endswith("__main__"):
            continue  # running it is the point of it
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{info.name}.__all__ lists missing {name}"
