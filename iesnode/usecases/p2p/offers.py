"""Energy offers: hourly slots with a price per kWh and the kWh still available.

A seller platform publishes, per prosumer meter, an ``EnergyTradeOffer``
(``research/energy-domain.md`` §2.2, "Offer/catalog"; DEG
``devkits/p2p-trading-ies-wave2/uc1/examples/publish-catalog.json``): the resource is an
``EnergyResource`` (``sourceType``, ``meterId``), and the offer's ``inputs`` is a
``TimeSeries`` of ``PRICE_PER_KWH`` and ``AVAILABLE_QTY`` per slot. The offer also names
the seller (``EnergyCustomer`` with installed capacity) and the seller DISCOM's ledger
provider, so a buyer can write a complete contract at ``select``.

Discovery filters travel in ``message.intent.filters``: ``sourceType``,
``minAvailableKwh``, ``maxPricePerKwh`` (INR) and ``deliveryFrom`` / ``deliveryTo``
(RFC 3339; a slot matches when it starts in ``[from, to)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from iesnode.usecases.p2p.contract import Party, inr
from iesnode.usecases.p2p.series import (
    Series,
    bad,
    items,
    json_number,
    mapping,
    read_paise,
    read_time,
    read_wh,
    rfc3339,
    text,
)

__all__ = ["Filters", "Offer", "Slot", "catalog_wire", "read_catalog"]

_SELLER_COLUMNS = {
    "PRICE_PER_KWH": {
        "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
        "currency": "INR",
        "insertedBy": "sellerPlatform",
    },
    "AVAILABLE_QTY": {
        "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
        "units": "KWH",
        "insertedBy": "sellerPlatform",
    },
}


@dataclass(frozen=True, slots=True)
class Slot:
    """One delivery interval on offer."""

    start: datetime
    price_paise_per_kwh: int
    available_wh: int


@dataclass(frozen=True, slots=True)
class Offer:
    """A prosumer's energy on offer through a seller platform."""

    offer_id: str
    seller: Party
    source_type: str
    duration: str
    slots: tuple[Slot, ...]
    ledger_uri: str = ""
    """The seller DISCOM's ledger provider URL."""

    def slot(self, start: datetime) -> Slot | None:
        """The slot starting at ``start``, if offered."""
        return next((s for s in self.slots if s.start == start), None)

    def with_slots(self, slots: Sequence[Slot]) -> Offer:
        """The same offer showing ``slots``."""
        return replace(self, slots=tuple(slots))

    def to_wire(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The catalog ``(resource, offer)`` objects."""
        resource_id = f"{self.offer_id}-energy"
        resource = {
            "id": resource_id,
            "resourceAttributes": {
                "@type": "EnergyResource",
                "sourceType": self.source_type,
                "meterId": self.seller.meter_id,
            },
        }
        windows = [
            (
                s.start,
                {
                    "PRICE_PER_KWH": inr(s.price_paise_per_kwh),
                    "AVAILABLE_QTY": json_number(s.available_wh),
                },
            )
            for s in self.slots
        ]
        series = Series.build(self.duration, _SELLER_COLUMNS, windows)
        last = max(row.end for row in series.rows)
        attributes = {
            "@type": "EnergyTradeOffer",
            "pricingModel": "PER_KWH",
            "sourceType": self.source_type,
            "validityWindow": {
                "startTime": rfc3339(series.rows[0].start),
                "endTime": rfc3339(last),
            },
            "seller": {
                "@type": "EnergyCustomer",
                "meterId": self.seller.meter_id,
                "utilityCustomerId": self.seller.customer_id,
                "discomId": self.seller.discom_id,
                "installedCapacityKw": json_number(self.seller.capacity_w),
            },
            "sellerDiscom": {
                "@type": "DiscomLedgerProvider",
                "discomId": self.seller.discom_id,
                "ledgerId": self.seller.discom_id,
                "ledgerUri": self.ledger_uri,
            },
            "inputs": [series.to_wire()],
        }
        offer = {
            "id": self.offer_id,
            "descriptor": {"name": f"{self.source_type} energy from {self.seller.meter_id}"},
            "resourceIds": [resource_id],
            "offerAttributes": attributes,
        }
        return resource, offer

    @classmethod
    def from_wire(cls, platform_id: str, value: object, path: str) -> Offer:
        """Read an offer published by ``platform_id``."""
        doc = mapping(value, path)
        attrs = mapping(doc.get("offerAttributes"), f"{path}.offerAttributes")
        where = f"{path}.offerAttributes"
        seller = mapping(attrs.get("seller"), f"{where}.seller")
        discom = mapping(attrs.get("sellerDiscom"), f"{where}.sellerDiscom")
        inputs = items(attrs.get("inputs"), f"{where}.inputs")
        series = Series.from_wire(inputs[0], f"{where}.inputs[0]")
        slots = []
        for row in series.rows:
            at = f"{where}.inputs[0].intervals[id={row.interval_id}]"
            slots.append(
                Slot(
                    start=row.start,
                    price_paise_per_kwh=read_paise(row.values.get("PRICE_PER_KWH"), f"{at}.price"),
                    available_wh=read_wh(row.values.get("AVAILABLE_QTY"), f"{at}.available"),
                )
            )
        uri = discom.get("ledgerUri")
        return cls(
            offer_id=text(doc, "id", path),
            seller=Party(
                platform_id=platform_id,
                meter_id=text(seller, "meterId", f"{where}.seller"),
                customer_id=text(seller, "utilityCustomerId", f"{where}.seller"),
                discom_id=text(discom, "discomId", f"{where}.sellerDiscom"),
                capacity_w=read_wh(seller.get("installedCapacityKw"), f"{where}.seller.capacity"),
            ),
            source_type=text(attrs, "sourceType", where),
            duration=series.duration,
            slots=tuple(slots),
            ledger_uri=uri if isinstance(uri, str) else "",
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """What a buyer looks for; ``None`` matches anything."""

    source_type: str | None = None
    min_available_wh: int | None = None
    max_price_paise_per_kwh: int | None = None
    delivery_from: datetime | None = None
    delivery_to: datetime | None = None

    def to_intent(self) -> dict[str, Any]:
        """The ``discover`` message."""
        found: dict[str, Any] = {}
        if self.source_type is not None:
            found["sourceType"] = self.source_type
        if self.min_available_wh is not None:
            found["minAvailableKwh"] = json_number(self.min_available_wh)
        if self.max_price_paise_per_kwh is not None:
            found["maxPricePerKwh"] = inr(self.max_price_paise_per_kwh)
        if self.delivery_from is not None:
            found["deliveryFrom"] = rfc3339(self.delivery_from)
        if self.delivery_to is not None:
            found["deliveryTo"] = rfc3339(self.delivery_to)
        return {"intent": {"descriptor": {"name": "energy"}, "filters": found}}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Filters:
        """Read ``message.intent.filters`` (absent: no filter)."""
        intent = message.get("intent")
        raw = intent.get("filters") if isinstance(intent, Mapping) else None
        if raw is None:
            return cls()
        f = mapping(raw, "message.intent.filters")
        at = "message.intent.filters"
        source = f.get("sourceType")
        if source is not None and not isinstance(source, str):
            raise bad(f"{at}.sourceType", "expected a source type such as SOLAR")

        def opt_time(key: str) -> datetime | None:
            return None if f.get(key) is None else read_time(f[key], f"{at}.{key}")

        return cls(
            source_type=source.upper() if source else None,
            min_available_wh=None
            if f.get("minAvailableKwh") is None
            else read_wh(f["minAvailableKwh"], f"{at}.minAvailableKwh"),
            max_price_paise_per_kwh=None
            if f.get("maxPricePerKwh") is None
            else read_paise(f["maxPricePerKwh"], f"{at}.maxPricePerKwh"),
            delivery_from=opt_time("deliveryFrom"),
            delivery_to=opt_time("deliveryTo"),
        )

    def keep(self, offer: Offer) -> Offer | None:
        """``offer`` with only the matching slots, or None when nothing matches."""
        if self.source_type is not None and offer.source_type.upper() != self.source_type:
            return None
        slots = [s for s in offer.slots if self._slot_matches(s)]
        return offer.with_slots(slots) if slots else None

    def _slot_matches(self, slot: Slot) -> bool:
        return (
            (self.min_available_wh is None or slot.available_wh >= self.min_available_wh)
            and (
                self.max_price_paise_per_kwh is None
                or slot.price_paise_per_kwh <= self.max_price_paise_per_kwh
            )
            and (self.delivery_from is None or slot.start >= self.delivery_from)
            and (self.delivery_to is None or slot.start < self.delivery_to)
        )


def catalog_wire(platform_id: str, name: str, offers: Sequence[Offer]) -> dict[str, Any]:
    """One platform's ``catalog`` of ``offers``."""
    pairs = [offer.to_wire() for offer in offers]
    return {
        "id": f"{platform_id}/catalog",
        "descriptor": {"name": name},
        "provider": {"id": platform_id, "descriptor": {"name": name}},
        "resources": [resource for resource, _ in pairs],
        "offers": [offer for _, offer in pairs],
    }


def read_catalog(message: Mapping[str, Any], platform_id: str) -> list[Offer]:
    """The offers of an ``on_discover`` from ``platform_id`` (its signature was verified)."""
    offers = []
    for n, catalog in enumerate(items(message.get("catalogs"), "message.catalogs", required=False)):
        where = f"message.catalogs[{n}]"
        for k, doc in enumerate(items(catalog.get("offers"), f"{where}.offers", required=False)):
            offers.append(Offer.from_wire(platform_id, doc, f"{where}.offers[{k}]"))
    return offers
