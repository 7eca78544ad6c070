"""What the registry stores: participants, authorised institutions, credential revocations.

Records are organised as DeDi organises them (``research/energy-domain.md`` sections 1.4
and 3): a namespace (``ies.example``) holds registries (``p2p-trading``), and a
participant's network id is ``{namespace}/{registry}``. Each record is the JSON
``data`` of a ``RecordStore`` version under its ``KIND`` and :meth:`record_key`, so
every change is kept and ``as_on`` lookups come for free.

A participant has one record per signing key (Beckn v1 ``Subscription``,
``research/beckn-core.md`` sections 3.1-3.2): rotating a key adds a record, and the
old key stays valid until its own ``valid_until``. The lookup shapes of a record,
:func:`beckn_v1_subscription` and :func:`dedi_participant`, live in
:mod:`iesnode.registry.wire_views` and are re-exported here.

Our choices where the sources are silent: keys are base64 (standard alphabet, padded)
of the raw 32-byte Ed25519/X25519 public key; times are timezone-aware and kept in
UTC; ``subscriber_url`` is an http(s) URL without credentials, query or fragment; the
lookup ``status`` is the :class:`SubscriberStatus` the registry status maps to
(``SUSPENDED`` has none and is answered ``UNSUBSCRIBED``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Final, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from iesnode.model.subscriber import Role, Subscriber, SubscriberStatus
from iesnode.registry.wire_views import beckn_v1_subscription, dedi_participant

__all__ = [
    "Ident",
    "InstitutionRecord",
    "InstitutionRole",
    "LicenceStatus",
    "ParticipantRecord",
    "ParticipantStatus",
    "RevocationPurpose",
    "RevocationRecord",
    "beckn_v1_subscription",
    "dedi_participant",
    "participant_key_prefix",
]

_KEY_BYTES: Final = 32


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _public_key(value: str) -> str:
    """Require standard padded base64 of exactly 32 bytes (a raw Ed25519/X25519 key)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be standard base64 of a raw 32-byte public key") from exc
    if len(raw) != _KEY_BYTES:
        raise ValueError(f"must decode to {_KEY_BYTES} bytes, not {len(raw)}")
    return value


def _http_url(value: str) -> str:
    """Require an absolute http(s) URL with a host and no credentials, query or fragment."""
    if any(ch.isspace() for ch in value):
        raise ValueError("URL must not contain whitespace")
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"URL is malformed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError("URL scheme must be http or https")
    if not parts.hostname:
        raise ValueError("URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("URL must not carry credentials")
    if parts.query or parts.fragment:
        raise ValueError("URL must not carry a query or fragment")
    return value


_Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
"""A namespace or registry name: letters, digits, ``.``, ``_``, ``-``."""
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:%@~+-]{0,254}$")]
"""A subscriber, key, organisation or issuer id: no ``/``, ``|``, quotes or whitespace."""
_Token = Annotated[str, StringConstraints(pattern=r"^\S{1,256}$")]
_PublicKey = Annotated[str, AfterValidator(_public_key)]
_HttpUrl = Annotated[str, AfterValidator(_http_url)]
_UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class ParticipantStatus(StrEnum):
    """Lifecycle of a participant key in the registry (IES issue 3)."""

    INITIATED = "INITIATED"
    UNDER_SUBSCRIPTION = "UNDER_SUBSCRIPTION"
    SUBSCRIBED = "SUBSCRIBED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"

    def to_subscriber_status(self) -> SubscriberStatus:
        """The lookup status; ``SUSPENDED`` (absent from v1) is answered ``UNSUBSCRIBED``."""
        if self is ParticipantStatus.SUSPENDED:
            return SubscriberStatus.UNSUBSCRIBED
        return SubscriberStatus(self.value)


