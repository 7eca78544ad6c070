"""Who may write to the registry: admin keys, per-namespace publishers, signed writes.

Every write to the registry is a signed request in the Beckn ``Authorization`` format
(BECKN-006, as on the protocol endpoints): the signature covers the raw body, its
``keyId`` names the writer. Writers are

* **admins**: keys listed in the registry's configuration (``keyId`` subscriber
  ``admin``); they may write anywhere;
* **publishers**: participants named in a namespace's ``publishers`` list, signing
  with one of their own SUBSCRIBED keys; they may write only in that namespace;
* **self-subscribers**: a participant registering its *own* key, signing with the key
  it registers (proof of possession), in a namespace whose policy allows it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from iesnode.errors import AuthError, Forbidden
from iesnode.interfaces import Clock
from iesnode.protocol.signing import (
    SignatureHeader,
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = ["ADMIN", "AdminKey", "Governance", "NamespacePolicy", "Writer"]

ADMIN = "admin"
"""The keyId subscriber part admins sign with: ``admin|<key id>|ed25519``."""

KeySource = Callable[[str, str], Awaitable[str | None]]
"""(subscriber_id, key_id) -> base64 signing key of a SUBSCRIBED participant, or None."""


@dataclass(frozen=True, slots=True)
class AdminKey:
    """An administrator's Ed25519 public key."""

    key_id: str
    public_key: str


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    """Write rules of one namespace (DeDi: a namespace holds registries)."""

    name: str
    publishers: frozenset[str] = frozenset()
    self_subscribe: bool = True
    registries: frozenset[str] = frozenset()
    """Registries that exist in the namespace; empty means any name may be used."""


@dataclass(frozen=True, slots=True)
class Writer:
    """An authenticated writer."""

    subscriber_id: str
    key_id: str
    is_admin: bool

    @property
    def actor(self) -> str:
        """How the writer is recorded in history."""
        return f"{ADMIN}:{self.key_id}" if self.is_admin else f"{self.subscriber_id}|{self.key_id}"


class Governance:
    """Authenticates signed writes and decides what each writer may change."""

    def __init__(
        self,
        *,
        admins: Sequence[AdminKey],
        namespaces: Sequence[NamespacePolicy],
        clock: Clock,
        clock_skew: float = 5.0,
    ) -> None:
        self._admins = {a.key_id: a for a in admins}
        self._namespaces = {n.name: n for n in namespaces}
        self._clock = clock
        self._skew = clock_skew

    def _header(self, authorization: Sequence[str]) -> SignatureHeader:
        if not authorization:
            raise AuthError("AUT_SIGNATURE_MISSING", "registry writes must be signed")
        if len(authorization) > 1:
            raise AuthError("AUT_SIGNATURE_MALFORMED", "more than one Authorization header")
        header = parse_authorization(authorization[0])
        verify_times(header, self._clock.now(), self._skew)
        return header

    async def authenticate(
        self,
        body: bytes,
        authorization: Sequence[str],
        participant_key: KeySource,
        *,
        proposed_key: tuple[str, str, str] | None = None,
    ) -> Writer:
        """Verify the write's signature; return who wrote it.

        ``proposed_key`` is ``(subscriber_id, key_id, public key)`` of a key the body
        registers: a self-subscription is signed with it (proof of possession).
        """
        header = self._header(authorization)
        if header.subscriber_id == ADMIN:
            admin = self._admins.get(header.key_id)
            if admin is None:
                raise AuthError("AUT_KEY_NOT_FOUND", f"no admin key {header.key_id!r}")
            verify_signature(body, header, load_verify_key(admin.public_key))
            return Writer(ADMIN, header.key_id, is_admin=True)
        public = await participant_key(header.subscriber_id, header.key_id)
        if public is None and proposed_key is not None:
            sid, kid, key = proposed_key
            if (sid, kid) == (header.subscriber_id, header.key_id):
                public = key
        if public is None:
            raise AuthError(
                "AUT_KEY_NOT_FOUND",
                f"{header.subscriber_id!r} has no SUBSCRIBED key {header.key_id!r} here",
            )
        try:
            verify_key = load_verify_key(public)
        except ValueError as exc:
            raise AuthError("AUT_KEY_INVALID", f"registered key is unusable: {exc}") from exc
        verify_signature(body, header, verify_key)
        return Writer(header.subscriber_id, header.key_id, is_admin=False)

    def policy(self, namespace: str) -> NamespacePolicy:
        """The namespace's policy; unknown namespaces are refused."""
        found = self._namespaces.get(namespace)
        if found is None:
            raise Forbidden(
                "POL_UNKNOWN_NAMESPACE",
                f"namespace {namespace!r} is not run here",
                path="namespace",
            )
        return found

    def require_publisher(self, writer: Writer, namespace: str, registry: str) -> None:
        """Admins write anywhere; publishers only in their namespace's registries."""
        policy = self.policy(namespace)
        if policy.registries and registry not in policy.registries:
            raise Forbidden(
                "POL_UNKNOWN_REGISTRY",
                f"registry {registry!r} does not exist in namespace {namespace!r}",
                path="registry",
            )
        if writer.is_admin or writer.subscriber_id in policy.publishers:
            return
        raise Forbidden(
            "POL_NOT_A_PUBLISHER",
            f"{writer.subscriber_id!r} may not publish in namespace {namespace!r}",
            path="namespace",
        )

    def require_self_or_publisher(
        self, writer: Writer, namespace: str, registry: str, subscriber_id: str
    ) -> None:
        """A participant may register its own keys where the namespace allows self-subscription."""
        policy = self.policy(namespace)
        if policy.self_subscribe and writer.subscriber_id == subscriber_id:
            if policy.registries and registry not in policy.registries:
                raise Forbidden(
                    "POL_UNKNOWN_REGISTRY",
                    f"registry {registry!r} does not exist in namespace {namespace!r}",
                    path="registry",
                )
            return
        self.require_publisher(writer, namespace, registry)
