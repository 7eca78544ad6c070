"""Issue 6's P2P scenarios (research/energy-domain.md §11 S4, S5, S6) over real signed HTTP
between processes: the example's roles run as subprocesses (examples/p2p_trading/run.py's
run directory, started once for the module), the buyer platforms are hosted here."""

from __future__ import annotations

import asyncio
import copy
import csv
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from iesnode.errors import CallbackError, NackReceived
from iesnode.protocol.roles.bap import Peer
from iesnode.usecases.p2p.allocation_run import TradeOutcome
from iesnode.usecases.p2p.buyer import BuyerTrade
from iesnode.usecases.p2p.contract import contract_id_for, paise_for
from iesnode.usecases.p2p.control import ControlError
from iesnode.usecases.p2p.control import main as control_main
from iesnode.usecases.p2p.day_processes import ProcessDay
from iesnode.usecases.p2p.ledger import TradeRecord, TradeStatus
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.offers import Filters
from iesnode.usecases.p2p.peers import bap_client
from iesnode.usecases.p2p.processes import running
from iesnode.usecases.p2p.runfiles import RunLayout, tomorrow, write_run
from iesnode.usecases.p2p.scenario import DayScenario, Purchase, at
from tests.integration.p2p_mutations import MUTATIONS, Contract

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("p2p_processes")]

BESCOM, HESCOM = "BESCOM-KA", "HESCOM-KA"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunLayout]:
    """The sample day moved to tomorrow; every role but the buyers running as a process."""
    sample = DayScenario.load()
    root = tmp_path_factory.mktemp("p2p")
    layout = write_run(sample.on_day(tomorrow()), root, exports_day=sample.day)
    with running(layout):
        yield layout


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def day(layout: RunLayout) -> AsyncIterator[ProcessDay]:
    """The whole day run once: trades, a curtailment, the allocation runs, every view.

    The hosted buyers check no policy themselves, so the processes are the ones refusing.
    """
    async with ProcessDay(layout, buyer_policy=False) as running_day:
        await running_day.run()
        yield running_day


async def records(day: ProcessDay, discom: str, trade: BuyerTrade) -> list[TradeRecord]:
    """The trade's records as the DISCOM's ledger provider holds them now."""
    found = await day.control(discom, "records", transaction_id=trade.transaction_id)
    return read_records({"ledgerRecords": found})


def outcomes(day: ProcessDay, label: str) -> dict[str, list[TradeOutcome]]:
    """The purchase's settled intervals, by DISCOM."""
    txn = day.result.trades[label].transaction_id
    return {
        discom: sorted(
            (o for o in report.trades if o.record.transaction_id == txn),
            key=lambda o: o.record.order_item_id,
        )
        for discom, report in day.result.reports.items()
    }


