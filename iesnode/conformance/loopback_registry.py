"""The small registry the suite serves on loopback so the target can look our keys up.

It is iesnode's own registry service (:mod:`iesnode.registry.service` with the HTTP
API of :mod:`iesnode.http.registry_app`) over an in-memory record store, mounted under
``/registry`` of the suite's callback server. So a target configured with
``registry URL = {our public URL}/registry`` gets, for our keys and the target's own:

* Beckn v1 ``POST /registry/lookup`` (``{"subscriber_id", "unique_key_id"}`` or any
  v1 filter) answered by an array of ``Subscription`` (``research/beckn-core.md``
  section 3.1-3.2): what iesnode's ``[registry] api = "beckn-v1"`` client sends;
* DeDi ``GET /registry/lookup/{subscriber_id}/{key_id}`` (section 3.4): what
  ``api = "dedi"`` sends.

Records are written the way a registry administrator writes them: a ``POST
/participants`` body signed by an admin key generated for this run.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from iesnode.errors import ConfigError, ProtocolError
from iesnode.http.registry_app import make_registry_app
from iesnode.interfaces import Clock, Transport
from iesnode.model.subscriber import Subscriber
from iesnode.protocol.signing import Signer
from iesnode.registry.governance import ADMIN, AdminKey, Governance, NamespacePolicy
from iesnode.registry.service import RegistryService
from iesnode.registry.subscribe import encryption_public_key
from iesnode.storage.records import MemoryRecordStore

__all__ = ["REGISTRY_PATH", "LoopbackRegistry"]

REGISTRY_PATH = "/registry"
"""Where the registry is mounted below the suite's public URL."""
_ADMIN_KEY_ID = "conformance"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def network_parts(network_id: str | None) -> tuple[str, str]:
    """``ies.example/p2p-trading`` -> (namespace, registry); a default without a network."""
    if not network_id:
        return "conformance", "local"
    namespace, sep, registry = network_id.partition("/")
    return namespace, (registry if sep and registry else "local")


class LoopbackRegistry:
    """An iesnode registry service in memory, with a signing admin of its own."""

    def __init__(
        self,
        *,
        clock: Clock,
        transport: Transport,
        network_id: str | None,
        domain: str | None,
        city: str | None,
        country: str | None,
    ) -> None:
        self._clock = clock
        self._namespace, self._registry = network_parts(network_id)
        self._domain, self._city, self._country = domain, city, country
        admin = SigningKey.generate()
        self._admin = Signer(ADMIN, _ADMIN_KEY_ID, admin)
        self._encryption_key = _b64(bytes(PrivateKey.generate()))
        self.service = RegistryService(
            store=MemoryRecordStore(),
            governance=Governance(
                admins=[AdminKey(_ADMIN_KEY_ID, _b64(bytes(admin.verify_key)))],
                namespaces=[NamespacePolicy(self._namespace, self_subscribe=False)],
                clock=clock,
            ),
            signer=Signer("registry.conformance.iesnode", "k1", SigningKey.generate()),
            encryption_private_key=self._encryption_key,
            transport=transport,
            clock=clock,
        )

    def app(self) -> web.Application:
        """The registry's HTTP API, to mount at :data:`REGISTRY_PATH`."""
        return make_registry_app(self.service)

    async def open(self, url: str) -> None:
        """List the registry itself (role BREG) once its URL is known."""
        await self.service.register_self(
            url=url,
            encryption_public_key=encryption_public_key(self._encryption_key),
            namespace=self._namespace,
        )

    async def publish(self, subscriber: Subscriber, encryption_key: str | None = None) -> None:
        """List ``subscriber`` as SUBSCRIBED in our network.

        The record model requires an encryption key; when the participant's is unknown
        (the target's), a throwaway one fills the field: the suite never encrypts to it.
        """
        doc: dict[str, Any] = {
            "namespace": self._namespace,
            "registry": self._registry,
            "subscriber_id": subscriber.subscriber_id,
            "unique_key_id": subscriber.key_id,
            "subscriber_url": subscriber.url,
            "type": subscriber.role.value,
            "signing_public_key": subscriber.signing_public_key,
            "encr_public_key": encryption_key
            or encryption_public_key(_b64(bytes(PrivateKey.generate()))),
        }
        if self._domain:
            doc["domain"] = [self._domain]
        if self._city:
            doc["city"] = self._city
        if self._country:
            doc["country"] = self._country
        body = json.dumps(doc).encode("utf-8")
        auth = self._admin.sign(body, int(self._clock.now()))
        try:
            await self.service.publish(body, [auth])
        except ProtocolError as exc:
            raise ConfigError(
                f"cannot list {subscriber.subscriber_id} in the loopback registry: {exc.message}"
            ) from exc