class _Record(BaseModel):
    """A frozen record stored as the JSON ``data`` of a ``RecordStore`` version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    KIND: ClassVar[str]

    def to_data(self) -> bytes:
        """The bytes to store."""
        return self.model_dump_json().encode()

    @classmethod
    def from_data(cls, data: bytes) -> Self:
        """Read stored bytes back (raises ``pydantic.ValidationError`` when invalid)."""
        return cls.model_validate_json(data)


class _Validity(_Record):
    valid_from: _UtcDatetime
    valid_until: _UtcDatetime

    @model_validator(mode="after")
    def _until_after_from(self) -> Self:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self

    def _in_window(self, at: datetime) -> bool:
        return self.valid_from <= at < self.valid_until


class ParticipantRecord(_Validity):
    """One key of one network participant (one record per key id)."""

    KIND: ClassVar[str] = "participant"

    namespace: _Name
    registry: _Name
    subscriber_id: Ident
    subscriber_url: _HttpUrl
    role: Role
    domains: tuple[_Token, ...] = ()
    city: _Token | None = None
    country: _Token | None = None
    signing_public_key: _PublicKey
    encryption_public_key: _PublicKey
    key_id: Ident
    status: ParticipantStatus = ParticipantStatus.INITIATED
    created: _UtcDatetime
    updated: _UtcDatetime

    @model_validator(mode="after")
    def _updated_after_created(self) -> Self:
        if self.updated < self.created:
            raise ValueError("updated must not be before created")
        return self

    @property
    def network_id(self) -> str:
        """``{namespace}/{registry}``."""
        return f"{self.namespace}/{self.registry}"

    def record_key(self) -> str:
        """``{namespace}/{registry}/{subscriber_id}|{key_id}``."""
        prefix = participant_key_prefix(self.namespace, self.registry, self.subscriber_id)
        return prefix + self.key_id

    def effective_status(self, at: datetime) -> ParticipantStatus:
        """The status at ``at``: a key past its ``valid_until`` is ``EXPIRED`` unless stopped."""
        stopped = (ParticipantStatus.SUSPENDED, ParticipantStatus.REVOKED)
        if self.status not in stopped and at >= self.valid_until:
            return ParticipantStatus.EXPIRED
        return self.status

    def is_valid_at(self, at: datetime) -> bool:
        """True when this key may verify signatures at ``at`` (SUBSCRIBED and in its window)."""
        return self.status is ParticipantStatus.SUBSCRIBED and self._in_window(at)

    def to_subscriber(self, at: datetime | None = None) -> Subscriber:
        """The lookup answer; with ``at``, the status is :meth:`effective_status` at ``at``."""
        status = self.status if at is None else self.effective_status(at)
        return Subscriber(
            subscriber_id=self.subscriber_id,
            key_id=self.key_id,
            url=self.subscriber_url,
            role=self.role,
            signing_public_key=self.signing_public_key,
            encryption_public_key=self.encryption_public_key,
            status=status.to_subscriber_status(),
            network_id=self.network_id,
            domains=self.domains,
            city=self.city,
            country=self.country,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


def participant_key_prefix(namespace: str, registry: str, subscriber_id: str | None = None) -> str:
    """The ``scan`` prefix of a registry's participants, or of one subscriber's keys."""
    base = f"{namespace}/{registry}/"
    return base if subscriber_id is None else f"{base}{subscriber_id}|"


class InstitutionRole(StrEnum):
    """Roles of the role-based registries of authorised institutions and service providers."""

    DISCOM = "DISCOM"
    TSP = "TSP"
    REGULATOR = "REGULATOR"
    AGGREGATOR = "AGGREGATOR"
    METER_DATA_PROVIDER = "METER_DATA_PROVIDER"


class LicenceStatus(StrEnum):
    """Standing of an institution's licence or authorisation."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class InstitutionRecord(_Validity):
    """An authorised institution or service provider, with its licence and scope."""

    KIND: ClassVar[str] = "institution"

    namespace: _Name
    registry: _Name
    org_id: Ident
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    role: InstitutionRole
    licence_number: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    scope: Annotated[tuple[_Token, ...], Field(min_length=1)]
    issuing_authority: Ident
    status: LicenceStatus = LicenceStatus.ACTIVE

    def record_key(self) -> str:
        """``{namespace}/{registry}/{org_id}``."""
        return f"{self.namespace}/{self.registry}/{self.org_id}"

    def is_valid_at(self, at: datetime) -> bool:
        """True when the licence is ACTIVE and ``at`` is in its validity window."""
        return self.status is LicenceStatus.ACTIVE and self._in_window(at)


class RevocationPurpose(StrEnum):
    """``credentialStatus.statusPurpose`` of the revoked entry."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class RevocationRecord(_Record):
    """A revoked credential: a lookup finding it answers 200 (revoked), missing 404."""

    KIND: ClassVar[str] = "revocation"

    namespace: _Name
    registry: _Name
    credential_id: Annotated[str, StringConstraints(pattern=r"^[!-~]{1,2048}$")]
    """The VC id, its hash, or a status-list entry URL (printable ASCII)."""
    revoked_at: _UtcDatetime
    reason: Annotated[str, StringConstraints(max_length=512)] | None = None
    issuer: Ident
    purpose: RevocationPurpose = RevocationPurpose.REVOCATION

    def record_key(self) -> str:
        """``{namespace}/{registry}/{credential_id}``."""
        return f"{self.namespace}/{self.registry}/{self.credential_id}"
