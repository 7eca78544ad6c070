"""No malformed P2P request crashes a P2P role handler, and none leaves a half-written trade.

One cluster for the module (:func:`tests.integration.p2p_bad_inputs.bench`: seller platform,
both DISCOMs' ledger providers, BESCOM's meter-data BPP, the buyer platform; no network
policy pack, so that every mutation reaches schema validation and the handler instead of
being refused by the pack). The valid requests are the ones the buyer platform sends in a
trade; each is then sent again once per single-field mutation, signed by the buyer
platform (by BESCOM-KA's ledger provider for meter data).

Mutations are a fixed list applied to *every* JSON path of each message (dropped, each JSON
type, and values fitted to the field: 0, fractions, huge numbers, unknown ids and enums,
naive and out-of-calendar times, zero, negative and out-of-calendar durations, lists
doubled), not drawn by hypothesis: a request costs a few milliseconds, so a fixed list over
every path fits the time budget, every run checks the same cases, and a failure names the
mutation. In a trade contract each field keeps one mutation per distinct outcome of the roles'
contract reader (the contract read, or the error): the handlers see the contract only
through that reader, so the others would run the same code (:func:`~.p2p_bad_inputs.mutations`).
That keeps each contract sweep to a few hundred requests, the accepted confirms each a trade.

Each answer must be an ACK or a 4xx NACK with a code; an ACK's callback must arrive and be
a result or an error other than ``BIZ_INTERNAL_ERROR`` (a bad-input error naming a path);
nothing is logged at error level (``handler_failed`` is). After the confirms each ledger
holds exactly the order items of the confirms it answered with records (so none of a
refused one and no half of a trade), its digest chain is intact, and the seller platform
holds no energy reserved for a trade that is not confirmed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from iesnode.errors import NackReceived
from iesnode.model.envelope import Dialect, Envelope
from iesnode.node import Node
from iesnode.protocol.dialects import write_envelope
from iesnode.protocol.roles.bap import Callback
from iesnode.protocol.roles.envelopes import join_url, request_context
from iesnode.usecases.p2p.cluster import P2P_DOMAIN, P2P_NETWORK
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger_types import LedgerError
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.scenario import at
from tests.integration.helpers import Answer, encode, post, signed_headers
from tests.integration.p2p_bad_inputs import (
    BESCOM,
    HESCOM,
    Bench,
    Mutation,
    Sample,
    bench,
    mutations,
    send,
)
from tests.log_capture import all_logs

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.xdist_group("p2p_bad_messages"),
]

Logs = list[MutableMapping[str, Any]]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def running() -> AsyncIterator[tuple[Bench, Logs]]:
    """The roles after one valid trade, and every structlog event they log."""
    with all_logs() as logs:
        async with bench() as started:
            yield started, logs


def failures(logs: Logs, since: int = 0) -> list[str]:
    """The events logged at error level (``handler_failed`` ...) since event ``since``."""
    return [str(e["event"]) for e in logs[since:] if e.get("log_level") in ("error", "critical")]


async def answer(sample: Sample, mutation: Mutation, logs: Logs) -> tuple[str, Callback | None]:
    """What is wrong with the answer to the mutated request ('' when nothing), its callback."""
    since = len(logs)
    try:
        callback = await send(sample, mutation.apply(sample.message))
    except NackReceived as nack:
        fine = 400 <= nack.status < 500 and bool(nack.code)
        return ("" if fine else f"NACK {nack.status} {nack.code}"), None
    if failures(logs, since):
        return f"logged {failures(logs, since)}", callback
    if callback is None:
        return "no callback", None
    error = callback.error
    if error is not None and error.code == "BIZ_INTERNAL_ERROR":
        return "BIZ_INTERNAL_ERROR", callback
    if error is not None and error.code.endswith(("BAD_MESSAGE", "BAD_INPUT")) and not error.path:
        return f"{error.code} without a path", callback
    return "", callback


async def sweep(bench: Bench, logs: Logs, name: str) -> tuple[list[str], list[Callback]]:
    """Every mutation of sample ``name``: the problems found and the callbacks with a result."""
    sample = bench.samples[name]
    problems, results = [], []
    for mutation in mutations(sample.message):
        problem, callback = await answer(sample, mutation, logs)
        if problem:
            problems.append(f"{mutation}: {problem}")
        elif callback is not None and callback.error is None:
            results.append(callback)
    return problems, results


@pytest.mark.parametrize(
    "name",
    ["discover", "select", "init", "status", "ledger status", "meter status"],
)
async def test_mutated_request_gets_a_specific_answer(
    running: tuple[Bench, Logs], name: str
) -> None:
    """Every single-field mutation gets an ACK or 4xx NACK and never a handler crash."""
    since = len(running[1])
    problems, _ = await sweep(*running, name)
    assert problems == []
    assert failures(running[1], since) == []


@pytest.mark.parametrize(("name", "discom"), [("confirm", BESCOM), ("ledger confirm", HESCOM)])
async def test_mutated_confirm_leaves_only_whole_confirmed_trades(
    running: tuple[Bench, Logs], name: str, discom: str
) -> None:
    """Mutated confirms never crash; the ledger holds whole trades of answered confirms only."""
    bench, logs = running
    since = len(logs)
    problems, results = await sweep(bench, logs, name)
    for callback in results:
        items = {r.order_item_id for r in read_records(callback.message)}
        bench.accept(discom, callback.context.transaction_id, items)
    ledger = bench.lps[discom].ledger
    held: dict[str, set[str]] = {}
    for record in await ledger.get(reader=discom):
        held.setdefault(record.transaction_id, set()).add(record.order_item_id)
    assert (problems, failures(logs, since)) == ([], [])
    assert held == bench.confirmed[discom]
    assert (await ledger.verify()).ok
    if discom == BESCOM:
        assert (set(bench.seller.trades), bench.seller.reserved()) == (set(held), [])


async def refusal(bench: Bench, name: str, change: Mutation) -> tuple[str, str | None]:
    """The error code and path of the callback to sample ``name`` with ``change`` made."""
    sample = bench.samples[name]
    callback = await send(sample, change.apply(sample.message))
    assert callback is not None
    assert callback.error is not None
    return callback.error.code, callback.error.path


SERIES = ("contract", "commitments", 0, "commitmentAttributes")
SERIES_PATH = "message.contract.commitments[0].commitmentAttributes"
FIRST_VALUE = (*SERIES, "intervals", 0, "payloads", 0, "values", 0)
"""REQUESTED_QTY in a select, PRICE_PER_KWH in a quote."""
METER = ("contract", "contractAttributes", "intervalPeriod")
METER_PATH = "message.contract.contractAttributes.intervalPeriod"


async def test_interval_ending_after_the_year_9999_is_a_bad_message(
    running: tuple[Bench, Logs],
) -> None:
    """An interval id 10^20 hours on (was an OverflowError) is P2P_BAD_MESSAGE at its id."""
    change = Mutation((*SERIES, "intervals", 0, "id"), "10^20", 10**20)
    refused = await refusal(running[0], "select", change)
    assert refused == ("P2P_BAD_MESSAGE", f"{SERIES_PATH}.intervals[0].id")


async def test_interval_length_beyond_the_calendar_is_a_bad_message(
    running: tuple[Bench, Logs],
) -> None:
    """A duration too long for a timedelta (was an OverflowError) is P2P_BAD_MESSAGE at it."""
    change = Mutation((*SERIES, "intervalPeriod", "duration"), "huge", "PT99999999999999999H")
    refused = await refusal(running[0], "select", change)
    assert refused == ("P2P_BAD_MESSAGE", f"{SERIES_PATH}.intervalPeriod.duration")


async def test_time_outside_the_calendar_in_utc_is_a_bad_message(
    running: tuple[Bench, Logs],
) -> None:
    """A filter time before year 1 in UTC (was an OverflowError) is P2P_BAD_MESSAGE at it."""
    path = ("intent", "filters", "deliveryFrom")
    change = Mutation(path, "before year 1 in UTC", "0001-01-01T00:00:00+05:30")
    refused = await refusal(running[0], "discover", change)
    assert refused == ("P2P_BAD_MESSAGE", "message.intent.filters.deliveryFrom")


async def test_meter_pull_of_zero_length_intervals_is_a_bad_message(
    running: tuple[Bench, Logs],
) -> None:
    """Meter data in PT0S intervals (was the adapter's ValueError) is P2P_BAD_MESSAGE."""
    change = Mutation((*METER, "duration"), "zero length", "PT0S")
    refused = await refusal(running[0], "meter status", change)
    assert refused == ("P2P_BAD_MESSAGE", f"{METER_PATH}.duration")


async def test_meter_pull_ending_after_the_year_9999_is_a_bad_message(
    running: tuple[Bench, Logs],
) -> None:
    """Meter data up to past 9999-12-31 (was an OverflowError) is P2P_BAD_MESSAGE."""
    change = Mutation((*METER, "start"), "last hour of 9999", "9999-12-31T23:00:00Z")
    refused = await refusal(running[0], "meter status", change)
    assert refused == ("P2P_BAD_MESSAGE", METER_PATH)


async def test_ledger_write_of_a_price_it_could_not_read_back_is_a_bad_message(
    running: tuple[Bench, Logs],
) -> None:
    """10^20 INR/kWh (was stored unreadable: every later read LEDGER_TAMPERED) is refused."""
    change = Mutation(FIRST_VALUE, "10^20", 10**20)
    refused = await refusal(running[0], "ledger confirm", change)
    assert refused == ("P2P_BAD_MESSAGE", f"{SERIES_PATH}.intervals[id=0].PRICE_PER_KWH")


async def test_ledger_trade_priced_beyond_its_wire_limit_is_refused(
    running: tuple[Bench, Logs],
) -> None:
    """A ledger trade at 10^15 INR/kWh, which would not read back, is LEDGER_BAD_INPUT."""
    contract = read_contract(running[0].samples["ledger confirm"].message["contract"])
    trade = contract.trade_inputs("transaction", at(0))[0]
    with pytest.raises(LedgerError) as refused:
        replace(trade, price_paise_per_kwh=10**17)
    assert (refused.value.code, refused.value.path) == ("LEDGER_BAD_INPUT", "pricePerKwh")


async def test_two_commitments_on_one_slot_cannot_take_more_than_is_left(
    running: tuple[Bench, Logs],
) -> None:
    """60 000 kWh twice of a 100 000 kWh slot (was sold, left negative) is refused."""
    sample = running[0].samples["select"]
    message = Mutation(FIRST_VALUE, "60 000 kWh", 60_000).apply(sample.message)
    commitments = message["contract"]["commitments"]
    commitments.append({**commitments[0], "id": "second"})
    callback = await send(sample, message)
    assert callback is not None
    assert callback.error is not None
    path = "message.contract.commitments[1].commitmentAttributes.intervals[id=0].REQUESTED_QTY"
    assert (callback.error.code, callback.error.path) == ("P2P_INSUFFICIENT_QTY", path)


async def test_zero_quantity_is_a_bad_message_when_selected(running: tuple[Bench, Logs]) -> None:
    """REQUESTED_QTY 0 (was quoted, then LEDGER_BAD_INPUT at confirm) is P2P_BAD_MESSAGE."""
    refused = await refusal(running[0], "select", Mutation(FIRST_VALUE, "0", 0))
    assert refused == ("P2P_BAD_MESSAGE", f"{SERIES_PATH}.intervals[id=0].REQUESTED_QTY")


async def send_escaped(node: Node, sample: Sample, message: dict[str, Any]) -> Answer:
    """Send ``message`` from ``node`` with non-ASCII text as JSON escapes (``\\ud800`` ...).

    The BAP client writes UTF-8, which cannot carry a lone surrogate; a peer may escape it.
    """
    now = node.clock.now()
    context = request_context(
        dialect=Dialect.V2,
        action=sample.action,
        bap_id=node.signer.subscriber_id,
        bap_uri=node.public_url,
        now=now,
        ttl=10,
        bpp_id=sample.to.subscriber_id,
        bpp_uri=sample.to.uri,
        network_id=P2P_NETWORK,
        domain=P2P_DOMAIN,
    )
    body = encode(write_envelope(Envelope(context=context, message=message)))
    async with aiohttp.ClientSession() as session:
        url = join_url(sample.to.uri, sample.action)
        return await post(session, url, body, signed_headers(node.signer, body, now))


async def test_lone_surrogate_in_a_contract_is_refused_at_the_edge(
    running: tuple[Bench, Logs],
) -> None:
    """A meterId of "\\ud800" (was a handler crash storing it) is NACKed, naming it."""
    bench = running[0]
    meter = ("contract", "participants", 0, "participantAttributes", "meterId")
    sample = bench.samples["ledger confirm"]
    message = Mutation(meter, "lone surrogate", "\ud800").apply(sample.message)
    reply = await send_escaped(bench.buyer, sample, message)
    error = reply.json()["error"]
    path = "message.contract.participants[0].participantAttributes.meterId"
    assert (reply.status, error["code"], error["path"]) == (400, "SCH_INVALID_JSON", path)
