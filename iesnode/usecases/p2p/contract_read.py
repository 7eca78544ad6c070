"""Reading a P2P trade contract off the wire (the shape :mod:`.contract` writes).

Roles come from ``contractAttributes.roles``; the buyer and seller from the
``EnergyCustomer`` participants those roles name (meter, CIS number, capacity), the
DISCOMs and their ledger providers' URLs from the ``DiscomLedgerProvider`` participants,
the intervals from each commitment's ``TimeSeries`` (``research/energy-domain.md`` §2.2,
"Contract shape"). Anything that does not fit (a ``REQUESTED_QTY`` of 0 included) is a
``P2P_BAD_MESSAGE`` naming the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iesnode.usecases.p2p.contract import Commitment, Line, Party, TradeContract
from iesnode.usecases.p2p.series import (
    Series,
    bad,
    items,
    mapping,
    read_paise,
    read_wh,
    text,
)

__all__ = ["read_contract"]

_ROLES = ("buyerPlatform", "sellerPlatform", "buyerDiscom", "sellerDiscom")


def read_contract(value: object, path: str = "message.contract") -> TradeContract:
    """Read a contract; ``P2P_BAD_MESSAGE`` names the first path that does not fit."""
    doc = mapping(value, path)
    attrs = mapping(doc.get("contractAttributes"), f"{path}.contractAttributes")
    bound: dict[str, str] = {}
    for index, entry in enumerate(items(attrs.get("roles"), f"{path}.contractAttributes.roles")):
        where = f"{path}.contractAttributes.roles[{index}]"
        bound[text(entry, "role", where)] = text(entry, "participantId", where)
    for role in _ROLES:
        if role not in bound:
            raise bad(f"{path}.contractAttributes.roles", f"no {role} role")
    people = {
        str(p.get("id")): (n, p)
        for n, p in enumerate(items(doc.get("participants"), f"{path}.participants"))
    }

    def attributes(role: str) -> tuple[str, Mapping[str, Any]]:
        if bound[role] not in people:
            raise bad(f"{path}.participants", f"{role} {bound[role]} is not a participant")
        n, found = people[bound[role]]
        where = f"{path}.participants[{n}].participantAttributes"
        return where, mapping(found.get("participantAttributes"), where)

    def party(role: str, capacity: str, discom: str) -> Party:
        where, a = attributes(role)
        return Party(
            platform_id=bound[role],
            meter_id=text(a, "meterId", where),
            customer_id=text(a, "utilityCustomerId", where),
            discom_id=bound[discom],
            capacity_w=read_wh(a.get(capacity), f"{where}.{capacity}"),
        )

    uris: dict[str, str] = {}
    for discom in ("buyerDiscom", "sellerDiscom"):
        _, a = attributes(discom)
        uri = a.get("ledgerUri")
        uris[bound[discom]] = uri if isinstance(uri, str) else ""
    commitments = tuple(
        _read_commitment(c, f"{path}.commitments[{n}]")
        for n, c in enumerate(items(doc.get("commitments"), f"{path}.commitments"))
    )
    status = doc.get("status")
    code = status.get("code") if isinstance(status, Mapping) else None
    policy = attrs.get("policy")
    contract_id = doc.get("id")
    return TradeContract(
        contract_id=contract_id if isinstance(contract_id, str) else "",
        status=code if isinstance(code, str) else "DRAFT",
        buyer=party("buyerPlatform", "sanctionedLoadKw", "buyerDiscom"),
        seller=party("sellerPlatform", "installedCapacityKw", "sellerDiscom"),
        ledger_uris=uris,
        commitments=commitments,
        policy=policy if isinstance(policy, Mapping) else None,
    )


def _read_commitment(doc: Mapping[str, Any], path: str) -> Commitment:
    offer = mapping(doc.get("offer"), f"{path}.offer")
    resources = items(doc.get("resources"), f"{path}.resources")
    resource = mapping(
        resources[0].get("resourceAttributes"), f"{path}.resources[0].resourceAttributes"
    )
    series = Series.from_wire(doc.get("commitmentAttributes"), f"{path}.commitmentAttributes")
    lines = []
    for row in series.rows:
        where = f"{path}.commitmentAttributes.intervals[id={row.interval_id}]"
        if "REQUESTED_QTY" not in row.values:
            raise bad(where, "no REQUESTED_QTY")
        requested = read_wh(row.values["REQUESTED_QTY"], f"{where}.REQUESTED_QTY")
        if requested == 0:
            raise bad(f"{where}.REQUESTED_QTY", "a trade asks for more than 0 kWh")
        price = row.values.get("PRICE_PER_KWH")
        available = row.values.get("AVAILABLE_QTY")
        lines.append(
            Line(
                interval_id=row.interval_id,
                start=row.start,
                end=row.end,
                requested_wh=requested,
                price_paise_per_kwh=None
                if price is None
                else read_paise(price, f"{where}.PRICE_PER_KWH"),
                available_wh=None
                if available is None
                else read_wh(available, f"{where}.AVAILABLE_QTY"),
            )
        )
    return Commitment(
        commitment_id=text(doc, "id", path),
        offer_id=text(offer, "id", f"{path}.offer"),
        source_type=text(resource, "sourceType", f"{path}.resources[0].resourceAttributes"),
        duration=series.duration,
        lines=tuple(lines),
    )
