"""The day's book: trades, allocations and money flows of :mod:`.day` as tables.

What ``iesnode demo p2p`` prints (issue 6: "prints the trades, allocations, and money
flows as a table"). Quantities are shown in kWh and money in INR, both from the integer
Wh and paise the ledgers hold; a positive amount is received, a negative one paid.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import TextIO

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from iesnode.errors import IesError
from iesnode.log import configure_logging
from iesnode.usecases.p2p.allocation_run import TradeOutcome
from iesnode.usecases.p2p.day import DayResult, run_day
from iesnode.usecases.p2p.ledger_wire import format_kwh, format_rupees
from iesnode.usecases.p2p.scenario import IST
from iesnode.usecases.p2p.settlement import ROLES

__all__ = ["print_day", "run_p2p_demo"]


def _outcomes(result: DayResult, label: str) -> list[TradeOutcome]:
    """The trade's intervals as the seller DISCOM's ledger settled them."""
    trade = result.trades[label]
    report = result.reports.get(trade.contract.seller.discom_id)
    if report is None:
        return []
    found = [o for o in report.trades if o.record.transaction_id == trade.transaction_id]
    return sorted(found, key=lambda o: o.record.delivery_start)


def _trades(result: DayResult) -> Table:
    table = Table(title="Trades (confirmed; written to both DISCOMs' ledgers before on_confirm)")
    for column in ("trade", "buyer", "seller", "DISCOMs", "delivery (IST)", "kWh", "INR/kWh"):
        table.add_column(column)
    for label, trade in result.trades.items():
        c = trade.contract
        for commitment, line in c.lines:
            table.add_row(
                f"{label} {commitment.item_id(line).rsplit('/', 1)[1]}",
                f"{c.buyer.meter_id}\n{c.buyer.platform_id}",
                f"{c.seller.meter_id}\n{c.seller.platform_id}",
                f"{c.buyer.discom_id} <- {c.seller.discom_id}",
                f"{line.start.astimezone(IST):%H:%M}-{line.end.astimezone(IST):%H:%M}",
                format_kwh(line.requested_wh),
                format_rupees(line.price_paise_per_kwh or 0),
            )
    return table


def _allocations(result: DayResult) -> Table:
    table = Table(title="Allocations (kWh; seller DISCOM first, FINAL = min of both sides)")
    names = ("trade", "requested", "available", "seller DISCOM", "buyer DISCOM", "FINAL")
    for column in (*names, "statuses (buyer/seller DISCOM)", "agreed by"):
        table.add_column(column)
    for label in result.trades:
        viewers = sorted({*result.outcomes(label), *result.views.get(label, {})})
        for o in _outcomes(result, label):
            a = o.allocation
            r = o.record
            table.add_row(
                f"{label} {r.order_item_id.rsplit('/', 1)[1]}",
                format_kwh(r.requested_wh),
                format_kwh(a.requested_wh) if a else "-",
                format_kwh(a.seller_alloc_wh) if a else "-",
                format_kwh(a.buyer_alloc_wh) if a else "-",
                format_kwh(a.final_alloc_wh) if a else "not settled",
                f"{r.status_buyer_discom} / {r.status_seller_discom}",
                ", ".join(viewers),
            )
    return table


def _flows(result: DayResult) -> tuple[Table, Table]:
    table = Table(title="Money flows per trade (INR; + received, - paid)")
    table.add_column("trade")
    for role in ROLES:
        table.add_column(role, justify="right")
    table.add_column("sum", justify="right")
    parties: dict[str, int] = defaultdict(int)
    for label, trade in result.trades.items():
        c = trade.contract
        who = {
            "buyer": c.buyer.meter_id,
            "seller": c.seller.meter_id,
            "buyerDiscom": c.buyer.discom_id,
            "sellerDiscom": c.seller.discom_id,
        }
        for o in _outcomes(result, label):
            amounts = {f.role: f.amount_paise for f in o.flows}
            for role, paise in amounts.items():
                parties[who[role]] += paise
            table.add_row(
                f"{label} {o.record.order_item_id.rsplit('/', 1)[1]}",
                *(format_rupees(amounts.get(role, 0)) for role in ROLES),
                format_rupees(sum(amounts.values())),
            )
    net = Table(title="Net per party for the day (INR)")
    net.add_column("party")
    net.add_column("net", justify="right")
    for party, paise in sorted(parties.items()):
        net.add_row(party, format_rupees(paise))
    net.add_row("sum", format_rupees(sum(parties.values())))
    return table, net


def print_day(result: DayResult, out: TextIO) -> None:
    """Print the day's tables, the data-quality flags and the verdict."""
    console = Console(file=out, width=150)
    console.print(_trades(result))
    if result.curtailments:
        for label, wh in result.curtailments.items():
            console.print(
                f"curtailment: {label} cut by {format_kwh(wh)} kWh (GRID_OUTAGE), announced to"
                " the buyer by an unsolicited on_update; ledger status CURTAILED_OUTAGE"
            )
    console.print(_allocations(result))
    for table in _flows(result):
        console.print(table)
    flags: Sequence[str] = [f for report in result.reports.values() for f in report.flags]
    for flag in flags:
        console.print(f"meter data flagged (never invented): {flag}")
    for discom, ok in result.chains.items():
        console.print(f"{discom} ledger digest chain: {'intact' if ok else 'BROKEN'}")
    for problem in result.problems:
        console.print(f"PROBLEM: {problem}")
    verdict = "balanced: every flow nets to zero, all parties agree" if result.ok else "FAILED"
    console.print(f"p2p day {verdict}")


def run_p2p_demo(out: TextIO | None = None) -> int:
    """Run the day and print it; 0 only when everything balanced and agreed."""
    out = out or sys.stdout
    configure_logging(json=True, level="ERROR")
    try:
        result = asyncio.run(run_day())
    except (IesError, OSError, ValidationError) as exc:  # e.g. no examples/ next to the package
        print(f"p2p demo failed: {exc}", file=out)
        return 1
    print_day(result, out)
    return 0 if result.ok else 1
