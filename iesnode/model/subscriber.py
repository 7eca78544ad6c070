"""Network participants as a registry describes them (Beckn v1 ``Subscription``, DeDi record)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

__all__ = ["Role", "Subscriber", "SubscriberQuery", "SubscriberStatus"]


class Role(StrEnum):
    """What a subscriber does on the network (v1 ``type``, DeDi ``role``)."""

    BAP = "BAP"
    BPP = "BPP"
    BG = "BG"
    REGISTRY = "BREG"


class SubscriberStatus(StrEnum):
    """Lifecycle of a subscription; only ``SUBSCRIBED`` keys verify signatures."""

    INITIATED = "INITIATED"
    UNDER_SUBSCRIPTION = "UNDER_SUBSCRIPTION"
    SUBSCRIBED = "SUBSCRIBED"
    EXPIRED = "EXPIRED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    INVALID_SSL = "INVALID_SSL"
    REVOKED = "REVOKED"


class Subscriber(BaseModel):
    """One key of one subscriber. Field aliases accept the names real registries use."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    subscriber_id: str = Field(validation_alias=AliasChoices("subscriber_id", "subscriberId"))
    key_id: str = Field(
        validation_alias=AliasChoices(
            "key_id", "unique_key_id", "ukId", "pub_key_id", "keyId", "uniqueKeyId"
        )
    )
    url: str = Field(
        validation_alias=AliasChoices("url", "subscriber_url", "subscriberUrl", "callback_url")
    )
    role: Role = Field(validation_alias=AliasChoices("role", "type"))
    signing_public_key: str = Field(
        validation_alias=AliasChoices("signing_public_key", "signingPublicKey")
    )
    encryption_public_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "encryption_public_key", "encr_public_key", "encryptionPublicKey"
        ),
    )
    status: SubscriberStatus = SubscriberStatus.SUBSCRIBED
    network_id: str | None = Field(
        default=None, validation_alias=AliasChoices("network_id", "networkId")
    )
    domains: tuple[str, ...] = Field(default=(), validation_alias=AliasChoices("domains", "domain"))
    city: str | None = None
    country: str | None = None
    valid_from: datetime | None = Field(
        default=None, validation_alias=AliasChoices("valid_from", "validFrom")
    )
    valid_until: datetime | None = Field(
        default=None, validation_alias=AliasChoices("valid_until", "validUntil")
    )

    @field_validator("domains", mode="before")
    @classmethod
    def _one_domain(cls, value: Any) -> Any:
        """Beckn v1 registries give one ``domain`` string; DeDi gives a list."""
        return (value,) if isinstance(value, str) else value


class SubscriberQuery(BaseModel):
    """A directory search; ``None`` fields match anything."""

    model_config = ConfigDict(frozen=True)

    role: Role | None = None
    network_id: str | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None
    subscriber_id: str | None = None
    status: SubscriberStatus | None = SubscriberStatus.SUBSCRIBED

    def matches(self, sub: Subscriber) -> bool:
        """Return True when ``sub`` satisfies every set field of this query."""
        return (
            (self.role is None or sub.role == self.role)
            and (self.subscriber_id is None or sub.subscriber_id == self.subscriber_id)
            and (self.status is None or sub.status == self.status)
            and (self.network_id is None or sub.network_id in (None, self.network_id))
            and (self.domain is None or not sub.domains or self.domain in sub.domains)
            and (self.city is None or sub.city in (None, "*", self.city))
            and (self.country is None or sub.country in (None, self.country))
        )
