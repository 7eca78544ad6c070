"""The DEG ledger record: what a platform writes (:class:`TradeInput`) and what is stored.

Fields follow the DEG contract ledger API v0.3.0 record as summarised in
``research/energy-domain.md`` §2.2 ("Ledger API"). Two fields extend the DEG record:
``pricePerKwh`` (INR per kWh as a decimal string, the price settlement needs) and
``version`` (1 for the first write of a trade, one more per later write). Quantities are
integer Wh, prices integer paise; the wire conversions are in :mod:`.ledger_wire`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal

from iesnode.usecases.p2p.ledger_types import (
    WIRE_LIMIT,
    TradeDetail,
    TradeStatus,
    ValidationMetric,
    bad_input,
    is_int,
)
from iesnode.usecases.p2p.ledger_wire import (
    aware_utc,
    format_kwh,
    format_rupees,
    format_time,
    parse_details,
    parse_metrics,
    parse_milli,
    parse_time,
    require_text,
)

__all__ = ["Side", "TradeInput", "TradeRecord"]

Side = Literal["buyer", "seller"]

_IDS: tuple[tuple[str, str], ...] = (
    ("transaction_id", "transactionId"),
    ("order_item_id", "orderItemId"),
    ("platform_id_buyer", "platformIdBuyer"),
    ("platform_id_seller", "platformIdSeller"),
    ("discom_id_buyer", "discomIdBuyer"),
    ("discom_id_seller", "discomIdSeller"),
    ("buyer_id", "buyerId"),
    ("seller_id", "sellerId"),
)
_TIMES: tuple[tuple[str, str], ...] = (
    ("trade_time", "tradeTime"),
    ("delivery_start", "deliveryStartTime"),
    ("delivery_end", "deliveryEndTime"),
)


@dataclass(frozen=True, slots=True)
class TradeInput:
    """What a platform writes: one order item of one transaction.

    Construction validates (``LEDGER_BAD_INPUT`` naming the wire field): ids non-empty,
    datetimes aware (kept in UTC), ``delivery_end > delivery_start``, at least one trade
    detail, price >= 0, and no self-trade (``buyer_id != seller_id``, rule N12).
    """

    transaction_id: str
    order_item_id: str
    platform_id_buyer: str
    platform_id_seller: str
    discom_id_buyer: str
    discom_id_seller: str
    buyer_id: str
    seller_id: str
    trade_time: datetime
    delivery_start: datetime
    delivery_end: datetime
    trade_details: tuple[TradeDetail, ...]
    price_paise_per_kwh: int
    client_reference: str

    def __post_init__(self) -> None:
        for name, wire in (*_IDS, ("client_reference", "clientReference")):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise bad_input(wire, f"{wire} must be a non-empty string")
        for name, wire in _TIMES:
            object.__setattr__(self, name, aware_utc(getattr(self, name), wire))
        if self.delivery_end <= self.delivery_start:
            raise bad_input("deliveryEndTime", "delivery must end after it starts")
        details = tuple(self.trade_details)
        if not details:
            raise bad_input("tradeDetails", "a trade needs at least one trade detail")
        for index, detail in enumerate(details):
            if not isinstance(detail, TradeDetail):
                raise bad_input(f"tradeDetails[{index}]", "expected a TradeDetail")
        object.__setattr__(self, "trade_details", details)
        price: object = self.price_paise_per_kwh
        if not is_int(price) or not 0 <= self.price_paise_per_kwh < WIRE_LIMIT * 100:
            raise bad_input("pricePerKwh", f"price must be paise in [0, 10^17), not {price!r}")
        if self.buyer_id == self.seller_id:
            raise bad_input("sellerId", "buyer and seller are the same meter (self-trade)")

    @property
    def key(self) -> tuple[str, str]:
        """``(transaction_id, order_item_id)``: what the ledger upserts by."""
        return (self.transaction_id, self.order_item_id)

    @property
    def requested_wh(self) -> int:
        """Total ``ENERGY`` quantity in KWH, in Wh (what allocation shares out)."""
        return sum(detail.trade_qty_wh for detail in self.trade_details if detail.is_energy)

    @property
    def platforms(self) -> frozenset[str]:
        """The two platforms (who may ``put``)."""
        return frozenset({self.platform_id_buyer, self.platform_id_seller})

    @property
    def parties(self) -> frozenset[str]:
        """Platforms and DISCOMs of the trade (who may read it)."""
        return self.platforms | {self.discom_id_buyer, self.discom_id_seller}

    def sides_of(self, discom: str) -> tuple[Side, ...]:
        """The sides ``discom`` serves in this trade (both for an intra-DISCOM trade)."""
        sides: list[Side] = []
        if discom == self.discom_id_buyer:
            sides.append("buyer")
        if discom == self.discom_id_seller:
            sides.append("seller")
        return tuple(sides)

    def trade_input(self) -> TradeInput:
        """Just the platform-written fields, as a plain :class:`TradeInput`."""
        return TradeInput(**{f.name: getattr(self, f.name) for f in fields(TradeInput)})

    def same_trade(self, other: TradeInput) -> bool:
        """True when ``other`` writes the same content (the client reference aside)."""
        mine = replace(self.trade_input(), client_reference="-")
        return mine == replace(other.trade_input(), client_reference="-")

    def to_wire(self) -> dict[str, Any]:
        """The DEG camelCase fields a platform sends to ``ledger/put``."""
        doc: dict[str, Any] = {wire: getattr(self, name) for name, wire in _IDS}
        doc.update({wire: format_time(getattr(self, name)) for name, wire in _TIMES})
        doc["tradeDetails"] = [
            {
                "tradeQty": format_kwh(d.trade_qty_wh),
                "tradeType": str(d.trade_type),
                "tradeUnit": str(d.trade_unit),
            }
            for d in self.trade_details
        ]
        doc["pricePerKwh"] = format_rupees(self.price_paise_per_kwh)
        doc["clientReference"] = self.client_reference
        return doc

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> TradeInput:
        """Parse :meth:`to_wire`'s shape (kWh decimals -> Wh; bad input -> ``LEDGER_BAD_INPUT``)."""
        if not isinstance(doc, Mapping):
            raise bad_input("", "a trade must be a JSON object")
        return cls(**_input_fields(doc))


