"""The DEG wave-2 P2P trade contract: build it, read it, turn it into ledger trades.

Shape from ``research/energy-domain.md`` §2.2 ("Contract shape"; DEG
``devkits/p2p-trading-ies-wave2/uc1/examples/confirm-request.json``): a ``DEGContract``
whose ``roles`` bind ``buyerPlatform``/``sellerPlatform`` to the platforms'
``EnergyCustomer`` participants (meter, customer, capacity) and
``buyerDiscom``/``sellerDiscom`` to ``DiscomLedgerProvider`` participants carrying the
``ledgerUri`` the platforms write to; one commitment per offer whose
``commitmentAttributes`` is a ``TimeSeries`` with ``PRICE_PER_KWH`` / ``AVAILABLE_QTY``
(seller) and ``REQUESTED_QTY`` (buyer) per interval. A DISCOM participant's id is the
subscriber id of the DISCOM's ledger provider, which is also the DISCOM id the ledger
records, so the ledger-write leg passes the network rule that bapId and bppId are
participants. The ledger view (allocation ``REPORT`` columns, curtailment, revenue flows)
is added by :mod:`.ledger_view`; :mod:`.contract_read` reads contracts back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from iesnode.usecases.p2p.ledger import TradeDetail, TradeInput
from iesnode.usecases.p2p.series import Series, bad, json_number

__all__ = [
    "Charges",
    "Commitment",
    "Line",
    "Party",
    "TradeContract",
    "contract_id_for",
    "inr",
    "paise_for",
]

_QTY = {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "units": "KWH"}
_PRICE = {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "currency": "INR"}


def contract_id_for(transaction_id: str) -> str:
    """The contract id a seller platform gives the trade of ``transaction_id``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"iesnode:p2p:contract:{transaction_id}"))


def paise_for(wh: int, paise_per_kwh: int) -> int:
    """``wh * rate / 1000`` to whole paise, half-even."""
    exact = Decimal(wh) * paise_per_kwh / 1000
    return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))


def inr(paise: int) -> int | float:
    """Paise as a JSON number of rupees."""
    return json_number(paise * 10)


@dataclass(frozen=True, slots=True)
class Party:
    """A consumer a platform trades for: platform, meter, CIS number, DISCOM, capacity in W."""

    platform_id: str
    meter_id: str
    customer_id: str
    discom_id: str
    capacity_w: int
    """Installed capacity for a seller, sanctioned load for a buyer."""


@dataclass(frozen=True, slots=True)
class Line:
    """One delivery interval of a commitment."""

    interval_id: int
    start: datetime
    end: datetime
    requested_wh: int
    price_paise_per_kwh: int | None = None
    available_wh: int | None = None


@dataclass(frozen=True, slots=True)
class Commitment:
    """The energy bought from one offer, interval by interval."""

    commitment_id: str
    offer_id: str
    source_type: str
    duration: str
    lines: tuple[Line, ...]

    @property
    def resource_id(self) -> str:
        """Id of the energy resource the commitment draws on."""
        return f"{self.offer_id}-energy"

    def item_id(self, line: Line) -> str:
        """The ledger ``orderItemId`` of ``line``."""
        return f"{self.commitment_id}/{line.interval_id}"


@dataclass(frozen=True, slots=True)
class Charges:
    """Wheeling rates quoted with a trade, paise per kWh (the DISCOMs' published rates)."""

    buyer_wheeling_paise_per_kwh: int
    seller_wheeling_paise_per_kwh: int


