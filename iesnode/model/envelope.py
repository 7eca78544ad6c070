"""The canonical Beckn envelope every dialect is read into (``DESIGN.md`` section 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from iesnode.protocol.duration import parse_duration

__all__ = ["Context", "Dialect", "Envelope", "ErrorDetail", "utc_timestamp"]


class Dialect(StrEnum):
    """Wire dialect of a message; a reply always uses the dialect of its request."""

    V2 = "2.0"
    """Beckn v2.0: camelCase context with ``networkId``, ``version`` "2.0.0"."""
    V1 = "1.1"
    """Beckn v1.1: snake_case context with ``domain`` and ``location``."""
    V09 = "0.9"
    """Beckn v0.9 / ONDC: snake_case with flat ``city``/``country`` and ``core_version``."""


def utc_timestamp(epoch: float) -> str:
    """RFC 3339 UTC timestamp with milliseconds, as Beckn peers write it."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Context(BaseModel):
    """One message's context, independent of dialect.

    ``extra`` keeps every field this model does not name (``schemaContext``,
    ``requestDigest``, ``try``, network extensions) so it is written back unchanged.
    """

    model_config = ConfigDict(frozen=True)

    dialect: Dialect
    action: str
    version: str
    transaction_id: str
    message_id: str
    timestamp: datetime
    ttl: str | None = None
    network_id: str | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None
    bap_id: str | None = None
    bap_uri: str | None = None
    bpp_id: str | None = None
    bpp_uri: str | None = None
    key: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def ttl_seconds(self) -> float | None:
        """``ttl`` in seconds, or None when the message carries no ttl."""
        return None if self.ttl is None else parse_duration(self.ttl)

    @property
    def expires_at(self) -> float | None:
        """Epoch seconds of ``timestamp + ttl``, after which the message is stale."""
        ttl = self.ttl_seconds
        return None if ttl is None else self.timestamp.timestamp() + ttl


class ErrorDetail(BaseModel):
    """An error carried by a NACK or an ``on_*`` callback."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    path: str | None = None


class Envelope(BaseModel):
    """``{context, message, error}``: a request or callback, read from either dialect."""

    model_config = ConfigDict(frozen=True)

    context: Context
    message: dict[str, Any] | None = None
    error: ErrorDetail | None = None

    @property
    def action(self) -> str:
        """The Beckn action this envelope carries."""
        return self.context.action
