"""A seller platform's offer book: what is on offer, what is left, and the quote for an order.

The quote is what ``select``/``init`` answer in the DEG wave-2 flow
(``research/energy-domain.md`` §2.2, phase 2; §2.3: "the quote shows energy plus
wheeling"): the buyer's contract with the seller's price and remaining availability per
interval, the seller and its DISCOM's ledger provider as the offer names them, and both
DISCOMs' wheeling charges. An order is refused with the path of the first interval that
is not on offer or asks for more than is left (counting what the order's earlier lines
already ask of the same slot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from iesnode.errors import BusinessError
from iesnode.usecases.p2p.config import Tariff
from iesnode.usecases.p2p.contract import Charges, Commitment, Party, TradeContract, contract_id_for
from iesnode.usecases.p2p.offers import Filters, Offer

__all__ = ["OfferBook"]


class OfferBook:
    """Offers by id and the energy left in each of their slots."""

    def __init__(self) -> None:
        self.offers: dict[str, Offer] = {}
        self._left: dict[tuple[str, datetime], int] = {}

    def add(self, offer: Offer) -> None:
        """Put ``offer`` on the book with all of its slots available."""
        self.offers[offer.offer_id] = offer
        for slot in offer.slots:
            self._left[(offer.offer_id, slot.start)] = slot.available_wh

    def left(self, offer_id: str, start: datetime) -> int:
        """Wh still available in the slot."""
        return self._left.get((offer_id, start), 0)

    def shown(self, filters: Filters) -> list[Offer]:
        """The offers as a catalog shows them: slots with energy left that match ``filters``."""
        shown = []
        for offer in self.offers.values():
            slots = [
                replace(s, available_wh=self.left(offer.offer_id, s.start))
                for s in offer.slots
                if self.left(offer.offer_id, s.start) > 0
            ]
            kept = filters.keep(offer.with_slots(slots)) if slots else None
            if kept is not None:
                shown.append(kept)
        return shown

    def reserve(self, contract: TradeContract, sign: int = -1) -> None:
        """Take the contract's energy off the book (``sign=+1`` gives it back)."""
        for commitment, line in contract.lines:
            self._left[(commitment.offer_id, line.start)] += sign * line.requested_wh

    def quote(
        self,
        contract: TradeContract,
        *,
        transaction_id: str,
        status: str,
        tariffs: Mapping[str, Tariff],
        policy: Mapping[str, Any] | None,
    ) -> TradeContract:
        """``contract`` priced from the book; raises ``BusinessError`` naming the bad path."""
        seller: Party | None = None
        commitments = []
        asked: dict[tuple[str, datetime], int] = {}
        for n, commitment in enumerate(contract.commitments):
            where = f"message.contract.commitments[{n}]"
            offer = self.offers.get(commitment.offer_id)
            if offer is None or (seller is not None and offer.seller != seller):
                raise BusinessError(
                    "P2P_UNKNOWN_OFFER", f"no offer {commitment.offer_id}", path=f"{where}.offer.id"
                )
            seller = offer.seller
            commitments.append(self._priced(offer, commitment, where, asked))
        assert seller is not None  # a contract has at least one commitment
        uris = {
            **contract.ledger_uris,
            seller.discom_id: self.offers[commitments[0].offer_id].ledger_uri,
        }
        buyer_rates, seller_rates = (
            tariffs.get(contract.buyer.discom_id),
            tariffs.get(seller.discom_id),
        )
        charges = None
        if buyer_rates is not None and seller_rates is not None:
            charges = Charges(
                buyer_rates.buyer_wheeling_paise_per_kwh,
                seller_rates.seller_wheeling_paise_per_kwh,
            )
        return replace(
            contract,
            contract_id=contract_id_for(transaction_id),
            status=status,
            seller=seller,
            ledger_uris=uris,
            commitments=tuple(commitments),
            charges=charges,
            policy=policy if policy is not None else contract.policy,
        )

    def _priced(
        self,
        offer: Offer,
        commitment: Commitment,
        where: str,
        asked: dict[tuple[str, datetime], int],
    ) -> Commitment:
        lines = []
        for line in commitment.lines:
            at = f"{where}.commitmentAttributes.intervals[id={line.interval_id}]"
            slot = offer.slot(line.start)
            if slot is None or commitment.duration != offer.duration:
                raise BusinessError(
                    "P2P_UNKNOWN_SLOT", f"{offer.offer_id} has no slot at {line.start}", path=at
                )
            left = self.left(offer.offer_id, slot.start)
            key = (offer.offer_id, slot.start)
            asked[key] = asked.get(key, 0) + line.requested_wh
            if asked[key] > left:
                raise BusinessError(
                    "P2P_INSUFFICIENT_QTY",
                    f"{asked[key]} Wh requested of this slot, {left} Wh available",
                    path=f"{at}.REQUESTED_QTY",
                )
            priced = replace(line, price_paise_per_kwh=slot.price_paise_per_kwh, available_wh=left)
            lines.append(priced)
        return replace(
            commitment, source_type=offer.source_type, duration=offer.duration, lines=tuple(lines)
        )
