"""A ledger provider's day report as JSON: what its control socket answers for ``settle``.

:class:`~.allocation_run.DayReport` (``research/energy-domain.md`` §2.2, "Allocation and
settlement math") carried out of the role process and read back whole, so an operator's
tools - and ``examples/p2p_trading/run.py`` - print the same books as the in-process day.
Records travel with the DEG ledger field names (:meth:`~.ledger.TradeRecord.to_wire`),
money as DEG ``RevenueFlow`` rows (INR decimal strings), allocations in integer Wh.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from iesnode.usecases.p2p.allocation import Allocation
from iesnode.usecases.p2p.allocation_run import DayReport, TradeOutcome
from iesnode.usecases.p2p.ledger import LedgerError, TradeRecord
from iesnode.usecases.p2p.series import bad, items, mapping, text
from iesnode.usecases.p2p.settlement import RevenueFlow

__all__ = ["read_report", "report_wire"]


def report_wire(report: DayReport) -> dict[str, Any]:
    """The report as a JSON object."""
    return {
        "discomId": report.discom_id,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "flags": list(report.flags),
        "trades": [_outcome_wire(o) for o in report.trades],
    }


def _outcome_wire(outcome: TradeOutcome) -> dict[str, Any]:
    a = outcome.allocation
    return {
        "record": outcome.record.to_wire(),
        "allocation": None
        if a is None
        else {
            "requestedWh": a.requested_wh,
            "sellerAllocWh": a.seller_alloc_wh,
            "buyerAllocWh": a.buyer_alloc_wh,
        },
        "flows": [f.to_wire() for f in outcome.flows],
        "flags": list(outcome.flags),
    }


def read_report(doc: object, path: str = "report") -> DayReport:
    """Read :func:`report_wire`'s shape back; a bad document names the path that failed."""
    report = mapping(doc, path)
    trades = tuple(
        _read_outcome(entry, f"{path}.trades[{n}]")
        for n, entry in enumerate(items(report.get("trades"), f"{path}.trades", required=False))
    )
    return DayReport(
        discom_id=text(report, "discomId", path),
        start=_time(report, "start", path),
        end=_time(report, "end", path),
        trades=trades,
        flags=_flags(report, path),
    )


def _read_outcome(entry: Mapping[str, Any], path: str) -> TradeOutcome:
    try:
        record = TradeRecord.from_wire(mapping(entry.get("record"), f"{path}.record"))
        flows = tuple(
            RevenueFlow.from_wire(f)
            for f in items(entry.get("flows"), f"{path}.flows", required=False)
        )
    except LedgerError as exc:
        raise bad(f"{path}.{exc.path}", exc.message) from None
    allocation = None
    if entry.get("allocation") is not None:
        a = mapping(entry["allocation"], f"{path}.allocation")
        wh = [a.get(k) for k in ("requestedWh", "sellerAllocWh", "buyerAllocWh")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in wh):
            raise bad(f"{path}.allocation", "expected whole Wh")
        allocation = Allocation.of(*(int(v) for v in wh if isinstance(v, int)))
    return TradeOutcome(record, allocation, flows, _flags(entry, path))


def _flags(doc: Mapping[str, Any], path: str) -> tuple[str, ...]:
    flags = doc.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise bad(f"{path}.flags", "expected a list of strings")
    return tuple(flags)


def _time(doc: Mapping[str, Any], name: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text(doc, name, path))
    except ValueError:
        raise bad(f"{path}.{name}", "expected an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise bad(f"{path}.{name}", "expected a time with an offset")
    return moment