def metered_wh(layout: RunLayout, discom: str, meter: str, start: datetime) -> int:
    """What the DISCOM's MDM export (as generated for the run) holds for one hour of a meter."""
    exports = layout.root / "data" / layout.scenario.discoms[discom].data.name
    local = start.astimezone(at(0).tzinfo).replace(tzinfo=None)
    total = Decimal(0)
    with (exports / "interval_readings.csv").open(newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            begins = datetime.fromisoformat(row["interval_start"])
            if row["meter_no"] == meter and local <= begins < local + timedelta(hours=1):
                total += Decimal(row["kwh"])
    return int(total * 1000)


# S4: the happy path with settlement ------------------------------------------------------


async def test_s4_on_confirms_carry_what_both_ledgers_wrote(day: ProcessDay) -> None:
    """T2's two hourly slots: each on_confirm carries the records its DISCOM's ledger holds."""
    trade = day.result.trades["T2"]
    seller_ledger = await records(day, HESCOM, trade)
    buyer_ledger = await records(day, BESCOM, trade)
    assert len(trade.contract.lines) == 2
    for answered, held in (
        (trade.seller_records, seller_ledger),
        (trade.ledger_records, buyer_ledger),
    ):
        assert [r.record_id for r in answered] == [r.record_id for r in held]
        assert [(r.version, r.status_seller_discom) for r in answered] == [
            (1, TradeStatus.CONFIRMED)
        ] * 2


async def test_s4_transaction_id_is_the_same_for_every_party(day: ProcessDay) -> None:
    """One transactionId from on_confirm to both ledgers, the seller's status and the reports."""
    trade = day.result.trades["T2"]
    txn = trade.transaction_id
    held = [*await records(day, HESCOM, trade), *await records(day, BESCOM, trade)]
    seen = {
        day.seller_views["T2"].context.transaction_id,
        day.ledger_views["T2"].context.transaction_id,
        *(r.transaction_id for r in held),
        *(o.record.transaction_id for found in outcomes(day, "T2").values() for o in found),
    }
    assert seen == {txn}
    assert trade.contract.contract_id == contract_id_for(txn)


async def test_s4_every_party_ends_with_the_same_allocations(day: ProcessDay) -> None:
    """Both ledger providers, the seller platform and the buyer's ledger agree on T2's FINAL."""
    by_discom = outcomes(day, "T2")
    finals = {
        discom: [o.allocation.final_alloc_wh for o in found if o.allocation]
        for discom, found in by_discom.items()
    }
    views = {viewer: sorted(v.items()) for viewer, v in day.result.views["T2"].items()}
    items = [o.record.order_item_id for o in by_discom[BESCOM]]
    assert finals == {BESCOM: [4_000, 2_600], HESCOM: [4_000, 2_600]}
    assert views == {
        "seller platform": list(zip(items, [4_000, 2_600], strict=True)),
        "buyer's DISCOM ledger": list(zip(items, [4_000, 2_600], strict=True)),
    }
    assert day.result.problems == []


async def test_s4_allocations_come_from_the_meter_data_processes(day: ProcessDay) -> None:
    """T2 13:00: the seller side is S2's export cap, the buyer side B3's metered import."""
    (_, late) = outcomes(day, "T2")[BESCOM]
    assert late.allocation is not None
    start = late.record.delivery_start
    assert late.allocation.buyer_alloc_wh == metered_wh(day.layout, BESCOM, "TEST_METER_B3", start)
    assert metered_wh(day.layout, HESCOM, "TEST_METER_S2", start) >= 3_000
    assert late.allocation.seller_alloc_wh == 3_000
    flags = [f for report in day.result.reports.values() for f in report.flags]
    assert any(f.startswith("TEST_METER_B3 import") and f.endswith(": missing") for f in flags)


async def test_s4_revenue_flows_sum_to_zero(day: ProcessDay) -> None:
    """Every settled interval's flows net to zero, and both DISCOMs computed the same money."""
    for label in day.result.trades:
        by_discom = outcomes(day, label)
        flows = {discom: [o.flows for o in found] for discom, found in by_discom.items() if found}
        assert len({tuple(f) for f in flows.values()}) == 1, label
        for found in by_discom.values():
            for o in found:
                assert o.flows, (label, o.record.order_item_id)
                assert sum(f.amount_paise for f in o.flows) == 0


# S5: policy rejections across processes --------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def quote(day: ProcessDay) -> tuple[Peer, Contract]:
    """sunshare.test's quote (on_select) of 5 kWh at 09:00 for TEST_METER_B1: a valid init."""
    buyer = day.buyers["powerbuy.test"]
    found = await buyer.discover(Filters(source_type="SOLAR"), ttl=5, sellers=2)
    offer = next(f for f in found if f.offer.offer_id == "offer-s1-solar")
    contract = await buyer.order(offer, "TEST_METER_B1", {at(9, day.scenario.day): 5_000})
    on_select = await bap_client(day.nodes["powerbuy.test"]).select(
        offer.seller, {"contract": contract.to_wire()}, ttl=10
    )
    return offer.seller, on_select.message["contract"]


async def test_s5_the_unmutated_init_is_answered(
    day: ProcessDay, quote: tuple[Peer, Contract]
) -> None:
    """The valid init passes every rule of the seller's pack and gets the quote back."""
    seller, contract = quote
    bap = bap_client(day.nodes["powerbuy.test"])
    on_init = await bap.init(seller, {"contract": copy.deepcopy(contract)}, ttl=10)
    assert on_init.message["contract"]["commitments"] == contract["commitments"]


async def test_s5_mutations_cover_at_least_eight_rules() -> None:
    """The rejections below name at least eight different rules of the pack."""
    assert len({rule for _, rule in MUTATIONS.values()}) >= 8


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_s5_seller_process_refuses_a_mutated_init_naming_the_rule(
    day: ProcessDay, quote: tuple[Peer, Contract], name: str
) -> None:
    """One mutation of the valid init: the seller process NACKs POL_VIOLATION with the rule."""
    mutate, rule = MUTATIONS[name]
    seller, contract = quote
    mutated = copy.deepcopy(contract)
    mutate(mutated)
    with pytest.raises(NackReceived) as refused:
        await bap_client(day.nodes["powerbuy.test"]).init(seller, {"contract": mutated}, ttl=10)
    assert refused.value.code == "POL_VIOLATION"
    assert f"{rule}:" in refused.value.message, refused.value.message


# S6: one seller short on two trades, and a curtailment ------------------------------------


async def test_s6_short_seller_is_shared_pro_rata_and_settled_at_the_minimum(
    day: ProcessDay,
) -> None:
    """S1 sold 10 + 10 kWh and exported 15: 7.5 / 7.5, settled at min(seller, buyer)."""
    for label in ("T1", "T3"):
        (outcome,) = outcomes(day, label)[BESCOM]
        a = outcome.allocation
        assert a is not None
        assert (a.requested_wh, a.seller_alloc_wh) == (10_000, 7_500)
        assert a.final_alloc_wh == min(a.seller_alloc_wh, a.buyer_alloc_wh) == 7_500
    exported = metered_wh(day.layout, BESCOM, "TEST_METER_S1", outcome.record.delivery_start)
    assert exported == 15_000


async def test_s6_shortfall_penalty_is_in_the_seller_discom_flow(day: ProcessDay) -> None:
    """The seller DISCOM gets wheeling on 7.5 kWh plus the penalty on the 2.5 kWh short."""
    tariffs, penalty = day.scenario.tariffs, day.scenario.penalty_paise_per_kwh
    rate = tariffs[BESCOM].seller_wheeling_paise_per_kwh
    for label in ("T1", "T3"):
        for found in outcomes(day, label).values():
            (outcome,) = found
            paid = {f.role: f.amount_paise for f in outcome.flows}
            assert penalty > 0
            assert paid["sellerDiscom"] == paise_for(7_500, rate) + paise_for(2_500, penalty)


async def test_s6_curtailment_reaches_the_buyer_and_the_ledger(day: ProcessDay) -> None:
    """BESCOM curtails T4 by 2 kWh: the buyer hears GRID_OUTAGE; the ledger says CURTAILED."""
    (update,) = day.updates["T4"]
    (curtailed,) = update.message["contract"]["commitments"][0]["curtailment"]
    heard = read_records(update.message)
    held = await records(day, BESCOM, day.result.trades["T4"])
    assert update.sender == "sunshare.test"
    assert update.context.action == "on_update"
    assert (curtailed["reason"], curtailed["curtailedQuantity"]["unitQuantity"]) == (
        "GRID_OUTAGE",
        2,
    )
    assert [r.status_seller_discom for r in heard] == [TradeStatus.CURTAILED_OUTAGE]
    assert [r.status_seller_discom for r in held] == [TradeStatus.CURTAILED_OUTAGE]


# the ledger's digest chain -------------------------------------------------------------------


def rewrite_row(ledger: Path, transaction_id: str) -> tuple[int, bytes, str]:
    """Edit the trade's newest row through a separate connection, its trigger dropped."""
    with closing(sqlite3.connect(ledger, isolation_level=None)) as db:
        seq, record = db.execute(
            "SELECT seq, record FROM ledger_rows WHERE transaction_id = ? ORDER BY seq DESC",
            (transaction_id,),
        ).fetchone()
        (trigger,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ledger_rows_no_update'"
        ).fetchone()
        forged = bytes(record).replace(b"TEST_METER_B3", b"TEST_METER_B9")
        assert forged != bytes(record)
        db.execute("DROP TRIGGER ledger_rows_no_update")
        db.execute("UPDATE ledger_rows SET record = ? WHERE seq = ?", (forged, seq))
    return seq, bytes(record), str(trigger)


def restore_row(ledger: Path, seq: int, record: bytes, trigger: str) -> None:
    """Put the row and the trigger back as they were."""
    with closing(sqlite3.connect(ledger, isolation_level=None)) as db:
        db.execute("UPDATE ledger_rows SET record = ? WHERE seq = ?", (record, seq))
        db.execute(trigger)


async def test_tampered_ledger_row_is_detected(day: ProcessDay) -> None:
    """A row edited in BESCOM's SQLite file: verify() finds it, reads refuse LEDGER_TAMPERED."""
    purchase = Purchase.model_validate(
        {
            "label": "tampered",
            "buyer_platform": "greenbuy.test",
            "meter_id": "TEST_METER_B3",
            "offer_id": "offer-s2-solar",
            "slots": [{"start": at(13, day.scenario.day), "kwh": "1"}],
        }
    )
    trade = await day.buy(purchase)
    assert trade.ledger_error is None
    ledger = day.layout.ledgers[BESCOM]
    seq, record, trigger = rewrite_row(ledger, trade.transaction_id)
    try:
        chain = await day.control(BESCOM, "verify")
        with pytest.raises(CallbackError) as refused:
            await day.buyers["greenbuy.test"].ledger(trade)
    finally:
        restore_row(ledger, seq, record, trigger)
    assert (chain["ok"], chain["firstBadRow"]) == (False, seq)
    assert refused.value.code == "LEDGER_TAMPERED"
    assert (await day.control(BESCOM, "verify"))["ok"] is True


# the operator's control socket ---------------------------------------------------------------


async def test_control_socket_refuses_an_unknown_command_naming_the_known_ones(
    day: ProcessDay,
) -> None:
    """A seller platform's socket answers ping only; anything else names what it knows."""
    with pytest.raises(ControlError) as refused:
        await day.control("sunshare.test", "allocate", day="2026-01-01")
    pong = await day.control("sunshare.test", "ping")
    assert (refused.value.code, refused.value.path) == ("CONTROL_UNKNOWN_COMMAND", "command")
    assert "ping" in refused.value.message
    assert pong["subscriberId"] == "sunshare.test"


async def test_control_socket_refuses_a_bad_allocation_day(day: ProcessDay) -> None:
    """allocate with a day that is no date: CONTROL_BAD_ARGUMENT at path day."""
    with pytest.raises(ControlError) as refused:
        await day.control(BESCOM, "allocate", day="tomorrow", round="seller")
    assert (refused.value.code, refused.value.path) == ("CONTROL_BAD_ARGUMENT", "day")


async def test_control_command_line_prints_the_ledger_check(
    day: ProcessDay, capsys: pytest.CaptureFixture[str]
) -> None:
    """python -m iesnode.usecases.p2p.control SOCKET verify prints the chain walk as JSON."""
    socket = day.layout.role(HESCOM).control
    assert socket is not None
    code = await asyncio.to_thread(control_main, [str(socket), "verify"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["ok"] is True
    assert report["rows"] > 0
