"""``iesnode serve --config FILE``: run one node until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
from pathlib import Path

import structlog

from iesnode.errors import ConfigError
from iesnode.log import configure_logging
from iesnode.node import build
from iesnode.protocol.roles.bpp import HandlerRegistry
from iesnode.settings import NodeSettings, load_settings

__all__ = ["load_handlers", "run_node", "serve"]

log = structlog.get_logger(__name__)


def load_handlers(settings: NodeSettings) -> HandlerRegistry | None:
    """The handlers ``node.handlers`` names (``package.module:name``), or None when unset.

    ``name`` is a :class:`HandlerRegistry` or a callable taking the settings and returning
    one. Anything else is a :class:`ConfigError` naming ``node.handlers``.
    """
    spec = settings.node.handlers
    if spec is None:
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"node.handlers: expected 'package.module:name', got {spec!r}")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"node.handlers: cannot load {spec!r}: {exc}") from exc
    if not isinstance(target, HandlerRegistry) and callable(target):
        target = target(settings)
    if not isinstance(target, HandlerRegistry):
        raise ConfigError(f"node.handlers: {spec!r} is not a HandlerRegistry or a factory of one")
    return target


async def run_node(settings: NodeSettings, handlers: HandlerRegistry | None = None) -> None:
    """Start a node, print its URL on stdout, and run until a termination signal."""
    node = build(settings, handlers=handlers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with node:
        print(f"iesnode listening on {node.public_url}", flush=True)
        await stop.wait()
        log.info("node_stopping")


def serve(config: Path, handlers: HandlerRegistry | None = None) -> int:
    """Load ``config`` (TOML, ``IES_*`` overrides) and run the node; 2 on a bad config."""
    configure_logging()
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"iesnode: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run_node(settings, handlers or load_handlers(settings)))
    except ConfigError as exc:
        print(f"iesnode: {exc}", file=sys.stderr)
        return 2
    return 0
