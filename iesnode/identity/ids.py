"""The IES did:web identifier patterns for organisations, consumers, connections, assets, datasets.

IES "Identifier patterns" (``what-ies-provides/register.md``, summarised in
``research/energy-domain.md`` section 3)::

    did:web:<domain>                                  organisation, issuer, regulator
    did:web:<domain>:consumers:<consumer-number>      DISCOM-assigned consumer
    did:web:<domain>:connections:<id>                 service connection (delivery point)
    did:web:<domain>:assets:meter:<serial>            meter
    did:web:<domain>:assets:<class>:<id>              transformer, feeder, substation, solar-plant,
                                                      wind-farm, bess, ev-charger
    did:web:<domain>:datasets:<class>:<id>            dataset (kebab-case class)

The local parts keep legacy numbers verbatim, percent-encoding every character outside
``[A-Za-z0-9._-]``; the domain follows did:web (a port is written ``host%3Aport``).
IES asks not to parse DIDs for business logic: use this to validate and build them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from iesnode.identity.did import Did, did_web, web_host
from iesnode.identity.errors import IdentifierError
from iesnode.identity.percent import decode_part, encode_part

__all__ = ["AssetClass", "IesDid", "IesKind"]

_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class IesKind(StrEnum):
    """What an IES DID names; the value is the path word after the domain."""

    ORGANISATION = ""
    CONSUMER = "consumers"
    CONNECTION = "connections"
    ASSET = "assets"
    DATASET = "datasets"


class AssetClass(StrEnum):
    """The asset classes IES names in ``:assets:<class>:<id>``."""

    METER = "meter"
    TRANSFORMER = "transformer"
    FEEDER = "feeder"
    SUBSTATION = "substation"
    SOLAR_PLANT = "solar-plant"
    WIND_FARM = "wind-farm"
    BESS = "bess"
    EV_CHARGER = "ev-charger"


_CLASSED = (IesKind.ASSET, IesKind.DATASET)
_KINDS = ", ".join(k.value for k in IesKind if k.value)


@dataclass(frozen=True, slots=True)
class IesDid:
    """One IES did:web identifier, with its local part decoded.

    ``domain`` is ``host[:port]`` (lower-cased); ``asset_class`` is an
    :class:`AssetClass` value for assets and a kebab-case word for datasets;
    ``local_id`` is the legacy identifier exactly as the utility writes it.
    """

    domain: str
    kind: IesKind
    asset_class: str | None = None
    local_id: str | None = None

    def __post_init__(self) -> None:
        did = did_web(self.domain)  # validates the domain
        object.__setattr__(self, "domain", did.web_host)
        kind = IesKind(self.kind)
        object.__setattr__(self, "kind", kind)
        whole = f"{did}:{kind.value}"
        if kind is IesKind.ORGANISATION:
            if self.asset_class is not None or self.local_id is not None:
                raise IdentifierError(whole, "an organisation DID has no path", path="path")
            return
        if not self.local_id:
            raise IdentifierError(whole, "empty", path="local_id")
        if kind not in _CLASSED:
            if self.asset_class is not None:
                raise IdentifierError(whole, f"{kind.value} take no class", path="asset_class")
            return
        if kind is IesKind.ASSET:
            if self.asset_class not in set(AssetClass):
                known = ", ".join(AssetClass)
                raise IdentifierError(
                    whole,
                    f"unknown asset class {self.asset_class!r} (IES: {known})",
                    path="asset_class",
                )
            object.__setattr__(self, "asset_class", AssetClass(self.asset_class))
        elif self.asset_class is None or _KEBAB.fullmatch(self.asset_class) is None:
            raise IdentifierError(
                whole, f"dataset class {self.asset_class!r} is not kebab-case", path="asset_class"
            )

    @classmethod
    def organisation(cls, domain: str) -> IesDid:
        """``did:web:<domain>``."""
        return cls(domain, IesKind.ORGANISATION)

    @classmethod
    def consumer(cls, domain: str, consumer_number: str) -> IesDid:
        """``did:web:<domain>:consumers:<consumer-number>``."""
        return cls(domain, IesKind.CONSUMER, local_id=consumer_number)

    @classmethod
    def connection(cls, domain: str, connection_id: str) -> IesDid:
        """``did:web:<domain>:connections:<id>``."""
        return cls(domain, IesKind.CONNECTION, local_id=connection_id)

    @classmethod
    def meter(cls, domain: str, serial: str) -> IesDid:
        """``did:web:<domain>:assets:meter:<serial>``."""
        return cls(domain, IesKind.ASSET, AssetClass.METER, serial)

    @classmethod
    def asset(cls, domain: str, asset_class: str, asset_id: str) -> IesDid:
        """``did:web:<domain>:assets:<class>:<id>``."""
        return cls(domain, IesKind.ASSET, asset_class, asset_id)

    @classmethod
    def dataset(cls, domain: str, dataset_class: str, dataset_id: str) -> IesDid:
        """``did:web:<domain>:datasets:<class>:<id>``."""
        return cls(domain, IesKind.DATASET, dataset_class, dataset_id)

    @property
    def did(self) -> Did:
        """This identifier as a generic :class:`Did`."""
        if self.kind is IesKind.ORGANISATION:
            return did_web(self.domain)
        parts = [self.kind.value]
        if self.asset_class is not None:
            parts.append(self.asset_class)
        assert self.local_id is not None
        parts.append(encode_part(self.local_id))
        return did_web(self.domain, *parts)

    def __str__(self) -> str:
        return str(self.did)

    @classmethod
    def parse(cls, text: str) -> IesDid:
        """Parse an IES DID; :class:`IdentifierError` names the part that is malformed."""
        if not text.startswith("did:"):
            raise IdentifierError(text, "a DID starts with 'did:'", path="scheme")
        if not text.startswith("did:web:"):
            raise IdentifierError(text, "IES identifiers are did:web", path="method")
        domain_part, *path = text.removeprefix("did:web:").split(":")
        domain = web_host(domain_part, text)
        if not path:
            return cls.organisation(domain)
        word, rest = path[0], path[1:]
        if word not in {k.value for k in IesKind if k.value}:
            raise IdentifierError(text, f"unknown kind {word!r} (IES: {_KINDS})", path="kind")
        kind = IesKind(word)
        expected = 2 if kind in _CLASSED else 1
        if len(rest) != expected:
            shape = "<class>:<id>" if expected == 2 else "<id>"
            raise IdentifierError(
                text, f"{word} takes {shape} ({len(rest)} segments found)", path="path"
            )
        local_id = decode_part(rest[-1], whole=text, path="local_id")
        asset_class = rest[0] if expected == 2 else None
        try:
            return cls(domain, kind, asset_class, local_id)
        except IdentifierError as exc:
            raise IdentifierError(text, exc.reason, path=exc.path) from None
