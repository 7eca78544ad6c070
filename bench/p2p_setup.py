"""The P2P bench's processes: keys, ports, role files (JSON), start, stop, the load command.

Every role lists every other party in its static ``registry.subscribers`` (signed
requests, no registry), on the P2P trading network of ``iesnode.usecases.p2p.cluster``.
The seller (a 1 MW plant on TEST_METER_S1, BESCOM-KA) offers 1,000 kWh in each of 24
hourly slots from tomorrow 06:00 IST, within the P2P policy pack's hourly cap; each trade
buys 1 kWh for TEST_METER_B1 (HESCOM-KA), in the first slot not yet sold out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from bench.processes import ROOT, Child, start_child
from iesnode.testing import generate_signing_key
from iesnode.usecases.p2p.cluster import NETWORK_PACK, P2P_DOMAIN, P2P_NETWORK
from iesnode.usecases.p2p.scenario import IST
from tests.redis_server import free_port

__all__ = ["BUYER_DISCOM", "SELLER_DISCOM", "Children", "Setup"]

SELLER, BUYER, TRIVIAL = "sunshare.bench", "powerbuy.bench", "bpp.bench"
SELLER_DISCOM, BUYER_DISCOM = "BESCOM-KA", "HESCOM-KA"
BARE_NETWORK = "bench.bare"
"""The round-trip baseline's network: no policy pack is mapped to it."""
PER_SLOT = 1000
"""kWh on offer per hourly slot (= the plant's kW, the pack's hourly cap), 1 kWh per trade."""


@dataclass
class _Party:
    subscriber_id: str
    private: str
    public: str
    port: int

    @classmethod
    def new(cls, subscriber_id: str) -> _Party:
        private, public = generate_signing_key()
        return cls(subscriber_id, private, public, free_port())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listed(self, role: str) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "key_id": "k1",
            "url": self.url,
            "role": role,
            "signing_public_key": self.public,
            "network_id": BARE_NETWORK if self.subscriber_id == TRIVIAL else P2P_NETWORK,
        }


class Children(dict[str, Child]):
    """The running children by role; ``command`` talks to the load generator."""

    def command(self, line: str) -> dict[str, Any]:
        """Send one command to the load generator; its ``BENCH`` answer."""
        proc = self["buyer"].process
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        while True:
            answer = proc.stdout.readline()
            if not answer:
                raise RuntimeError(f"load generator ended; see {self['buyer'].log}")
            if answer.startswith("BENCH "):
                result: dict[str, Any] = json.loads(answer[6:])
                return result


