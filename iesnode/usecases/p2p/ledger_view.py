"""A contract as its ledger sees it: allocation columns, DISCOM statuses, curtailment, flows.

After delivery each DISCOM records its side of every trade (``research/energy-domain.md``
§2.2): the seller DISCOM the energy it allocates to the trade as ``ACTUAL_PUSHED``, the
buyer DISCOM as ``ACTUAL_PULLED``, and a curtailment as ``AVAILABILITY`` (what the grid
let through) with status ``CURTAILED_OUTAGE``. On the wire these become the ``REPORT``
columns ``SELLER_DISCOM_ALLOC``, ``BUYER_DISCOM_ALLOC``, ``*_DISCOM_STATUS`` and
``FINAL_ALLOC = min(both)`` of each interval (IES P2P README, "Payload snapshots"), and
the settled money the ``auto-settlement-flows`` consideration of ``RevenueFlow`` rows.
Ledger records travel beside the contract as ``message.ledgerRecords`` (the DEG ledger
record fields of :meth:`~.ledger.TradeRecord.to_wire`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from iesnode.usecases.p2p.contract import TradeContract
from iesnode.usecases.p2p.ledger import LedgerError, MetricType, Side, TradeRecord
from iesnode.usecases.p2p.series import Series, bad, items, json_number
from iesnode.usecases.p2p.settlement import FlowRole, RevenueFlow

__all__ = [
    "ALLOC_METRIC",
    "allocated_wh",
    "available_wh",
    "flows_wire",
    "ledger_view",
    "read_flows",
    "read_records",
    "records_wire",
    "view_columns",
]

ALLOC_METRIC: Mapping[Side, MetricType] = {
    "seller": MetricType.ACTUAL_PUSHED,
    "buyer": MetricType.ACTUAL_PULLED,
}
_REPORT = {"objectType": "REPORT_PAYLOAD_DESCRIPTOR"}


def _metric(record: TradeRecord, side: Side, kind: MetricType) -> int | None:
    for metric in record.metrics_of(side):
        if metric.metric_type is kind:
            return metric.value_wh
    return None


def allocated_wh(record: TradeRecord, side: Side) -> int | None:
    """The energy ``side``'s DISCOM allocated to the trade, None until recorded."""
    return _metric(record, side, ALLOC_METRIC[side])


def available_wh(record: TradeRecord) -> int:
    """What the trade may deliver: the requested quantity, less any curtailment."""
    cap = _metric(record, "seller", MetricType.AVAILABILITY)
    return record.requested_wh if cap is None else min(cap, record.requested_wh)


def records_wire(records: Sequence[TradeRecord]) -> list[dict[str, Any]]:
    """``message.ledgerRecords``."""
    return [record.to_wire() for record in records]


def read_records(message: Mapping[str, Any], path: str = "message") -> list[TradeRecord]:
    """The ``ledgerRecords`` of a ledger provider's callback."""
    out = []
    for index, doc in enumerate(items(message.get("ledgerRecords"), f"{path}.ledgerRecords")):
        try:
            out.append(TradeRecord.from_wire(doc))
        except LedgerError as exc:
            where = f"{path}.ledgerRecords[{index}]" + (f".{exc.path}" if exc.path else "")
            raise bad(where, exc.message) from None
    return out


def flows_wire(flows: Mapping[str, Sequence[RevenueFlow]]) -> list[dict[str, Any]]:
    """``message.revenueFlows``: the settled flows of each order item."""
    return [
        {"orderItemId": item, "flows": [flow.to_wire() for flow in found]}
        for item, found in flows.items()
    ]


