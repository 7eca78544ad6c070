"""``iesnode registry serve``: wiring and running the registry service.

The composition root of the registry role (as :mod:`iesnode.node` is the node's):
SQLite record store in ``data_dir``, the registry's keys (from settings, or generated
once and kept in ``data_dir/keys.json``), governance from settings, the aiohttp app.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from iesnode.clock import SystemClock
from iesnode.errors import ConfigError
from iesnode.http.registry_app import make_registry_app
from iesnode.http.transport import AiohttpTransport
from iesnode.interfaces import Clock
from iesnode.log import configure_logging
from iesnode.protocol.signing import Signer
from iesnode.registry.governance import AdminKey, Governance, NamespacePolicy
from iesnode.registry.service import RegistryService
from iesnode.registry.subscribe import encryption_public_key
from iesnode.settings import RegistryServiceSettings, load_registry_settings
from iesnode.storage.sqlite import SqliteRecordStore

__all__ = ["RunningRegistry", "registry_keys", "serve_registry", "start_registry"]

log = structlog.get_logger(__name__)


def registry_keys(settings: RegistryServiceSettings) -> tuple[str, str]:
    """(signing private key, encryption private key) from settings, else ``data_dir/keys.json``."""
    signing = settings.signing_private_key
    encryption = settings.encryption_private_key
    if signing is not None and encryption is not None:
        return signing.get_secret_value(), encryption.get_secret_value()
    path = settings.data_dir / "keys.json"
    if path.exists():
        stored = json.loads(path.read_text("utf-8"))
        return str(stored["signing_private_key"]), str(stored["encryption_private_key"])
    keys = {
        "signing_private_key": base64.b64encode(bytes(SigningKey.generate())).decode(),
        "encryption_private_key": base64.b64encode(bytes(PrivateKey.generate())).decode(),
    }
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(keys, out)
    log.info("registry_keys_generated", path=str(path))
    return keys["signing_private_key"], keys["encryption_private_key"]


@dataclass
class RunningRegistry:
    """A started registry: its URL and what to close."""

    url: str
    service: RegistryService
    runner: web.AppRunner
    store: SqliteRecordStore
    transport: AiohttpTransport

    async def aclose(self) -> None:
        """Stop serving and close the store."""
        await self.runner.cleanup()
        await self.transport.aclose()
        await self.store.aclose()


async def start_registry(
    settings: RegistryServiceSettings, *, clock: Clock | None = None
) -> RunningRegistry:
    """Open the store, wire the service, bind the HTTP server, list the registry itself."""
    clock = clock or SystemClock()
    signing_key, encryption_key = registry_keys(settings)
    try:
        signer = Signer.from_base64(settings.subscriber_id, settings.key_id, signing_key)
        encryption_public = encryption_public_key(encryption_key)
    except ValueError as exc:
        raise ConfigError(f"registry keys: {exc}") from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await SqliteRecordStore.open(settings.data_dir / "registry.sqlite3")
    transport = AiohttpTransport()
    governance = Governance(
        admins=[AdminKey(a.key_id, a.public_key) for a in settings.admins],
        namespaces=[
            NamespacePolicy(
                n.name, frozenset(n.publishers), n.self_subscribe, frozenset(n.registries)
            )
            for n in settings.namespaces
        ],
        clock=clock,
        clock_skew=settings.clock_skew,
    )
    service = RegistryService(
        store=store,
        governance=governance,
        signer=signer,
        encryption_private_key=encryption_key,
        transport=transport,
        clock=clock,
        challenge_timeout=settings.challenge_timeout,
    )
    await service.load_index()
    runner = web.AppRunner(make_registry_app(service), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = settings.public_url or f"http://{host}:{port}"
    await service.register_self(
        url=url, encryption_public_key=encryption_public, namespace=settings.namespaces[0].name
    )
    log.info("registry_started", url=url)
    return RunningRegistry(url, service, runner, store, transport)


async def _run(settings: RegistryServiceSettings) -> None:
    registry = await start_registry(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"iesnode registry listening on {registry.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await registry.aclose()


def serve_registry(
    config: Path | None, *, host: str | None, port: int | None, data_dir: Path | None
) -> int:
    """Run the registry until a termination signal; 2 on a bad configuration."""
    configure_logging()
    try:
        settings = load_registry_settings(config)
        overrides = {
            k: v
            for k, v in (("host", host), ("port", port), ("data_dir", data_dir))
            if v is not None
        }
        if overrides:
            settings = settings.model_copy(update=overrides)
        asyncio.run(_run(settings))
    except ConfigError as exc:
        print(f"iesnode registry: {exc}", file=sys.stderr)
        return 2
    return 0