@dataclass(frozen=True, slots=True)
class TradeContract:
    """A P2P contract between a buyer and a seller, on their platforms and DISCOMs."""

    contract_id: str
    status: str
    buyer: Party
    seller: Party
    ledger_uris: Mapping[str, str]
    """DISCOM id -> its ledger provider's URL (``ledgerUri``)."""
    commitments: tuple[Commitment, ...]
    charges: Charges | None = None
    policy: Mapping[str, Any] | None = None

    @property
    def lines(self) -> list[tuple[Commitment, Line]]:
        """Every interval of every commitment."""
        return [(c, line) for c in self.commitments for line in c.lines]

    def energy_paise(self) -> int | None:
        """What the buyer pays for the requested energy; None until every line is priced."""
        prices = [(line.requested_wh, line.price_paise_per_kwh) for _, line in self.lines]
        if any(p is None for _, p in prices):
            return None
        return sum(paise_for(wh, p) for wh, p in prices if p is not None)

    def trade_inputs(self, transaction_id: str, trade_time: datetime) -> list[TradeInput]:
        """One ledger trade per interval (``orderItemId`` = ``commitment/interval``)."""
        trades = []
        for commitment, line in self.lines:
            if line.price_paise_per_kwh is None:
                raise bad("contract.commitments", "every interval needs a PRICE_PER_KWH")
            item = commitment.item_id(line)
            trades.append(
                TradeInput(
                    transaction_id=transaction_id,
                    order_item_id=item,
                    platform_id_buyer=self.buyer.platform_id,
                    platform_id_seller=self.seller.platform_id,
                    discom_id_buyer=self.buyer.discom_id,
                    discom_id_seller=self.seller.discom_id,
                    buyer_id=self.buyer.meter_id,
                    seller_id=self.seller.meter_id,
                    trade_time=trade_time,
                    delivery_start=line.start,
                    delivery_end=line.end,
                    trade_details=(TradeDetail(line.requested_wh),),
                    price_paise_per_kwh=line.price_paise_per_kwh,
                    client_reference=f"{transaction_id}/{item}",
                )
            )
        return trades

    # writing -----------------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """The Beckn v2 ``contract`` object."""
        discoms = [("buyerDiscom", self.buyer.discom_id), ("sellerDiscom", self.seller.discom_id)]
        roles = [
            {"role": "buyerPlatform", "participantId": self.buyer.platform_id},
            {"role": "sellerPlatform", "participantId": self.seller.platform_id},
            *({"role": role, "participantId": discom} for role, discom in discoms),
        ]
        attributes: dict[str, Any] = {"@type": "DEGContract", "roles": roles}
        if self.policy is not None:
            attributes["policy"] = dict(self.policy)
        doc: dict[str, Any] = {
            "status": {"code": self.status},
            "commitments": [self._commitment(c) for c in self.commitments],
            "consideration": self._consideration(),
            "participants": self._participants(),
            "settlements": [
                {
                    "id": "settlement-1",
                    "status": "DRAFT" if self.status == "DRAFT" else "ACTIVE",
                    "settlementAttributes": {
                        "@type": "SettlementTerm",
                        "acceptedPaymentMethods": ["BANK_TRANSFER"],
                        "paymentTrigger": "ON_FULFILLMENT",
                        "settlementStatus": "PENDING",
                    },
                }
            ],
            "contractAttributes": attributes,
        }
        if self.contract_id:
            doc = {"id": self.contract_id, **doc}
        return doc

    def _participants(self) -> list[dict[str, Any]]:
        def customer(party: Party, capacity: str) -> dict[str, Any]:
            return {
                "id": party.platform_id,
                "participantAttributes": {
                    "@type": "EnergyCustomer",
                    "meterId": party.meter_id,
                    "utilityCustomerId": party.customer_id,
                    "discomId": party.discom_id,
                    capacity: json_number(party.capacity_w),
                },
            }

        out = [
            customer(self.buyer, "sanctionedLoadKw"),
            customer(self.seller, "installedCapacityKw"),
        ]
        for discom in dict.fromkeys((self.buyer.discom_id, self.seller.discom_id)):
            attrs = {"@type": "DiscomLedgerProvider", "discomId": discom, "ledgerId": discom}
            uri = self.ledger_uris.get(discom)
            out.append({"id": discom, "participantAttributes": {**attrs, "ledgerUri": uri or ""}})
        return out

    def _commitment(self, c: Commitment) -> dict[str, Any]:
        descriptors: dict[str, dict[str, str]] = {}
        windows = []
        for line in c.lines:
            values: dict[str, object] = {}
            if line.price_paise_per_kwh is not None:
                descriptors["PRICE_PER_KWH"] = {**_PRICE, "insertedBy": "sellerPlatform"}
                values["PRICE_PER_KWH"] = inr(line.price_paise_per_kwh)
            if line.available_wh is not None:
                descriptors["AVAILABLE_QTY"] = {**_QTY, "insertedBy": "sellerPlatform"}
                values["AVAILABLE_QTY"] = json_number(line.available_wh)
            descriptors["REQUESTED_QTY"] = {**_QTY, "insertedBy": "buyerPlatform"}
            values["REQUESTED_QTY"] = json_number(line.requested_wh)
            windows.append((line.start, values))
        total = sum(line.requested_wh for line in c.lines)
        return {
            "id": c.commitment_id,
            "status": {"descriptor": {"code": self.status}},
            "resources": [
                {
                    "id": c.resource_id,
                    "quantity": {"unitCode": "KWH", "unitQuantity": json_number(total)},
                    "resourceAttributes": {
                        "@type": "EnergyResource",
                        "sourceType": c.source_type,
                        "meterId": self.seller.meter_id,
                    },
                }
            ],
            "offer": {"id": c.offer_id, "resourceIds": [c.resource_id]},
            "commitmentAttributes": Series.build(c.duration, descriptors, windows).to_wire(),
        }

    def _consideration(self) -> list[dict[str, Any]]:
        energy = self.energy_paise()
        if energy is None:
            return []
        state = {"code": self.status}
        out: list[dict[str, Any]] = [
            {
                "id": "energy",
                "status": state,
                "price": {"currency": "INR", "value": inr(energy)},
                "considerationAttributes": {
                    "@type": "PriceSpecification",
                    "currency": "INR",
                    "totalValue": inr(energy),
                    "unitText": "kWh",
                },
            }
        ]
        if self.charges is None:
            return out
        wh = sum(line.requested_wh for _, line in self.lines)
        for payer, payee, rate in (
            ("buyer", "buyerDiscom", self.charges.buyer_wheeling_paise_per_kwh),
            ("seller", "sellerDiscom", self.charges.seller_wheeling_paise_per_kwh),
        ):
            amount = inr(paise_for(wh, rate))
            out.append(
                {
                    "id": f"wheeling-{payee}",
                    "status": state,
                    "price": {"currency": "INR", "value": amount},
                    "considerationAttributes": {
                        "@type": "PriceSpecification",
                        "chargeType": "WHEELING",
                        "payer": payer,
                        "payee": payee,
                        "currency": "INR",
                        "ratePerKwh": inr(rate),
                        "totalValue": amount,
                        "unitText": "kWh",
                    },
                }
            )
        return out
