"""One P2P role as its own node process: ``python -m iesnode.usecases.p2p.process FILE``.

The file is a node configuration exactly as ``iesnode serve`` reads it (``[node]``,
``[network]``, ``[registry]``, ``[redis]``, ``[policy]``, ``[adapters.*]``; ``IES_*``
variables override it) plus one ``[p2p.<role>]`` table, the role's plain-data
configuration (:mod:`.config`)::

    [node]
    subscriber_id = "BESCOM-KA"              # a ledger provider runs as its DISCOM id
    key_id = "k1"
    roles = ["bpp", "bap"]                   # BPP to platforms, BAP to the meter-data BPP
    ...
    [policy]
    packs = ["iesnode/policy/packs/p2p-trading-network"]
    networks = { "indiaenergystack.in/test-ies-p2p-trading-network" = "p2p-trading-network" }

    [p2p.ledger_provider]
    discom_id = "BESCOM-KA"
    ledger_path = "/var/lib/iesnode/bescom-ledger.sqlite"
    meter_bpp = "mdm.bescom.example"
    meter_network_id = "indiaenergystack.in/test-ies-data-sharing-network"
    allocate_at = 01:00:00                   # the daily run over the previous day

``--control PATH`` also listens on a Unix socket for the operator's commands (a ledger
provider's allocation run now, a curtailment, a ledger check: :mod:`.control`).

Roles: ``seller_platform`` (node roles ``["bpp", "bap"]``), ``buyer_platform``
(``["bap"]``; driven by the embedding application through :class:`~.buyer.BuyerPlatform`),
``ledger_provider`` (``["bpp", "bap"]``) and ``meter_bpp`` (``["bpp"]``, with the
``[adapters.<adapter>]`` table it reads). The role is bound to the node right after the
node starts; it stops (tasks cancelled, ledger closed) before the node on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from iesnode.errors import ConfigError
from iesnode.log import configure_logging
from iesnode.node import build
from iesnode.settings import NodeSettings, load_settings
from iesnode.usecases.p2p.buyer import BuyerPlatform
from iesnode.usecases.p2p.config import (
    BuyerPlatformConfig,
    LedgerProviderConfig,
    MeterBppConfig,
    SellerPlatformConfig,
)
from iesnode.usecases.p2p.control import serve_control
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.meter_bpp import MeterDataBpp
from iesnode.usecases.p2p.peers import P2PRole
from iesnode.usecases.p2p.platform import SellerPlatform

__all__ = ["ROLES", "load_role", "main", "run_role"]

log = structlog.get_logger(__name__)

ROLES: dict[str, tuple[type[BaseModel], Callable[[Any], P2PRole]]] = {
    "seller_platform": (SellerPlatformConfig, SellerPlatform),
    "buyer_platform": (BuyerPlatformConfig, BuyerPlatform),
    "ledger_provider": (LedgerProviderConfig, LedgerProvider),
    "meter_bpp": (MeterBppConfig, MeterDataBpp),
}
"""Role name -> (its ``[p2p.<role>]`` model, the role built from a validated table)."""


def load_role(source: Path | dict[str, Any]) -> tuple[NodeSettings, P2PRole]:
    """The node settings and the role a file (or parsed dict) describes; ConfigError if bad."""
    try:
        raw = tomllib.loads(source.read_text("utf-8")) if isinstance(source, Path) else dict(source)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {source}: {exc}") from exc
    tables = raw.pop("p2p", None)
    if not isinstance(tables, dict) or len(tables) != 1:
        raise ConfigError(f"p2p: exactly one [p2p.<role>] table, one of {sorted(ROLES)}")
    ((name, table),) = tables.items()
    if name not in ROLES:
        raise ConfigError(f"p2p.{name}: unknown role; known: {sorted(ROLES)}")
    model, factory = ROLES[name]
    try:
        config = model.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"p2p.{name}.{where}: {first['msg']}") from exc
    return load_settings(raw), factory(config)


async def run_role(
    settings: NodeSettings, role: P2PRole, stop: asyncio.Event, control: Path | None = None
) -> None:
    """Start the node, the role and its ``control`` socket; print the URL; run until ``stop``."""
    node = build(settings, handlers=role.handlers)
    async with node:
        await role.start(node)
        server = await serve_control(control, role, node) if control is not None else None
        try:
            print(f"iesnode p2p {type(role).__name__} listening on {node.public_url}", flush=True)
            await stop.wait()
            log.info("p2p_role_stopping", role=type(role).__name__)
        finally:
            if server is not None:
                server.close()
            await role.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the role a file describes; 2 on a bad file."""
    parser = argparse.ArgumentParser(prog="python -m iesnode.usecases.p2p.process")
    parser.add_argument("config", help="TOML node configuration with one [p2p.<role>] table")
    parser.add_argument("--control", type=Path, help="Unix socket for operator commands")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        settings, role = load_role(Path(args.config))
    except ConfigError as exc:
        print(f"iesnode: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_role(settings, role, stop, args.control)

    try:
        asyncio.run(serve())
    except ConfigError as exc:
        print(f"iesnode: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
