"""A P2P role as its own process: a DISCOM meter-data BPP started from a TOML file answers
its ledger provider's signed pull over HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iesnode.model.subscriber import Role, Subscriber
from iesnode.protocol.roles.bap import Peer
from iesnode.settings import NodeRole
from iesnode.testing import LocalNetwork, generate_signing_key
from iesnode.usecases.p2p.cluster import DATA_NETWORK
from iesnode.usecases.p2p.meter_bpp import meter_request, read_meter_reply
from iesnode.usecases.p2p.peers import bap_client
from iesnode.usecases.p2p.scenario import DATA, MDM_COLUMNS, at

ROOT = Path(__file__).resolve().parents[2]


def role_file(private: str, reader: Subscriber) -> str:
    """The meter-data BPP's file: node, its one reader, the CSV adapter, [p2p.meter_bpp]."""
    columns = "\n".join(f'{k} = "{v}"' for k, v in MDM_COLUMNS.items())
    return f"""
[node]
subscriber_id = "mdm.bescom.test"
key_id = "k1"
signing_private_key = "{private}"
roles = ["bpp"]

[network]
network_id = "{DATA_NETWORK}"

[[registry.subscribers]]
subscriber_id = "{reader.subscriber_id}"
key_id = "{reader.key_id}"
url = "{reader.url}"
role = "BAP"
signing_public_key = "{reader.signing_public_key}"

[adapters.csv]
on_bad_row = "skip"

[adapters.csv.readings]
path = "{DATA / "bescom" / "interval_readings.csv"}"

[adapters.csv.readings.columns]
{columns}

[p2p.meter_bpp]
readers = ["BESCOM-KA"]
"""


@contextmanager
def role_process(config: Path) -> Iterator[str]:
    """Run the role process; yield its URL; kill it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "iesnode.usecases.p2p.process", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, f"role process did not start: {line!r}"
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def test_meter_bpp_process_answers_its_ledger_provider(tmp_path: Path) -> None:
    """The process serves S1's 10:00-11:00 export (15 kWh, estimated) to BESCOM-KA."""
    private, public = generate_signing_key()
    async with LocalNetwork() as net:
        lp = await net.add("BESCOM-KA", NodeRole.BAP)
        reader = net.enrol(lp, NodeRole.BAP)
        config = tmp_path / "mdm.toml"
        config.write_text(role_file(private, reader), "utf-8")
        with role_process(config) as url:
            net.directory.put(
                Subscriber(
                    subscriber_id="mdm.bescom.test",
                    key_id="k1",
                    url=url,
                    role=Role.BPP,
                    signing_public_key=public,
                )
            )
            message = meter_request([("TEST_METER_S1", "export")], at(10), 1)
            client = bap_client(lp, network_id=DATA_NETWORK)
            answer = await client.status(Peer("mdm.bescom.test", url), message, ttl=10)
    cell = read_meter_reply(answer.message)[0].intervals[0]
    assert (cell.wh, cell.quality) == (15_000, "estimated")
