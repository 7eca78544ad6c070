"""The DISCOM meter-data BPP over the CSV adapter: hourly actuals from 15-minute MDM rows,
gaps and malformed rows flagged (never invented), adapter errors as callback errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from iesnode.adapters import Direction
from iesnode.errors import CallbackError
from iesnode.model.subscriber import Role
from iesnode.node import Node
from iesnode.protocol.roles.bap import Peer
from iesnode.protocol.roles.bap_client import BapClient
from iesnode.protocol.roles.bpp import HandlerRegistry, IncomingRequest
from iesnode.settings import NodeRole
from iesnode.usecases.p2p.cluster import DATA_NETWORK, LEDGER_DOMAIN, P2PCluster
from iesnode.usecases.p2p.config import LedgerProviderConfig, MeterBppConfig
from iesnode.usecases.p2p.ledger_memory import MemoryLedger
from iesnode.usecases.p2p.meter_bpp import (
    MeterSeries,
    meter_request,
    read_meter_reply,
)
from iesnode.usecases.p2p.peers import bap_client
from iesnode.usecases.p2p.scenario import DAY, at
from iesnode.usecases.p2p.series import rfc3339
from tests.integration.p2p_world import mdm_adapter
from tests.integration.test_p2p_allocation import DISCOM, trade

MDM = "mdm.bescom.test"


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[P2PCluster, Peer]]:
    """BESCOM's meter-data BPP (readable by BESCOM-KA only) over the sample MDM export."""
    async with P2PCluster() as running:
        await running.meter_bpp(MDM, MeterBppConfig(readers=("BESCOM-KA",)), mdm_adapter("bescom"))
        node = running.net.nodes[-1]
        yield running, Peer(MDM, node.public_url)


async def reader(cluster: P2PCluster, subscriber_id: str = "BESCOM-KA") -> BapClient:
    """A BAP on the data-sharing network."""
    node = await cluster.net.add(subscriber_id, NodeRole.BAP)
    return bap_client(node, network_id=DATA_NETWORK)


async def pull(
    bap: BapClient, mdm: Peer, meter: str, direction: Direction, hour: int
) -> MeterSeries:
    """One hour of one meter."""
    message = meter_request([(meter, direction)], at(hour), 1)
    answer = await bap.status(mdm, message, ttl=5)
    return read_meter_reply(answer.message)[0]


async def test_hourly_actuals_sum_the_intervals_and_flag_estimates(
    cluster: tuple[P2PCluster, Peer],
) -> None:
    """S1's export 10:00-11:00 is four 3.75 kWh rows, one estimated: 15000 Wh, estimated."""
    running, mdm = cluster
    series = await pull(await reader(running), mdm, "TEST_METER_S1", "export", 10)
    cell = series.intervals[0]
    assert (cell.start, cell.end, cell.wh, cell.quality) == (at(10), at(11), 15_000, "estimated")


async def test_gap_and_malformed_row_leave_the_hour_missing(
    cluster: tuple[P2PCluster, Peer],
) -> None:
    """B3 14:00-15:00 has a malformed row and a missing row: no value, two parts flagged."""
    running, mdm = cluster
    series = await pull(await reader(running), mdm, "TEST_METER_B3", "import", 14)
    cell = series.intervals[0]
    assert (cell.wh, cell.quality, cell.missing_parts) == (None, "missing", 2)
    assert series.known() == {}


async def test_unknown_meter_is_an_error_callback_naming_the_request_path(
    cluster: tuple[P2PCluster, Peer],
) -> None:
    """A meter the MDM does not know: ADP_UNKNOWN_METER at contractAttributes.meters[0]."""
    running, mdm = cluster
    with pytest.raises(CallbackError) as refused:
        await pull(await reader(running), mdm, "TEST_METER_NOPE", "import", 10)
    assert refused.value.code == "ADP_UNKNOWN_METER"
    assert refused.value.path == "message.contract.contractAttributes.meters[0].meterId"


async def test_only_the_discoms_ledger_provider_may_pull(
    cluster: tuple[P2PCluster, Peer],
) -> None:
    """Another subscriber's pull is refused with METER_NOT_AUTHORISED."""
    running, mdm = cluster
    with pytest.raises(CallbackError) as refused:
        await pull(await reader(running, "nosy.test"), mdm, "TEST_METER_S1", "export", 10)
    assert refused.value.code == "METER_NOT_AUTHORISED"


class LyingMeterBpp:
    """A meter-data BPP that answers every pull with another meter's series."""

    def __init__(self) -> None:
        self.handlers = HandlerRegistry()

        @self.handlers.on("status")
        async def status(req: IncomingRequest) -> dict[str, Any]:
            rows = [{"id": 0, "wh": 99_000, "quality": "actual"}]
            attrs: dict[str, Any] = {"meterId": "TEST_METER_OTHER", "direction": "export"}
            attrs |= {"start": rfc3339(at(10)), "duration": "PT1H", "intervals": rows}
            return {"contract": {"performance": [{"performanceAttributes": attrs}]}}

    async def start(self, node: Node) -> None:
        """Nothing to bind."""

    async def aclose(self) -> None:
        """Nothing to close."""


async def test_a_series_for_another_meter_is_not_taken_as_the_actuals() -> None:
    """The meter BPP answers for another meter: the trade stays unallocated, flagged why."""
    async with P2PCluster() as running:
        liar = "mdm.liar.test"
        await running.start(
            liar,
            LyingMeterBpp(),
            (NodeRole.BPP,),
            listed_as=Role.BPP,
            domain=LEDGER_DOMAIN,
            network_id=DATA_NETWORK,
            policy=False,
        )
        ledger = MemoryLedger()
        await ledger.put(trade("t1", "TEST_METER_B1", 10_000), writer="sunshare.test")
        config = LedgerProviderConfig(
            discom_id=DISCOM, meter_bpp=liar, meter_network_id=DATA_NETWORK, utc_offset_minutes=0
        )
        provider = await running.ledger_provider(config, ledger)
        report = await provider.run_allocation(DAY)
    (outcome,) = report.trades
    assert outcome.allocation is None
    assert outcome.flags[0] == "no export actual for TEST_METER_S1: not allocated"
    assert report.flags == (
        "TEST_METER_S1 export: answered for TEST_METER_OTHER/export, not TEST_METER_S1",
    )
