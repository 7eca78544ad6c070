"""Money flows of one settled P2P trade, in integer paise, netting to exactly zero.

Sources (``research/energy-domain.md``): §2.2 ("Revenue flows": ``revenueFlows[] {role,
value, currency, description}`` netting to zero, buyer negative and seller positive) and
§5.3 (DISCOM policy knobs ``wheeling_charge_buyer_per_kwh`` /
``wheeling_charge_seller_per_kwh`` and ``penalty_rate_per_kwh`` applied to
``(REQUESTED_QTY - FINAL_ALLOC)⁺``).

Each charge is computed once, ``Wh * paise/kWh / 1000`` in :class:`~decimal.Decimal`,
rounded to whole paise with ``ROUND_HALF_EVEN``, then taken from its payer and given to
its payee, so the flows sum to zero exactly:

* energy: buyer pays seller ``FINAL_ALLOC * price``;
* wheeling: each side pays its own DISCOM ``FINAL_ALLOC * its wheeling rate``;
* shortfall penalty on ``(REQUESTED - FINAL)⁺ * penalty rate``: the seller pays its
  DISCOM for its own shortfall ``REQUESTED - SELLER_ALLOC``; the rest of the shortfall
  (the buyer side took less than the seller delivered) is paid by the buyer to the
  buyer DISCOM.

The result is one net row per role, always four, in the order buyer, seller, buyerDiscom,
sellerDiscom; a positive amount is received, a negative one paid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final, Literal, Protocol, get_args

from iesnode.usecases.p2p.allocation import Allocation
from iesnode.usecases.p2p.ledger_types import bad_input
from iesnode.usecases.p2p.ledger_wire import format_kwh, format_rupees, parse_milli

__all__ = ["ROLES", "FlowRole", "PricedTrade", "RevenueFlow", "SettlementTerms", "settle"]

FlowRole = Literal["buyer", "seller", "buyerDiscom", "sellerDiscom"]
ROLES: Final[tuple[FlowRole, ...]] = get_args(FlowRole)


class PricedTrade(Protocol):
    """What settlement needs of a trade (a :class:`~.ledger.TradeRecord` or ``TradeInput``)."""

    @property
    def price_paise_per_kwh(self) -> int: ...


def _rate(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise bad_input(name, f"{name} must be an int or Decimal (paise per kWh), not {value!r}")
    rate = Decimal(value)
    if not rate.is_finite() or rate < 0:
        raise bad_input(name, f"{name} must be a finite rate >= 0")
    return rate


@dataclass(frozen=True, slots=True)
class SettlementTerms:
    """A DISCOM contract's charges in paise per kWh (ints or Decimals, never floats)."""

    wheeling_buyer_paise_per_kwh: Decimal | int = 0
    wheeling_seller_paise_per_kwh: Decimal | int = 0
    penalty_paise_per_kwh: Decimal | int = 0

    def __post_init__(self) -> None:
        for name in (
            "wheeling_buyer_paise_per_kwh",
            "wheeling_seller_paise_per_kwh",
            "penalty_paise_per_kwh",
        ):
            object.__setattr__(self, name, _rate(getattr(self, name), name))


@dataclass(frozen=True, slots=True)
class RevenueFlow:
    """One role's net money for a trade: ``amount_paise`` > 0 received, < 0 paid."""

    role: FlowRole
    amount_paise: int
    description: str

    def to_wire(self) -> dict[str, str]:
        """The DEG ``RevenueFlow``: ``{role, value (INR, 2 places), currency, description}``."""
        return {
            "role": self.role,
            "value": format_rupees(self.amount_paise),
            "currency": "INR",
            "description": self.description,
        }

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> RevenueFlow:
        """Parse :meth:`to_wire`'s shape (``LEDGER_BAD_INPUT`` naming the field)."""
        role = doc.get("role")
        if role not in ROLES:
            raise bad_input("role", f"unknown revenue flow role {role!r}")
        if doc.get("currency") != "INR":
            raise bad_input("currency", "revenue flows are in INR")
        description = doc.get("description", "")
        if not isinstance(description, str):
            raise bad_input("description", "description must be a string")
        amount = parse_milli(doc.get("value"), "value", places=2)
        return cls(role=role, amount_paise=amount, description=description)


def _charge(wh: int, paise_per_kwh: Decimal) -> int:
    """``wh * rate / 1000`` rounded half-even to whole paise."""
    exact = Decimal(wh) * paise_per_kwh / 1000
    return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))


def settle(trade: PricedTrade, allocation: Allocation, terms: SettlementTerms) -> list[RevenueFlow]:
    """The four net revenue flows of one trade (see the module docstring for the rules)."""
    final = allocation.final_alloc_wh
    seller_short = min(
        allocation.shortfall_wh, allocation.requested_wh - allocation.seller_alloc_wh
    )
    buyer_short = allocation.shortfall_wh - seller_short
    price = Decimal(trade.price_paise_per_kwh)
    rate = Decimal(terms.penalty_paise_per_kwh)
    charges: list[tuple[FlowRole, FlowRole, str, int, int]] = [
        ("buyer", "seller", "energy", final, _charge(final, price)),
        (
            "buyer",
            "buyerDiscom",
            "wheeling",
            final,
            _charge(final, Decimal(terms.wheeling_buyer_paise_per_kwh)),
        ),
        (
            "seller",
            "sellerDiscom",
            "wheeling",
            final,
            _charge(final, Decimal(terms.wheeling_seller_paise_per_kwh)),
        ),
        ("seller", "sellerDiscom", "shortfall penalty", seller_short, _charge(seller_short, rate)),
        ("buyer", "buyerDiscom", "shortfall penalty", buyer_short, _charge(buyer_short, rate)),
    ]
    net = dict.fromkeys(ROLES, 0)
    notes: dict[FlowRole, list[str]] = {role: [] for role in ROLES}
    for payer, payee, what, wh, paise in charges:
        if paise == 0 and what != "energy":
            continue
        net[payer] -= paise
        net[payee] += paise
        amount = f"{format_rupees(paise)} INR for {format_kwh(wh)} kWh"
        notes[payer].append(f"pays {what} {amount} to {payee}")
        notes[payee].append(f"receives {what} {amount} from {payer}")
    return [RevenueFlow(role, net[role], "; ".join(notes[role]) or "no charges") for role in ROLES]
