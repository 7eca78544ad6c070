"""The consent artefact for smart-meter data sharing, and its VC 2.0 form.

Field set: the ReBIT Account Aggregator ``ConsentDetail`` mapped onto the IES/DEG
meter-data vocabulary as ``research/trust-layer.md`` section 5.1 and
``research/energy-domain.md`` section 6 lay out: the consumer (data principal, a
DID) is the credential subject; ``dataProvider``/``dataConsumer`` are the DISCOM or
MDM and the requester; ``purpose`` is a code with a link to its text; data categories
are MeterData v0.6 profiles with optional readings (OBIS codes or short codes);
``dataRange``, ``frequency`` (count per ISO 8601 period), ``dataLife`` (retention as
an ISO 8601 duration), ``mode`` (VIEW / STORE / STREAM) and ``filters`` (minimum
aggregation interval) cover what the energy specs leave out.

An artefact never changes once made (ReBIT: a change of terms is a new consent);
:meth:`ConsentArtefact.to_credential` renders the unsigned W3C VC 2.0 (section 1.1)
that the consent manager signs with ``eddsa-jcs-2022``. Times are UTC ``...Z``
strings and no value is a float, so the JCS bytes are stable.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from iesnode.protocol.duration import parse_duration

__all__ = [
    "CONSENT_CREDENTIAL_TYPE",
    "VC_V2_CONTEXT",
    "ConsentArtefact",
    "ConsentFilters",
    "ConsentMode",
    "ConsentTerms",
    "DataCategory",
    "DataRange",
    "Frequency",
    "MeterDataProfile",
    "Purpose",
    "Validity",
    "duration_seconds",
]

VC_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
CONSENT_CREDENTIAL_TYPE: Final = "ConsentCredential"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _duration(value: str) -> str:
    """Require a positive ISO 8601 duration (``PT1H``, ``P1D``); keep it upper-cased."""
    text = value.strip().upper()
    if parse_duration(text) <= 0:
        raise ValueError(f"duration {value!r} must be longer than zero")
    return text


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value):
        raise ValueError("must be an absolute http(s) URL without whitespace")
    return value


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise ValueError("entries must be unique")
    return values


def duration_seconds(duration: str) -> float:
    """Seconds in an ISO 8601 duration (a month counts 30 days, a year 365)."""
    return parse_duration(duration)


_Did = Annotated[str, StringConstraints(pattern=r"^did:[a-z0-9]+:\S+$", max_length=2048)]
_Token = Annotated[str, StringConstraints(pattern=r"^\S{1,256}$")]
_Duration = Annotated[str, AfterValidator(_duration)]
_Url = Annotated[str, AfterValidator(_http_url)]
_Utc = Annotated[AwareDatetime, AfterValidator(_utc)]
_Uri = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", max_length=512)]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class ConsentMode(StrEnum):
    """What the data consumer may do with the data (ReBIT ``consentMode``, minus QUERY)."""

    VIEW = "VIEW"
    STORE = "STORE"
    STREAM = "STREAM"


class MeterDataProfile(StrEnum):
    """The MeterData v0.6 profiles (``research/energy-domain.md`` section 2.7)."""

    CUSTOMER = "CUSTOMER"
    INTERVAL = "INTERVAL"
    DAILY = "DAILY"
    MONTHLY = "MONTHLY"
    BILL_DETAILS = "BILL_DETAILS"
    INSTANTANEOUS = "INSTANTANEOUS"
    EVENT = "EVENT"
    ALARM = "ALARM"


class Purpose(_Model):
    """A coded purpose with a link to its human-readable text (ReBIT ``Purpose``)."""

    code: _Token
    ref_uri: _Url
    text: str | None = Field(default=None, max_length=1024)


class DataCategory(_Model):
    """One profile and, optionally, the readings of it granted; no readings = all of them."""

    profile: MeterDataProfile
    readings: Annotated[tuple[_Token, ...], AfterValidator(_unique)] = ()

    def covers(self, other: DataCategory) -> bool:
        """True when ``other`` asks for nothing beyond this grant."""
        if other.profile is not self.profile:
            return False
        return not self.readings or (
            bool(other.readings) and set(other.readings) <= set(self.readings)
        )


class DataRange(_Model):
    """A half-open interval of meter-data time ``[from, to)``."""

    start: _Utc = Field(alias="from")
    end: _Utc = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self

    def contains(self, other: DataRange) -> bool:
        """True when ``other`` lies inside this range."""
        return self.start <= other.start and other.end <= self.end


class Validity(_Model):
    """When the consent may be used: ``[validFrom, validUntil)``."""

    valid_from: _Utc
    valid_until: _Utc

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.valid_until <= self.valid_from:
            raise ValueError("validUntil must be after validFrom")
        return self


class Frequency(_Model):
    """At most ``count`` data fetches per ``period`` (e.g. 10 per ``P1D``)."""

    count: int = Field(ge=1)
    period: _Duration


class ConsentFilters(_Model):
    """Optional narrowing of what may be shared."""

    min_aggregation_interval: _Duration | None = None
    """Readings may not be finer than this (e.g. ``PT1H`` forbids 15-minute data)."""


class ConsentTerms(_Model):
    """Everything the consumer agrees to; changing any of it means a new artefact."""

    consumer: _Did
    data_provider: _Token
    data_consumer: _Token
    purpose: Purpose
    data_categories: tuple[DataCategory, ...] = Field(min_length=1)
    data_range: DataRange
    validity: Validity
    frequency: Frequency
    data_life: _Duration
    mode: ConsentMode
    filters: ConsentFilters = ConsentFilters()
    meters: Annotated[tuple[_Token, ...], AfterValidator(_unique)] = Field(min_length=1)


class ConsentArtefact(ConsentTerms):
    """One consent: its terms under a stable id (``urn:uuid:...`` by default)."""

    id: _Uri

    @classmethod
    def from_terms(cls, terms: ConsentTerms, consent_id: str | None = None) -> Self:
        """Make the artefact for ``terms``, with a fresh ``urn:uuid`` id unless given."""
        return cls(id=consent_id or f"urn:uuid:{uuid.uuid4()}", **dict(terms))

    def terms(self) -> ConsentTerms:
        """The terms without the id."""
        return ConsentTerms(**{k: v for k, v in self if k != "id"})

    def to_credential(
        self, issuer: str, *, credential_status: Sequence[Mapping[str, Any]] = ()
    ) -> dict[str, Any]:
        """The unsigned VC 2.0 ``ConsentCredential`` carrying this artefact.

        The consumer DID is ``credentialSubject.id``; validity becomes
        ``validFrom``/``validUntil``; ``credential_status`` entries (revocation and
        suspension, from the status list service) are added when given.
        """
        subject = self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"id", "consumer", "validity"}
        )
        times = self.validity.model_dump(mode="json", by_alias=True)
        credential: dict[str, Any] = {
            "@context": [VC_V2_CONTEXT],
            "id": self.id,
            "type": ["VerifiableCredential", CONSENT_CREDENTIAL_TYPE],
            "issuer": issuer,
            "validFrom": times["validFrom"],
            "validUntil": times["validUntil"],
            "credentialSubject": {"id": self.consumer, **subject},
        }
        if credential_status:
            entries = [dict(entry) for entry in credential_status]
            credential["credentialStatus"] = entries[0] if len(entries) == 1 else entries
        return credential

    @classmethod
    def from_credential(cls, credential: Mapping[str, Any]) -> Self:
        """Read the artefact back from a (verified) ``ConsentCredential``.

        Raises ``ValueError`` when it is not one, ``pydantic.ValidationError`` when a
        term is invalid.
        """
        types = credential.get("type")
        if not isinstance(types, list) or CONSENT_CREDENTIAL_TYPE not in types:
            raise ValueError(f"credential type must include {CONSENT_CREDENTIAL_TYPE!r}")
        subject = credential.get("credentialSubject")
        if not isinstance(subject, Mapping):
            raise ValueError("credentialSubject must be an object")
        fields = {k: v for k, v in subject.items() if k != "id"}
        return cls.model_validate(
            {
                **fields,
                "id": credential.get("id"),
                "consumer": subject.get("id"),
                "validity": {
                    "validFrom": credential.get("validFrom"),
                    "validUntil": credential.get("validUntil"),
                },
            }
        )
