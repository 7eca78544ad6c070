"""The suite's side of the network, wired for one run (the conformance composition root).

Towards a BPP target the suite plays BAP and gateway (``research/beckn-core.md``
sections 2 and 4): it signs requests with its own keys (:mod:`.identities`), receives
the target's callbacks (:mod:`.receiver`) and, unless in static mode, serves a registry
listing its keys (:mod:`.loopback_registry`). Towards a BAP target it plays the BPP
(and the gateway, for discovery): it receives the target's requests and signs the
callbacks it sends back (:mod:`.bap_wire`). All of it is one HTTP server:

* ``POST {public}/bap/{action}``, ``/other/{action}``, ``/gateway/{action}``: callbacks;
* ``POST {public}/bpp/{action}`` (and ``/gateway/discover``): a BAP target's requests;
* ``{public}/registry``: the registry (``POST /registry/lookup`` Beckn v1,
  ``GET /registry/lookup/{subscriber_id}/{key_id}`` DeDi);
* ``GET {public}/health``.

**Configuring a target to trust the suite.** Point the target's registry at
``{public}/registry`` (for iesnode: ``[registry] url = "http://HOST:PORT/registry"``,
``api = "beckn-v1"`` or ``"dedi"``), and start the suite with ``--listen HOST:PORT``
(plus ``--public-url`` when the target reaches us through another address). In static
mode (``--static --keys FILE``) there is no registry; the suite prints our subscriber
ids, key ids and public keys to enter in the target instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import structlog
from aiohttp import web

from iesnode.clock import SystemClock
from iesnode.conformance.identities import CounterpartKeys, Identity
from iesnode.conformance.loopback_registry import REGISTRY_PATH, LoopbackRegistry
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import CallbackReceiver
from iesnode.conformance.target import TargetKeys
from iesnode.conformance.wire import Wire
from iesnode.http.transport import AiohttpTransport
from iesnode.model.subscriber import Subscriber
from iesnode.protocol.schema import SchemaRegistry

__all__ = ["Counterpart", "schemas"]

log = structlog.get_logger(__name__)


@functools.cache
def schemas() -> SchemaRegistry:
    """iesnode's compiled Beckn schemas (loaded once per process)."""
    return SchemaRegistry.load()


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": "iesnode conformance counterpart"})


@dataclass
class Counterpart:
    """A started counterpart: keys, receiver, registry, outbound wire and the target's keys."""

    options: RunOptions
    keys: CounterpartKeys
    receiver: CallbackReceiver
    registry: LoopbackRegistry | None
    wire: Wire
    target_keys: TargetKeys
    public_url: str
    _runner: web.AppRunner
    _transport: AiohttpTransport

    @property
    def registry_url(self) -> str | None:
        """The URL a target configures as its registry (None in static mode)."""
        return None if self.registry is None else self.public_url + REGISTRY_PATH

    def url_of(self, identity: Identity) -> str:
        """The subscriber URL of one of our identities."""
        return f"{self.public_url}/{identity.name}"

    @property
    def schemas(self) -> SchemaRegistry:
        """The Beckn schemas callbacks are validated against."""
        return schemas()

    @classmethod
    async def start(cls, options: RunOptions) -> Counterpart:
        """Bind the server, list our keys (and the target's) in the loopback registry."""
        keys = options.keys or CounterpartKeys.generate()
        clock = SystemClock()
        transport = AiohttpTransport(user_agent="iesnode-conformance")
        receiver = CallbackReceiver({i.name: i.signer() for i in keys.all})
        registry = (
            None
            if options.static
            else LoopbackRegistry(
                clock=clock,
                transport=transport,
                network_id=options.network_id,
                domain=options.domain,
                city=options.city,
                country=options.country,
            )
        )
        app = web.Application(client_max_size=4 * 1_048_576)
        app.router.add_get("/health", _health)
        receiver.routes(app)
        if registry is not None:
            app.add_subapp(REGISTRY_PATH, registry.app())
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, options.listen_host, options.listen_port)
            await site.start()
            host, port = runner.addresses[0][:2]
            public = (options.public_url or f"http://{host}:{port}").rstrip("/")
            wire = Wire(options=options, keys=keys, transport=transport, bap_uri=f"{public}/bap")
            counterpart = cls(
                options=options,
                keys=keys,
                receiver=receiver,
                registry=registry,
                wire=wire,
                target_keys=TargetKeys(options.target, transport),
                public_url=public,
                _runner=runner,
                _transport=transport,
            )
            if registry is not None:
                await counterpart._list_participants(registry)
        except BaseException:
            await runner.cleanup()
            await transport.aclose()
            raise
        log.info("counterpart_started", url=public, registry=counterpart.registry_url)
        return counterpart

    async def _list_participants(self, registry: LoopbackRegistry) -> None:
        await registry.open(self.public_url + REGISTRY_PATH)
        for identity in self.keys.all:
            record = Subscriber(
                subscriber_id=identity.subscriber_id,
                key_id=identity.key_id,
                url=self.url_of(identity),
                role=identity.role,
                signing_public_key=identity.signing_public_key,
            )
            await registry.publish(record, identity.encryption_public_key)
        target = self.options.target.given_subscriber()
        if target is not None:
            await registry.publish(target)

    async def aclose(self) -> None:
        """Stop serving and close outbound connections."""
        await self._runner.cleanup()
        await self._transport.aclose()

    async def __aenter__(self) -> Counterpart:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
