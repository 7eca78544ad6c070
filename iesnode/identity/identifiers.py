"""``Identifier{scheme, value, namespace}``: the IES way to carry references in payloads.

IES MeterData v0.6 ``attributes.yaml`` (``Identifier``, ``IdentifierList``,
``IdentifierScheme``): a scheme from a closed list, a string value and an optional
namespace saying whose numbering the value belongs to. An ``IdentifierList`` names one
entity, primary first and alternates after. OutageNotification v0.1 widens the scheme
list with grid-topology keys (``GIS_FEATURE_ID``, ``FEEDER``, ``SUBSTATION``, ``DT``);
they are accepted here and listed in :data:`OUTAGE_SCHEMES`.

Schemes with a known shape are checked: ``DID`` must be a DID (W3C DID Core section
3.1), ``OBIS`` an OBIS code (IEC 62056-61). Every value must be non-empty, without
surrounding white space or control characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from iesnode.identity.did import Did
from iesnode.identity.ids import IesDid
from iesnode.identity.obis import ObisCode

__all__ = [
    "METER_DATA_SCHEMES",
    "OUTAGE_SCHEMES",
    "Identifier",
    "IdentifierScheme",
    "primary",
]


class IdentifierScheme(StrEnum):
    """Which numbering an identifier value belongs to."""

    METER_SERIAL = "METER_SERIAL"
    METER_BADGE = "METER_BADGE"
    MRID = "MRID"
    OBIS = "OBIS"
    SHORT_CODE = "SHORT_CODE"
    CONSUMER_NUMBER = "CONSUMER_NUMBER"
    SERVICE_DELIVERY_POINT = "SERVICE_DELIVERY_POINT"
    DID = "DID"
    ORG = "ORG"
    OTHER = "OTHER"
    GIS_FEATURE_ID = "GIS_FEATURE_ID"
    FEEDER = "FEEDER"
    SUBSTATION = "SUBSTATION"
    DT = "DT"


METER_DATA_SCHEMES = frozenset(IdentifierScheme) - {
    IdentifierScheme.GIS_FEATURE_ID,
    IdentifierScheme.FEEDER,
    IdentifierScheme.SUBSTATION,
    IdentifierScheme.DT,
}
"""The closed ``IdentifierScheme`` list of MeterData v0.6."""

OUTAGE_SCHEMES = frozenset(IdentifierScheme) - {
    IdentifierScheme.METER_BADGE,
    IdentifierScheme.OBIS,
    IdentifierScheme.SHORT_CODE,
}
"""The scheme list of OutageNotification v0.1."""


def _plain_text(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} is empty")
    if value != value.strip():
        raise ValueError(f"{what} has leading or trailing white space")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError(f"{what} contains a control character")


class Identifier(BaseModel):
    """One ``{scheme, value, namespace}`` reference, checked against its scheme's shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: IdentifierScheme
    value: str
    namespace: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        """Validate the value for its scheme (``IdentifierError`` messages become errors)."""
        _plain_text(self.value, "value")
        if self.namespace is not None:
            _plain_text(self.namespace, "namespace")
        if self.scheme is IdentifierScheme.DID:
            Did.parse(self.value)
        elif self.scheme is IdentifierScheme.OBIS:
            ObisCode.parse(self.value)
        return self

    @classmethod
    def of_did(cls, did: Did | IesDid | str, namespace: str | None = None) -> Identifier:
        """A ``DID`` identifier for ``did``."""
        return cls(scheme=IdentifierScheme.DID, value=str(did), namespace=namespace)

    @property
    def did(self) -> Did | None:
        """The DID, for ``DID`` identifiers."""
        return Did.parse(self.value) if self.scheme is IdentifierScheme.DID else None

    @property
    def obis(self) -> ObisCode | None:
        """The OBIS code, for ``OBIS`` identifiers."""
        return ObisCode.parse(self.value) if self.scheme is IdentifierScheme.OBIS else None


def primary(identifiers: Sequence[Identifier]) -> Identifier:
    """The primary of an ``IdentifierList`` (its first element); the list must not be empty."""
    if not identifiers:
        raise ValueError("an IdentifierList has at least one identifier")
    return identifiers[0]
