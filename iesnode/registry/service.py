"""The registry service: participants, their keys, subscription, revocation, history.

Implements the registry role of issue 3 over the ``RecordStore`` seam (every write
appends a version, so ``as_on`` lookups answer as of any past moment):

* ``subscribe`` (Beckn v1.1.1 registry API): the body is signed with the key it
  registers; the registry sends the subscriber's ``/on_subscribe`` an X25519 +
  AES-256-ECB challenge signed with its own key and records ``SUBSCRIBED`` only when
  the answer matches. Nothing is written when any step fails.
* ``publish`` / ``set_status``: admins and namespace publishers write records and
  revoke or suspend keys (:mod:`iesnode.registry.governance`).
* lookups by ``(subscriber_id, key_id)`` and searches with the Beckn v1 filters.
* the credential revocation registry (``revoke_credential``/``credential_revocation``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from iesnode.errors import AuthError, Conflict, Forbidden, RequestRejected, TransportError
from iesnode.interfaces import Clock, RecordStore, Transport
from iesnode.model.subscriber import Role
from iesnode.protocol.challenge import check_answer, issue_challenge
from iesnode.protocol.roles.envelopes import join_url
from iesnode.protocol.signing import Signer
from iesnode.registry.governance import Governance, Writer
from iesnode.registry.records import (
    InstitutionRecord,
    ParticipantRecord,
    ParticipantStatus,
    RevocationRecord,
    beckn_v1_subscription,
    dedi_participant,
)

__all__ = ["RegistryService"]

log = structlog.get_logger(__name__)
_WITHDRAWN = (ParticipantStatus.REVOKED, ParticipantStatus.SUSPENDED)
_V1_FIELDS = {
    "unique_key_id": "key_id",
    "ukId": "key_id",
    "pub_key_id": "key_id",
    "type": "role",
    "domain": "domains",
    "encr_public_key": "encryption_public_key",
}


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestRejected("SCH_INVALID_JSON", "body is not JSON", path="$") from None
    if not isinstance(doc, dict):
        raise RequestRejected("SCH_INVALID_BODY", "body must be a JSON object", path="$")
    return doc


def _invalid(exc: ValidationError) -> RequestRejected:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "$"
    return RequestRejected("SCH_VALIDATION_FAILED", f"{path}: {err['msg']}", path=path)


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
        self._store = store
        self._governance = governance
        self._signer = signer
        self._encryption_private_key = encryption_private_key
        self._transport = transport
        self._clock = clock
        self._timeout = challenge_timeout
        self._index: dict[tuple[str, str], str] = {}

    @property
    def subscriber_id(self) -> str:
        """The registry's own subscriber id."""
        return self._signer.subscriber_id

    @property
    def signing_public_key(self) -> str:
        """The registry's own base64 Ed25519 public key (its BREG record carries it)."""
        return self._signer.public_key

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    async def load_index(self) -> None:
        """Index every stored participant key by ``(subscriber_id, key_id)``."""
        for version in await self._store.scan(ParticipantRecord.KIND):
            record = ParticipantRecord.from_data(version.data)
            self._index[record.subscriber_id, record.key_id] = version.key

    async def register_self(self, *, url: str, encryption_public_key: str, namespace: str) -> None:
        """List the registry's own key (role BREG) so nodes can verify what it signs."""
        now = self._now()
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
            valid_until=existing.valid_until if existing else now.replace(year=now.year + 10),
            created=existing.created if existing else now,
            updated=now,
        )
        if existing is None or existing.model_dump(exclude={"updated"}) != record.model_dump(
            exclude={"updated"}
        ):
            await self._write(record, "registry")

    async def _write(self, record: ParticipantRecord, actor: str) -> None:
        key = record.record_key()
        await self._store.put(
            ParticipantRecord.KIND, key, record.to_data(), actor=actor, at=self._clock.now()
        )
        self._index[record.subscriber_id, record.key_id] = key

    async def lookup(
        self, subscriber_id: str, key_id: str, *, as_on: float | None = None
    ) -> ParticipantRecord | None:
        """The key as stored (as of ``as_on``), or None."""
        key = self._index.get((subscriber_id, key_id))
        if key is None:
            return None
        version = await self._store.get(ParticipantRecord.KIND, key, as_on=as_on)
        return None if version is None else ParticipantRecord.from_data(version.data)

    def effective(self, record: ParticipantRecord, as_on: float | None = None) -> ParticipantRecord:
        """The record with its status at ``as_on`` (default now): expired keys say EXPIRED."""
        at = datetime.fromtimestamp(self._clock.now() if as_on is None else as_on, UTC)
        return record.model_copy(update={"status": record.effective_status(at)})

    @staticmethod
    def is_withdrawn(record: ParticipantRecord) -> bool:
        """Revoked or suspended: DeDi lookups answer 410."""
        return record.status in _WITHDRAWN

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
        found: list[ParticipantRecord] = []
        for version in await self._store.scan(ParticipantRecord.KIND, as_on=as_on):
            record = self.effective(ParticipantRecord.from_data(version.data), as_on)
            if (
                (subscriber_id is None or record.subscriber_id == subscriber_id)
                and (key_id is None or record.key_id == key_id)
                and (role is None or record.role.value == role)
                and (network_id is None or record.network_id == network_id)
                and (domain is None or not record.domains or domain in record.domains)
                and (city is None or record.city in (None, "*", city))
                and (country is None or record.country in (None, country))
                and (status is None or record.status.to_subscriber_status().value == status)
            ):
                found.append(record)
        return found

    async def participant_key(self, subscriber_id: str, key_id: str) -> str | None:
        """The signing key of a currently SUBSCRIBED participant key (for governance)."""
        record = await self.lookup(subscriber_id, key_id)
        if record is None or not record.is_valid_at(self._now()):
            return None
        return record.signing_public_key

    def _participant(self, doc: dict[str, Any], status: ParticipantStatus) -> ParticipantRecord:
        fields = {_V1_FIELDS.get(k, k): v for k, v in doc.items() if k != "nonce"}
        if isinstance(fields.get("domains"), str):
            fields["domains"] = [fields["domains"]]
        now = self._now()
        fields.setdefault("valid_from", now)
        fields.setdefault("valid_until", now.replace(year=now.year + 1))
        fields.update(status=status, created=now, updated=now)
        try:
            return ParticipantRecord.model_validate(fields)
        except ValidationError as exc:
            raise _invalid(exc) from exc

    async def _check_replacement(self, record: ParticipantRecord) -> ParticipantRecord:
        """A key id keeps its key: re-registering another key under it is a conflict."""
        existing = await self.lookup(record.subscriber_id, record.key_id)
        if existing is None:
            return record
        if existing.signing_public_key != record.signing_public_key:
            raise Conflict(
                "REG_DUPLICATE_KEY_ID",
                f"{record.subscriber_id!r} already has a different key {record.key_id!r}; "
                "rotate by registering a new key id",
                path="unique_key_id",
            )
        if existing.record_key() != record.record_key():
            raise Conflict(
                "REG_DUPLICATE_KEY_ID",
                f"key {record.key_id!r} of {record.subscriber_id!r} is registered in "
                f"{existing.network_id}",
                path="namespace",
            )
        if existing.status is ParticipantStatus.REVOKED:
            raise Forbidden(
                "REG_KEY_REVOKED", "a revoked key cannot be registered again", path="unique_key_id"
            )
        return record.model_copy(update={"created": existing.created})

    async def subscribe(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """Verify the signed request, challenge the subscriber, record SUBSCRIBED."""
        record = self._participant(_json(body), ParticipantStatus.SUBSCRIBED)
        proposed = (record.subscriber_id, record.key_id, record.signing_public_key)
        writer = await self._governance.authenticate(
            body, authorization, self.participant_key, proposed_key=proposed
        )
        self._governance.require_self_or_publisher(
            writer, record.namespace, record.registry, record.subscriber_id
        )
        record = await self._check_replacement(record)
        await self._challenge(record)
        await self._write(record, writer.actor)
        log.info("subscribed", subscriber_id=record.subscriber_id, key_id=record.key_id)
        return record

    async def _challenge(self, record: ParticipantRecord) -> None:
        plaintext, challenge = issue_challenge(
            registry_encryption_private_key=self._encryption_private_key,
            subscriber_encryption_public_key=record.encryption_public_key,
        )
        body = json.dumps(
            {
                "subscriber_id": record.subscriber_id,
                "unique_key_id": record.key_id,
                "challenge": challenge,
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": self._signer.sign(body, int(self._clock.now())),
        }
        url = join_url(record.subscriber_url, "on_subscribe")
        try:
            reply = await self._transport.post(url, body, headers, self._timeout)
        except TransportError as exc:
            raise RequestRejected(
                "REG_SUBSCRIBER_UNREACHABLE",
                f"on_subscribe at {url} failed: {exc.reason}",
                path="subscriber_url",
            ) from exc
        try:
            answer = json.loads(reply.body).get("answer") if reply.status == 200 else None
        except (ValueError, AttributeError):
            answer = None
        if not check_answer(plaintext, answer):
            raise AuthError(
                "AUT_CHALLENGE_FAILED",
                f"{url} did not answer the on_subscribe challenge (HTTP {reply.status})",
                path="encr_public_key",
            )

    async def _authorised(self, body: bytes, authorization: Sequence[str]) -> Writer:
        return await self._governance.authenticate(body, authorization, self.participant_key)

    async def publish(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """An admin or namespace publisher writes a participant key directly."""
        doc = _json(body)
        status = ParticipantStatus(doc.pop("status", ParticipantStatus.SUBSCRIBED))
        record = self._participant(doc, status)
        writer = await self._authorised(body, authorization)
        self._governance.require_publisher(writer, record.namespace, record.registry)
        record = await self._check_replacement(record)
        await self._write(record, writer.actor)
        return record

    async def set_status(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """Revoke, suspend or reinstate a key; revocation is final."""
        doc = _json(body)
        writer = await self._authorised(body, authorization)
        sid, kid = str(doc.get("subscriber_id", "")), str(doc.get("key_id", ""))
        try:
            status = ParticipantStatus(str(doc.get("status")))
        except ValueError:
            raise RequestRejected(
                "SCH_VALIDATION_FAILED",
                "status must be REVOKED, SUSPENDED or SUBSCRIBED",
                path="status",
            ) from None
        if status not in (*_WITHDRAWN, ParticipantStatus.SUBSCRIBED):
            raise RequestRejected(
                "SCH_VALIDATION_FAILED", f"cannot set status {status.value}", path="status"
            )
        record = await self.lookup(sid, kid)
        if record is None:
            raise RequestRejected("REG_NOT_FOUND", f"no key {kid!r} of {sid!r}", path="key_id")
        self._governance.require_publisher(writer, record.namespace, record.registry)
        if record.status is ParticipantStatus.REVOKED and status is not record.status:
            raise Forbidden("REG_KEY_REVOKED", "a revoked key stays revoked", path="status")
        changed = record.model_copy(update={"status": status, "updated": self._now()})
        await self._write(changed, writer.actor)
        log.info("key_status_set", subscriber_id=sid, key_id=kid, status=status.value)
        return changed

    async def history(self, subscriber_id: str, key_id: str) -> list[dict[str, object]]:
        """Every version of a key: who wrote it when, and what."""
        key = self._index.get((subscriber_id, key_id))
        if key is None:
            return []
        return [
            {
                "version": v.version,
                "actor": v.actor,
                "written_at": v.written_at,
                "record": dedi_participant(ParticipantRecord.from_data(v.data)),
            }
            for v in await self._store.history(ParticipantRecord.KIND, key)
        ]

    async def publish_institution(
        self, body: bytes, authorization: Sequence[str]
    ) -> dict[str, object]:
        """An admin or namespace publisher records an authorised institution (or a change)."""
        doc = _json(body)
        try:
            entry = InstitutionRecord.model_validate(doc)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        writer = await self._authorised(body, authorization)
        self._governance.require_publisher(writer, entry.namespace, entry.registry)
        await self._store.put(
            InstitutionRecord.KIND,
            entry.record_key(),
            entry.to_data(),
            actor=writer.actor,
            at=self._clock.now(),
        )
        return self._institution_view(entry, None)

    def _institution_view(self, entry: InstitutionRecord, as_on: float | None) -> dict[str, object]:
        at = datetime.fromtimestamp(self._clock.now() if as_on is None else as_on, UTC)
        return {**entry.model_dump(mode="json"), "valid_now": entry.is_valid_at(at)}

    async def institutions(
        self, *, role: str | None = None, org_id: str | None = None, as_on: float | None = None
    ) -> list[dict[str, object]]:
        """Authorised institutions (as of ``as_on``), filtered by role and organisation."""
        found = []
        for version in await self._store.scan(InstitutionRecord.KIND, as_on=as_on):
            entry = InstitutionRecord.from_data(version.data)
            if (role is None or entry.role.value == role) and (
                org_id is None or entry.org_id == org_id
            ):
                found.append(self._institution_view(entry, as_on))
        return found

    async def revoke_credential(
        self, body: bytes, authorization: Sequence[str]
    ) -> dict[str, object]:
        """Record a revoked credential (a publisher of the namespace, or an admin)."""
        doc = _json(body)
        doc.setdefault("revoked_at", self._now())
        try:
            entry = RevocationRecord.model_validate(doc)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        writer = await self._authorised(body, authorization)
        self._governance.require_publisher(writer, entry.namespace, entry.registry)
        await self._store.put(
            RevocationRecord.KIND,
            entry.credential_id,
            entry.to_data(),
            actor=writer.actor,
            at=self._clock.now(),
        )
        return dict(entry.model_dump(mode="json"))

    async def credential_revocation(
        self, credential_id: str, *, as_on: float | None = None
    ) -> dict[str, object] | None:
        """The revocation of ``credential_id`` (as of ``as_on``), or None if not revoked."""
        version = await self._store.get(RevocationRecord.KIND, credential_id, as_on=as_on)
        if version is None:
            return None
        return dict(RevocationRecord.from_data(version.data).model_dump(mode="json"))
