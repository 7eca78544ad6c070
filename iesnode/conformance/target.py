"""Who the target is, and where the suite learns the keys it must sign its callbacks with.

A callback is correctly signed only if it verifies with the key the *network* holds
for the target (BECKN-006 steps 2-3: look the keyId up in the registry), never with a
key the callback itself offers. The operator therefore names the target's key in one
of two ways:

* **given**: ``--target-id``, ``--target-key-id`` and ``--target-public-key``; the
  suite also lists this key in its loopback registry;
* **looked up**: ``--target-id`` and ``--target-registry-url`` (Beckn v1
  ``POST /lookup`` or DeDi ``GET /lookup``, ``research/beckn-core.md`` section 3);
  every keyId a callback names is looked up there.
"""

from __future__ import annotations

from dataclasses import dataclass

from iesnode.errors import ConfigError
from iesnode.interfaces import Transport
from iesnode.model.subscriber import Role, Subscriber
from iesnode.protocol.signing import load_verify_key
from iesnode.registry.client import RegistryApi, RegistryClient

__all__ = ["TargetKeys", "TargetProfile"]


@dataclass(frozen=True, slots=True)
class TargetProfile:
    """The participant under test."""

    url: str
    """Where its Beckn endpoints are (``POST {url}/{action}``); also its bppUri/bapUri."""
    role: str
    """``bpp`` or ``bap``."""
    subscriber_id: str
    key_id: str | None = None
    public_key: str | None = None
    registry_url: str | None = None
    registry_api: RegistryApi = "beckn-v1"

    def __post_init__(self) -> None:
        if self.public_key is not None:
            if self.key_id is None:
                raise ConfigError("--target-public-key needs --target-key-id")
            try:
                load_verify_key(self.public_key)
            except ValueError as exc:
                raise ConfigError(f"--target-public-key: {exc}") from exc
        elif self.registry_url is None:
            raise ConfigError(
                "name the target's signing key: --target-key-id with --target-public-key, "
                "or --target-registry-url to look it up"
            )

    @property
    def registry_role(self) -> Role:
        """The role the target is listed with."""
        return Role.BPP if self.role == "bpp" else Role.BAP

    def given_subscriber(self) -> Subscriber | None:
        """The target's record when its key was given on the command line."""
        if self.public_key is None or self.key_id is None:
            return None
        return Subscriber(
            subscriber_id=self.subscriber_id,
            key_id=self.key_id,
            url=self.url,
            role=self.registry_role,
            signing_public_key=self.public_key,
        )


class TargetKeys:
    """Resolves ``(subscriber_id, key_id)`` of a callback's keyId to the target's key."""

    def __init__(self, profile: TargetProfile, transport: Transport) -> None:
        self._profile = profile
        self._given = profile.given_subscriber()
        self._client = (
            RegistryClient(transport, profile.registry_url, api=profile.registry_api)
            if profile.registry_url
            else None
        )
        self._cache: dict[tuple[str, str], Subscriber | None] = {}

    async def lookup(self, subscriber_id: str, key_id: str) -> Subscriber | None:
        """The target's registered key, or None when the keyId is not one of the target's.

        Raises ``TransportError`` when the target's registry cannot be asked.
        """
        if subscriber_id != self._profile.subscriber_id:
            return None
        if self._given is not None:
            return self._given if key_id == self._given.key_id else None
        if (subscriber_id, key_id) not in self._cache:
            assert self._client is not None  # TargetProfile guarantees one of the two
            self._cache[subscriber_id, key_id] = await self._client.lookup(subscriber_id, key_id)
        return self._cache[subscriber_id, key_id]
