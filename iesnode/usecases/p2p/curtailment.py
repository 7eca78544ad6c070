"""Curtailment: the seller DISCOM lets less through than was traded, and says so.

S6's curtailment variant (``research/energy-domain.md`` §11; DEG
``examples/p2p-trading/v2/on-update-response-curtailment.json``): the utility announces a
curtailment (``curtailmentReason`` such as ``GRID_OUTAGE``) by an unsolicited
``on_update``, and the ledger status of the seller side becomes ``CURTAILED_OUTAGE``. The
ledger keeps what is still deliverable as an ``AVAILABILITY`` metric of the seller side;
allocation then shares the seller's export over that quantity instead of the traded one,
and no shortfall penalty is due for the curtailed part.
"""

from __future__ import annotations

from typing import Any

from iesnode.errors import BusinessError
from iesnode.usecases.p2p.contract import contract_id_for
from iesnode.usecases.p2p.ledger import (
    LEDGER_UNKNOWN_TRADE,
    LedgerError,
    MetricType,
    TradeLedger,
    TradeRecord,
    TradeStatus,
    ValidationMetric,
)
from iesnode.usecases.p2p.ledger_view import records_wire

__all__ = ["curtailment_message", "record_curtailment"]


async def record_curtailment(
    ledger: TradeLedger,
    *,
    discom_id: str,
    transaction_id: str,
    order_item_id: str,
    curtailed_wh: int,
) -> TradeRecord:
    """Seller DISCOM ``discom_id`` records that ``curtailed_wh`` of the trade cannot flow."""
    found = [
        r
        for r in await ledger.get(reader=discom_id, transaction_id=transaction_id)
        if r.order_item_id == order_item_id
    ]
    if not found:
        raise LedgerError(LEDGER_UNKNOWN_TRADE, "no such trade", path="orderItemId")
    if found[0].discom_id_seller != discom_id:
        raise BusinessError("LP_NOT_SELLER_DISCOM", "only the seller DISCOM curtails supply")
    left = max(0, found[0].requested_wh - curtailed_wh)
    return await ledger.record(
        transaction_id,
        order_item_id,
        writer=discom_id,
        metrics=[ValidationMetric(MetricType.AVAILABILITY, left)],
        status=TradeStatus.CURTAILED_OUTAGE,
        side="seller",
    )


def curtailment_message(record: TradeRecord, reason: str) -> dict[str, Any]:
    """The ledger provider's unsolicited ``on_update`` to the trade's platforms."""
    return {
        "contract": {"id": contract_id_for(record.transaction_id), "status": {"code": "ACTIVE"}},
        "ledgerRecords": records_wire([record]),
        "curtailment": {"orderItemId": record.order_item_id, "reason": reason},
    }
