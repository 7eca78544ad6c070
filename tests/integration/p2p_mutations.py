"""Single mutations of a valid P2P quote, each breaking one rule of the network pack.

The rules are those of ``iesnode/policy/packs/p2p-trading-network/intent.md`` (the anchors
each violation names); every mutation changes one thing of a contract as a seller platform
quoted it (``on_select``), so an ``init`` carrying it is refused naming that rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["MUTATIONS", "Contract"]

Contract = dict[str, Any]


def party(contract: Contract, role: str) -> dict[str, Any]:
    """The participant the contract's ``role`` names."""
    roles = contract["contractAttributes"]["roles"]
    wanted = next(r["participantId"] for r in roles if r["role"] == role)
    found: dict[str, Any] = next(p for p in contract["participants"] if p["id"] == wanted)
    return found


def series(contract: Contract) -> dict[str, Any]:
    """The first commitment's time series."""
    found: dict[str, Any] = contract["commitments"][0]["commitmentAttributes"]
    return found


def payload(contract: Contract, kind: str) -> dict[str, Any]:
    """The first interval's payload of ``kind``."""
    return next(p for p in series(contract)["intervals"][0]["payloads"] if p["type"] == kind)


def self_trade(c: Contract) -> None:
    """The buyer trades on the seller's meter."""
    party(c, "buyerPlatform")["participantAttributes"]["meterId"] = party(c, "sellerPlatform")[
        "participantAttributes"
    ]["meterId"]


def bap_not_participant(c: Contract) -> None:
    """Another platform stands in as the buyer, so the sending BAP is no participant."""
    buyer = party(c, "buyerPlatform")
    for role in c["contractAttributes"]["roles"]:
        if role["participantId"] == buyer["id"]:
            role["participantId"] = "other-platform.test"
    buyer["id"] = "other-platform.test"


def gate_closed(c: Contract) -> None:
    """Delivery starts within two hours from now."""
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    series(c)["intervalPeriod"]["start"] = soon.isoformat().replace("+00:00", "Z")


def final_above_min(c: Contract) -> None:
    """A FINAL_ALLOC above the DISCOMs' allocations, every column declared."""
    for kind, value in (("SELLER_DISCOM_ALLOC", 4), ("BUYER_DISCOM_ALLOC", 3), ("FINAL_ALLOC", 5)):
        series(c)["payloadDescriptors"].append({"payloadType": kind, "units": "KWH"})
        series(c)["intervals"][0]["payloads"].append({"type": kind, "values": [value]})


MUTATIONS: dict[str, tuple[Callable[[Contract], None], str]] = {
    "same meter for buyer and seller": (self_trade, "no-self-trade"),
    "sourceType GRID": (
        lambda c: c["commitments"][0]["resources"][0]["resourceAttributes"].update(
            sourceType="GRID"
        ),
        "no-grid-source",
    ),
    "price in EUR": (lambda c: c["consideration"][0]["price"].update(currency="EUR"), "units"),
    "energy in MWh": (
        lambda c: c["commitments"][0]["resources"][0]["quantity"].update(unitCode="MWH"),
        "units",
    ),
    "no buyerPlatform role": (
        lambda c: c["contractAttributes"].update(
            roles=[r for r in c["contractAttributes"]["roles"] if r["role"] != "buyerPlatform"]
        ),
        "required-roles",
    ),
    "unknown role": (
        lambda c: c["contractAttributes"]["roles"].append(
            {"role": "aggregator", "participantId": party(c, "buyerPlatform")["id"]}
        ),
        "required-roles",
    ),
    "bapId not among the participants": (bap_not_participant, "bap-bpp-participants"),
    "undeclared payload type": (
        lambda c: series(c)["intervals"][0]["payloads"].append(
            {"type": "CARBON_INTENSITY", "values": [1]}
        ),
        "payload-types-declared",
    ),
    "production meter id on the test network": (
        lambda c: party(c, "buyerPlatform")["participantAttributes"].update(meterId="KA-0042817"),
        "test-production-separation",
    ),
    "delivery inside the T-4 h gate": (gate_closed, "gate-closure"),
    "above the hourly cap": (
        lambda c: payload(c, "REQUESTED_QTY").update(values=[13]),
        "per-hour-cap",
    ),
    "below 1 kWh": (lambda c: payload(c, "REQUESTED_QTY").update(values=[0.5]), "minimum-quantity"),
    "FINAL_ALLOC above both allocations": (final_above_min, "allocation-within-min"),
}