def _input_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {name: require_text(doc, wire) for name, wire in _IDS}
    values.update({name: parse_time(doc.get(wire), wire) for name, wire in _TIMES})
    values["trade_details"] = parse_details(doc)
    values["price_paise_per_kwh"] = parse_milli(doc.get("pricePerKwh"), "pricePerKwh", places=2)
    values["client_reference"] = require_text(doc, "clientReference")
    return values


def _metrics_wire(metrics: Sequence[ValidationMetric]) -> list[dict[str, str]]:
    out = []
    for metric in metrics:
        kind, value = str(metric.metric_type), format_kwh(metric.value_wh)
        out.append({"validationMetricType": kind, "validationMetricValue": value})
    return out


@dataclass(frozen=True, slots=True)
class TradeRecord(TradeInput):
    """One stored version of a trade: the platform's input plus what the ledger keeps.

    ``record_id`` and ``creation_time`` are fixed at the first write; ``version`` counts
    the writes of this trade; ``row_digest`` is the chain digest of the row holding it
    (empty until stored).
    """

    record_id: str
    creation_time: datetime
    buyer_metrics: tuple[ValidationMetric, ...] = ()
    seller_metrics: tuple[ValidationMetric, ...] = ()
    status_buyer_discom: TradeStatus = TradeStatus.CONFIRMED
    status_seller_discom: TradeStatus = TradeStatus.CONFIRMED
    row_digest: str = ""
    version: int = 1

    def __post_init__(self) -> None:
        TradeInput.__post_init__(self)  # zero-argument super() fails in slots dataclasses
        object.__setattr__(self, "creation_time", aware_utc(self.creation_time, "creationTime"))
        object.__setattr__(self, "buyer_metrics", tuple(self.buyer_metrics))
        object.__setattr__(self, "seller_metrics", tuple(self.seller_metrics))
        for name, wire in (
            ("status_buyer_discom", "statusBuyerDiscom"),
            ("status_seller_discom", "statusSellerDiscom"),
        ):
            try:
                object.__setattr__(self, name, TradeStatus(getattr(self, name)))
            except ValueError:
                raise bad_input(wire, f"unknown trade status {getattr(self, name)!r}") from None

    def status_of(self, side: Side) -> TradeStatus:
        """The DISCOM status of ``side``."""
        return self.status_buyer_discom if side == "buyer" else self.status_seller_discom

    def metrics_of(self, side: Side) -> tuple[ValidationMetric, ...]:
        """The validation metrics recorded for ``side``."""
        return self.buyer_metrics if side == "buyer" else self.seller_metrics

    def to_wire(self) -> dict[str, Any]:
        """The DEG ledger record (``recordId`` … ``rowDigest``) plus ``version``."""
        doc: dict[str, Any] = {
            "recordId": self.record_id,
            "creationTime": format_time(self.creation_time),
        }
        doc.update(TradeInput.to_wire(self))
        doc["buyerFulfillmentValidationMetrics"] = _metrics_wire(self.buyer_metrics)
        doc["sellerFulfillmentValidationMetrics"] = _metrics_wire(self.seller_metrics)
        doc["statusBuyerDiscom"] = str(self.status_buyer_discom)
        doc["statusSellerDiscom"] = str(self.status_seller_discom)
        doc["rowDigest"] = self.row_digest
        doc["version"] = self.version
        return doc

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> TradeRecord:
        """Parse :meth:`to_wire`'s shape (e.g. a ``ledger/get`` answer from another node)."""
        if not isinstance(doc, Mapping):
            raise bad_input("", "a trade record must be a JSON object")
        version = doc.get("version", 1)
        if not is_int(version) or version < 1:
            raise bad_input("version", "version must be an integer >= 1")
        digest = doc.get("rowDigest", "")
        if not isinstance(digest, str):
            raise bad_input("rowDigest", "rowDigest must be a string")
        return cls(
            **_input_fields(doc),
            record_id=require_text(doc, "recordId"),
            creation_time=parse_time(doc.get("creationTime"), "creationTime"),
            buyer_metrics=parse_metrics(doc, "buyerFulfillmentValidationMetrics"),
            seller_metrics=parse_metrics(doc, "sellerFulfillmentValidationMetrics"),
            status_buyer_discom=doc.get("statusBuyerDiscom", TradeStatus.CONFIRMED),
            status_seller_discom=doc.get("statusSellerDiscom", TradeStatus.CONFIRMED),
            row_digest=digest,
            version=version,
        )