class Setup:
    """Parties and role files of one bench run."""

    def __init__(self, workdir: Path, *, redis_url: str | None, policy: bool) -> None:
        self.workdir = workdir
        self.redis_url = redis_url
        self.policy = policy
        names = (SELLER, SELLER_DISCOM, BUYER_DISCOM, BUYER, TRIVIAL)
        self.parties = {name: _Party.new(name) for name in names}

    def _node(self, name: str, roles: list[str], *, redis: bool = True) -> dict[str, Any]:
        me = self.parties[name]
        others = [
            p.listed("BAP" if p.subscriber_id == BUYER else "BPP")
            for p in self.parties.values()
            if p is not me
        ]
        doc: dict[str, Any] = {
            "node": {
                "subscriber_id": name,
                "key_id": "k1",
                "signing_private_key": me.private,
                "roles": roles,
                "port": me.port,
            },
            "network": {"network_id": P2P_NETWORK, "domain": P2P_DOMAIN},
            "registry": {"subscribers": others},
            "delivery": {"max_backlog": 0},
        }
        if self.redis_url is not None and redis:
            doc["redis"] = {"url": self.redis_url}
        if self.policy:
            packs = {"packs": [str(NETWORK_PACK)], "networks": {P2P_NETWORK: NETWORK_PACK.name}}
            doc["policy"] = packs
        return doc

    def _write(self, name: str, doc: dict[str, Any]) -> Path:
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(doc, default=str), "utf-8")
        return path

    def files(self) -> dict[str, Path]:
        """The role files of the five children."""
        first = datetime.combine(datetime.now(IST).date() + timedelta(days=1), time(6), IST)
        slots = [
            {"start": (first + timedelta(hours=n)).isoformat(), "price_inr_per_kwh": "6.50",
             "available_kwh": str(PER_SLOT)}
            for n in range(24)
        ]  # fmt: skip
        seller = {
            "prosumers": [
                {"meter_id": "TEST_METER_S1", "customer_id": "TEST_CUST_S1",
                 "discom_id": SELLER_DISCOM, "installed_capacity_kw": str(PER_SLOT)}
            ],
            "offers": [
                {"offer_id": "offer-s1", "meter_id": "TEST_METER_S1", "slots": slots}
            ],
            "state_path": str(self.workdir / "seller-journal.sqlite"),
        }  # fmt: skip
        buyer = {
            "consumers": [
                {"meter_id": "TEST_METER_B1", "customer_id": "TEST_CUST_B1",
                 "discom_id": BUYER_DISCOM, "sanctioned_load_kw": "12"}
            ]
        }  # fmt: skip
        files = {
            "seller": {**self._node(SELLER, ["bpp", "bap"]), "p2p": {"seller_platform": seller}},
            "buyer": {
                **self._node(BUYER, ["bap"], redis=False),
                "p2p": {"buyer_platform": buyer},
                "bench": {
                    "seller": SELLER,
                    "buyer_discom": BUYER_DISCOM,
                    "trivial_bpp": TRIVIAL,
                    "bare_network": BARE_NETWORK,
                    "meter": "TEST_METER_B1",
                    "wh": 1000,
                    "per_slot": PER_SLOT,
                },
            },
        }
        for role, discom in (("lp_seller", SELLER_DISCOM), ("lp_buyer", BUYER_DISCOM)):
            table = {
                "discom_id": discom,
                "ledger_path": str(self.workdir / f"{discom}.sqlite"),
                "meter_bpp": "mdm.bench",
            }
            files[role] = {**self._node(discom, ["bpp", "bap"]), "p2p": {"ledger_provider": table}}
        return {name: self._write(name, doc) for name, doc in files.items()}

    @contextmanager
    def start(self, trivial_config: Callable[..., dict[str, Any]]) -> Iterator[Children]:
        """Start every child (the load generator last); stop them all on exit."""
        children = Children()
        files = self.files()
        buyer = self.parties[BUYER]
        trivial = self.parties[TRIVIAL]
        doc = trivial_config(
            subscriber_id=TRIVIAL, private_key=trivial.private, bap_id=BUYER,
            bap_public_key=buyer.public, bap_url=buyer.url,
            network={"network_id": BARE_NETWORK, "domain": P2P_DOMAIN}, redis_url=self.redis_url,
        )  # fmt: skip
        doc["node"]["port"] = trivial.port
        trivial_file = self._write("trivial", doc)
        try:
            for role in ("lp_seller", "lp_buyer", "seller"):
                children[role] = start_child(
                    role, "bench.p2p_role", [str(files[role])], self.workdir, None
                )
            children["trivial"] = start_child(
                "trivial", "bench.bpp_server", ["--config", str(trivial_file)], self.workdir, None
            )
            children["buyer"] = _load_generator(files["buyer"], self.workdir)
            yield children
        finally:
            buyer_child = children.get("buyer")
            if buyer_child is not None and buyer_child.process.stdin is not None:
                buyer_child.process.stdin.close()
            for child in reversed(list(children.values())):
                child.stop()


def _load_generator(config: Path, workdir: Path) -> Child:
    """``python -m bench.p2p_load CONFIG`` with a command pipe; waits for its URL line."""
    log = workdir / "buyer.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.p2p_load", str(config)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        process.wait()
        raise RuntimeError(f"load generator did not start: {log.read_text()[-2000:]}")
    return Child("buyer", process, line.rsplit(" ", 1)[1].strip(), log)
