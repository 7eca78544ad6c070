"""Public helpers for people who test against iesnode (and for our own demo and tests).

:class:`LocalNetwork` starts real nodes on loopback (port 0), each with its own
Ed25519 key, and enrols them in one shared static directory, as a closed pilot
would list its participants.
"""

from __future__ import annotations

import base64
from typing import Any

from nacl.signing import SigningKey

from iesnode.interfaces import Clock
from iesnode.model.envelope import Dialect
from iesnode.model.subscriber import Role, Subscriber
from iesnode.node import Node, build
from iesnode.protocol.roles.bpp import HandlerRegistry
from iesnode.registry.static import StaticDirectory
from iesnode.settings import NodeRole, NodeSettings, load_settings

__all__ = ["LocalNetwork", "generate_signing_key"]

_ROLE = {NodeRole.BAP: Role.BAP, NodeRole.BPP: Role.BPP, NodeRole.GATEWAY: Role.BG}


def generate_signing_key() -> tuple[str, str]:
    """A new Ed25519 key as (base64 32-byte seed, base64 public key)."""
    key = SigningKey.generate()
    return (
        base64.b64encode(bytes(key)).decode("ascii"),
        base64.b64encode(bytes(key.verify_key)).decode("ascii"),
    )


class LocalNetwork:
    """Nodes on 127.0.0.1 sharing one :class:`StaticDirectory`."""

    def __init__(
        self,
        *,
        network_id: str = "ies.example/p2p-trading",
        domain: str = "deg:p2p-energy-trading",
        dialect: Dialect = Dialect.V2,
        redis_url: str | None = None,
        clock: Clock | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.directory = StaticDirectory([])
        self.nodes: list[Node] = []
        self._network = {
            "network_id": network_id,
            "domain": domain,
            "dialect": dialect.value,
            "city": "std:080",
            "country": "IND",
        }
        self._redis_url = redis_url
        self._clock = clock
        self._extra = settings or {}

    def settings_for(self, subscriber_id: str, role: NodeRole, private_key: str) -> NodeSettings:
        """The settings a node of this network gets (``settings`` overrides merged in)."""
        data: dict[str, Any] = {
            "node": {
                "subscriber_id": subscriber_id,
                "key_id": "k1",
                "signing_private_key": private_key,
                "roles": [role.value],
            },
            "network": dict(self._network),
            "delivery": {"backoff_base": 0.05, "backoff_max": 0.5},
        }
        for section, values in self._extra.items():
            data.setdefault(section, {}).update(values)
        if self._redis_url:
            data["redis"] = {"url": self._redis_url}
        return load_settings(data)

    async def add(
        self,
        subscriber_id: str,
        role: NodeRole,
        *,
        handlers: HandlerRegistry | None = None,
        enrol: bool = True,
    ) -> Node:
        """Start a node and (unless ``enrol`` is false) list it in the shared directory."""
        private, public = generate_signing_key()
        node = build(
            self.settings_for(subscriber_id, role, private),
            handlers=handlers,
            directory=self.directory,
            clock=self._clock,
        )
        await node.start()
        self.nodes.append(node)
        if enrol:
            self.enrol(node, role, public)
        return node

    def enrol(self, node: Node, role: NodeRole, public_key: str | None = None) -> Subscriber:
        """List ``node`` in the directory as SUBSCRIBED."""
        sub = Subscriber(
            subscriber_id=node.signer.subscriber_id,
            key_id=node.signer.key_id,
            url=node.public_url,
            role=_ROLE[role],
            signing_public_key=public_key or node.signer.public_key,
            network_id=self._network["network_id"],
            domains=(self._network["domain"],),
        )
        self.directory.put(sub)
        return sub

    async def aclose(self) -> None:
        """Stop every node."""
        for node in reversed(self.nodes):
            await node.aclose()
        self.nodes.clear()

    async def __aenter__(self) -> LocalNetwork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
