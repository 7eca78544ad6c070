"""The registry service: participants, their keys, subscription, revocation, history.

Implements the registry role of issue 3 over the ``RecordStore`` seam (every write
appends a version, so ``as_on`` lookups answer as of any past moment).
:class:`RegistryService` is what the HTTP API and the composition roots use; it is
composed of one collaborator per concern:

* ``subscribe`` (Beckn v1.1.1 registry API): the body is signed with the key it
  registers; the registry sends the subscriber's ``/on_subscribe`` an X25519 +
  AES-256-ECB challenge signed with its own key and records ``SUBSCRIBED`` only when
  the answer matches. Nothing is written when any step fails
  (:mod:`iesnode.registry.subscription_flow`).
* ``publish`` / ``set_status``: admins and namespace publishers write records and
  revoke or suspend keys (:mod:`iesnode.registry.governance`,
  :mod:`iesnode.registry.key_admin`).
* lookups by ``(subscriber_id, key_id)`` and searches with the Beckn v1 filters
  (:mod:`iesnode.registry.participants`).
* the authorised institutions (:mod:`iesnode.registry.institutions`) and the credential
  revocation registry (``revoke_credential``/``credential_revocation``,
  :mod:`iesnode.registry.revocations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from iesnode.interfaces import Clock, RecordStore, Transport
from iesnode.model.subscriber import Role
from iesnode.protocol.signing import Signer
from iesnode.registry.governance import Governance
from iesnode.registry.institutions import InstitutionRegistry
from iesnode.registry.key_admin import KeyAdministration
from iesnode.registry.participants import WITHDRAWN, ParticipantDirectory
from iesnode.registry.records import ParticipantRecord, ParticipantStatus
from iesnode.registry.revocations import CredentialRevocations
from iesnode.registry.subscription_flow import SubscriptionFlow
from iesnode.registry.wire_views import beckn_v1_subscription, dedi_participant
from iesnode.registry.write_requests import years_after

__all__ = ["RegistryService"]


class RegistryService:
    """All registry behaviour, independent of HTTP."""

    def __init__(
        self,
        *,
        store: RecordStore,
        governance: Governance,
        signer: Signer,
        encryption_private_key: str,
        transport: Transport,
        clock: Clock,
        challenge_timeout: float = 5.0,
    ) -> None:
        self._signer = signer
        self._clock = clock
        self._directory = ParticipantDirectory(store, clock)
        self._subscriptions = SubscriptionFlow(
            directory=self._directory,
            governance=governance,
            signer=signer,
            encryption_private_key=encryption_private_key,
            transport=transport,
            clock=clock,
            challenge_timeout=challenge_timeout,
        )
        self._keys = KeyAdministration(
            directory=self._directory, governance=governance, clock=clock
        )
        self._institutions = InstitutionRegistry(
            store=store, directory=self._directory, governance=governance, clock=clock
        )
        self._revocations = CredentialRevocations(
            store=store, directory=self._directory, governance=governance, clock=clock
        )

    @property
    def subscriber_id(self) -> str:
        """The registry's own subscriber id."""
        return self._signer.subscriber_id

    @property
    def signing_public_key(self) -> str:
        """The registry's own base64 Ed25519 public key (its BREG record carries it)."""
        return self._signer.public_key

    async def load_index(self) -> None:
        """Index every stored participant key by ``(subscriber_id, key_id)``."""
        await self._directory.load_index()

    async def register_self(self, *, url: str, encryption_public_key: str, namespace: str) -> None:
        """List the registry's own key (role BREG) so nodes can verify what it signs."""
        now = datetime.fromtimestamp(self._clock.now(), UTC)
        existing = await self.lookup(self._signer.subscriber_id, self._signer.key_id)
        record = ParticipantRecord(
            namespace=namespace,
            registry="registry",
            subscriber_id=self._signer.subscriber_id,
            subscriber_url=url,
            role=Role.REGISTRY,
            signing_public_key=self._signer.public_key,
            encryption_public_key=encryption_public_key,
            key_id=self._signer.key_id,
            status=ParticipantStatus.SUBSCRIBED,
            valid_from=existing.valid_from if existing else now,
            valid_until=existing.valid_until if existing else years_after(now, 10),
            created=existing.created if existing else now,
            updated=now,
        )
        if existing is None or existing.model_dump(exclude={"updated"}) != record.model_dump(
            exclude={"updated"}
        ):
            await self._directory.write(record, "registry")

    async def lookup(
        self, subscriber_id: str, key_id: str, *, as_on: float | None = None
    ) -> ParticipantRecord | None:
        """The key as stored (as of ``as_on``), or None."""
        return await self._directory.lookup(subscriber_id, key_id, as_on=as_on)

    def effective(self, record: ParticipantRecord, as_on: float | None = None) -> ParticipantRecord:
        """The record with its status at ``as_on`` (default now): expired keys say EXPIRED."""
        return self._directory.effective(record, as_on)

    @staticmethod
    def is_withdrawn(record: ParticipantRecord) -> bool:
        """Revoked or suspended: DeDi lookups answer 410."""
        return record.status in WITHDRAWN

    def v1_shape(self, record: ParticipantRecord) -> dict[str, object]:
        """A Beckn v1 ``Subscription``."""
        return beckn_v1_subscription(record)

    def dedi_shape(self, record: ParticipantRecord) -> dict[str, object]:
        """A flat DeDi-style record."""
        return dedi_participant(record)

    async def search(
        self,
        *,
        subscriber_id: str | None = None,
        key_id: str | None = None,
        role: str | None = None,
        network_id: str | None = None,
        domain: str | None = None,
        city: str | None = None,
        country: str | None = None,
        status: str | None = None,
        as_on: float | None = None,
    ) -> list[ParticipantRecord]:
        """Every key matching all given filters, with its status at ``as_on``."""
        return await self._directory.search(
            subscriber_id=subscriber_id,
            key_id=key_id,
            role=role,
            network_id=network_id,
            domain=domain,
            city=city,
            country=country,
            status=status,
            as_on=as_on,
        )

    async def participant_key(self, subscriber_id: str, key_id: str) -> str | None:
        """The signing key of a currently SUBSCRIBED participant key (for governance)."""
        return await self._directory.participant_key(subscriber_id, key_id)

    async def subscribe(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """Verify the signed request, challenge the subscriber, record SUBSCRIBED."""
        return await self._subscriptions.subscribe(body, authorization)

    async def publish(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """An admin or namespace publisher writes a participant key directly."""
        return await self._keys.publish(body, authorization)

    async def set_status(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """Revoke, suspend or reinstate a key; revocation is final."""
        return await self._keys.set_status(body, authorization)

    async def history(self, subscriber_id: str, key_id: str) -> list[dict[str, object]]:
        """Every version of a key: who wrote it when, and what."""
        return await self._directory.history(subscriber_id, key_id)

    async def publish_institution(
        self, body: bytes, authorization: Sequence[str]
    ) -> dict[str, object]:
        """An admin or namespace publisher records an authorised institution (or a change)."""
        return await self._institutions.publish_institution(body, authorization)

    async def institutions(
        self, *, role: str | None = None, org_id: str | None = None, as_on: float | None = None
    ) -> list[dict[str, object]]:
        """Authorised institutions (as of ``as_on``), filtered by role and organisation."""
        return await self._institutions.institutions(role=role, org_id=org_id, as_on=as_on)

    async def revoke_credential(
        self, body: bytes, authorization: Sequence[str]
    ) -> dict[str, object]:
        """Record a revoked credential (a publisher of the namespace, or an admin)."""
        return await self._revocations.revoke_credential(body, authorization)

    async def credential_revocation(
        self, credential_id: str, *, as_on: float | None = None
    ) -> dict[str, object] | None:
        """The revocation of ``credential_id`` (as of ``as_on``), or None if not revoked."""
        return await self._revocations.credential_revocation(credential_id, as_on=as_on)
