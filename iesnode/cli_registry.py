"""``iesnode registry ...``: run a registry, subscribe a node, look keys up, revoke keys.

Only argument parsing and printing; the work is in :mod:`iesnode.registry_serve`,
:mod:`iesnode.registry.subscribe` and :mod:`iesnode.registry.client`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from iesnode.clock import SystemClock
from iesnode.errors import ConfigError, IesError
from iesnode.http.transport import AiohttpTransport
from iesnode.model.subscriber import Role
from iesnode.protocol.roles.envelopes import join_url
from iesnode.protocol.signing import Signer
from iesnode.registry.client import RegistryClient
from iesnode.registry.subscribe import encryption_public_key, subscribe, subscription_body
from iesnode.settings import NodeRole, load_settings

__all__ = ["add_registry"]

_ROLE = {NodeRole.BAP: Role.BAP, NodeRole.BPP: Role.BPP, NodeRole.GATEWAY: Role.BG}


def _serve(args: argparse.Namespace) -> int:
    from iesnode.registry_serve import serve_registry

    return serve_registry(
        Path(args.config) if args.config else None,
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir) if args.data_dir else None,
    )


async def _subscribe(args: argparse.Namespace) -> str:
    settings = load_settings(Path(args.config))
    ident, net = settings.node, settings.network
    if ident.encryption_private_key is None:
        raise ConfigError("node.encryption_private_key is needed to answer the challenge")
    if not ident.public_url or not net.network_id:
        raise ConfigError("node.public_url and network.network_id are needed to subscribe")
    registry_url = args.registry_url or settings.registry.url
    if not registry_url:
        raise ConfigError("give --registry-url or set registry.url")
    signer = Signer.from_base64(
        ident.subscriber_id, ident.key_id, ident.signing_private_key.get_secret_value()
    )
    body = subscription_body(
        signer=signer,
        subscriber_url=ident.public_url,
        role=_ROLE[ident.roles[0]],
        encryption_public_key=encryption_public_key(
            ident.encryption_private_key.get_secret_value()
        ),
        network_id=net.network_id,
        domains=(net.domain,) if net.domain else (),
        city=net.city,
        country=net.country,
    )
    transport = AiohttpTransport()
    try:
        return await subscribe(
            registry_url, body, signer=signer, transport=transport, clock=SystemClock()
        )
    finally:
        await transport.aclose()


async def _lookup(args: argparse.Namespace) -> str:
    transport = AiohttpTransport()
    try:
        client = RegistryClient(transport, args.registry_url, api="dedi")
        found = await client.lookup(args.subscriber_id, args.key_id)
    finally:
        await transport.aclose()
    if found is None:
        raise IesError(f"no key {args.key_id!r} of {args.subscriber_id!r}")
    return found.model_dump_json(indent=2)


async def _set_status(args: argparse.Namespace, status: str) -> str:
    signer = Signer.from_base64("admin", args.admin_key_id, args.admin_private_key)
    doc = {"subscriber_id": args.subscriber_id, "key_id": args.key_id, "status": status}
    if args.reason:
        doc["reason"] = args.reason
    body = json.dumps(doc).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": signer.sign(body, int(SystemClock().now())),
    }
    transport = AiohttpTransport()
    try:
        url = join_url(args.registry_url, "participants/status")
        reply = await transport.post(url, body, headers, 10.0)
    finally:
        await transport.aclose()
    if reply.status != 200:
        raise IesError(f"registry answered {reply.status}: {reply.body.decode(errors='replace')}")
    return reply.body.decode()


def _run(work: Coroutine[Any, Any, str]) -> int:
    try:
        out = asyncio.run(work)
    except (IesError, ValueError) as exc:
        print(f"iesnode registry: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


def add_registry(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``registry serve|subscribe|lookup|revoke``."""
    registry = commands.add_parser("registry", help="run or use a participant registry")
    actions = registry.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="run the registry service (defaults need no flags)")
    serve.add_argument("--config", help="TOML settings (IES_REGISTRY_* env overrides)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--data-dir")
    serve.set_defaults(handler=_serve)
    sub = actions.add_parser("subscribe", help="run the subscribe handshake for a running node")
    sub.add_argument("--config", required=True, help="the node's TOML settings")
    sub.add_argument("--registry-url", help="default: registry.url of the node settings")
    sub.set_defaults(handler=lambda a: _run(_subscribe(a)))
    look = actions.add_parser("lookup", help="look one subscriber key up")
    look.add_argument("--registry-url", required=True)
    look.add_argument("subscriber_id")
    look.add_argument("key_id")
    look.set_defaults(handler=lambda a: _run(_lookup(a)))
    for name, status in (("revoke", "REVOKED"), ("suspend", "SUSPENDED")):
        cmd = actions.add_parser(name, help=f"mark a key {status} (admin-signed)")
        cmd.add_argument("--registry-url", required=True)
        cmd.add_argument("--subscriber-id", required=True)
        cmd.add_argument("--key-id", required=True)
        cmd.add_argument("--admin-key-id", required=True)
        cmd.add_argument("--admin-private-key", required=True, help="base64 Ed25519 key")
        cmd.add_argument("--reason")
        cmd.set_defaults(handler=lambda a, s=status: _run(_set_status(a, s)))