def read_flows(message: Mapping[str, Any], path: str = "message") -> dict[str, list[RevenueFlow]]:
    """Read :func:`flows_wire`'s shape (absent: nothing settled yet)."""
    out: dict[str, list[RevenueFlow]] = {}
    for n, entry in enumerate(
        items(message.get("revenueFlows"), f"{path}.revenueFlows", required=False)
    ):
        where = f"{path}.revenueFlows[{n}]"
        item = entry.get("orderItemId")
        if not isinstance(item, str):
            raise bad(f"{where}.orderItemId", "expected an order item id")
        try:
            out[item] = [
                RevenueFlow.from_wire(f) for f in items(entry.get("flows"), f"{where}.flows")
            ]
        except LedgerError as exc:
            raise bad(f"{where}.flows.{exc.path}", exc.message) from None
    return out


def ledger_view(
    contract: TradeContract,
    records: Sequence[TradeRecord],
    flows: Sequence[RevenueFlow] = (),
) -> dict[str, Any]:
    """``contract`` on the wire with what the ledger ``records`` say about each interval.

    ``flows`` (per trade, as :func:`~.settlement.settle` returns them) are summed by role
    into one ``auto-settlement-flows`` consideration.
    """
    doc = contract.to_wire()
    by_item = {record.order_item_id: record for record in records}
    for c_doc, commitment in zip(doc["commitments"], contract.commitments, strict=True):
        series = c_doc["commitmentAttributes"]
        used: dict[str, dict[str, str]] = {}
        curtailed = []
        for interval, line in zip(series["intervals"], commitment.lines, strict=True):
            record = by_item.get(commitment.item_id(line))
            if record is None:
                continue
            columns = _columns(record)
            for kind in columns:
                units = {"units": "KWH"} if kind.endswith("_ALLOC") else {}
                used[kind] = {**_REPORT, **units}
            interval["payloads"].extend({"type": k, "values": [v]} for k, v in columns.items())
            short = record.requested_wh - available_wh(record)
            if short > 0:
                curtailed.append(
                    {
                        "intervalId": line.interval_id,
                        "reason": "GRID_OUTAGE",
                        "status": str(record.status_seller_discom),
                        "curtailedQuantity": {
                            "unitCode": "KWH",
                            "unitQuantity": json_number(short),
                        },
                    }
                )
        series["payloadDescriptors"].extend({"payloadType": k, **v} for k, v in used.items())
        if curtailed:
            c_doc["curtailment"] = curtailed
    if flows:
        doc["consideration"].append(_flows(flows))
    return doc


def _columns(record: TradeRecord) -> dict[str, object]:
    columns: dict[str, object] = {
        "BUYER_DISCOM_STATUS": str(record.status_buyer_discom),
        "SELLER_DISCOM_STATUS": str(record.status_seller_discom),
    }
    seller, buyer = allocated_wh(record, "seller"), allocated_wh(record, "buyer")
    if seller is not None:
        columns["SELLER_DISCOM_ALLOC"] = json_number(seller)
    if buyer is not None:
        columns["BUYER_DISCOM_ALLOC"] = json_number(buyer)
    if seller is not None and buyer is not None:
        columns["FINAL_ALLOC"] = json_number(min(seller, buyer))
    return columns


def _flows(flows: Sequence[RevenueFlow]) -> dict[str, Any]:
    net: dict[FlowRole, int] = defaultdict(int)
    for flow in flows:
        net[flow.role] += flow.amount_paise
    rows = [RevenueFlow(role, amount, f"net for {role}").to_wire() for role, amount in net.items()]
    return {
        "id": "auto-settlement-flows",
        "status": {"code": "SETTLED"},
        "considerationAttributes": {
            "@type": "RevenueFlow",
            "currency": "INR",
            "revenueFlows": rows,
        },
    }


def view_columns(contract: Mapping[str, Any]) -> dict[str, dict[str, object]]:
    """Order item (``commitment/interval``) -> its payload values, read from a contract."""
    out: dict[str, dict[str, object]] = {}
    for n, c in enumerate(items(contract.get("commitments"), "contract.commitments")):
        where = f"contract.commitments[{n}]"
        series = Series.from_wire(c.get("commitmentAttributes"), f"{where}.commitmentAttributes")
        for row in series.rows:
            out[f"{c.get('id')}/{row.interval_id}"] = dict(row.values)
    return out
