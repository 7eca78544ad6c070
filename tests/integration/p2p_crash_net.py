"""Real role processes for the P2P crash tests: keys, ports, role files, start and kill.

A seller platform (Redis, SQLite trade journal) and the seller DISCOM's ledger provider
(SQLite ledger) run as ``python -m iesnode.usecases.p2p.process FILE``, each listing the
others in ``[registry] subscribers``; the buyer platform is a node of the test process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from iesnode.faults import ENV
from iesnode.model.subscriber import Role, Subscriber
from iesnode.node import Node, build
from iesnode.registry.static import StaticDirectory
from iesnode.settings import load_settings
from iesnode.testing import generate_signing_key
from iesnode.usecases.p2p.config import BuyerPlatformConfig
from iesnode.usecases.p2p.scenario import IST
from tests.redis_server import free_port

__all__ = ["LP", "SLOT", "Network", "buyer_config", "role", "seller_table"]

ROOT = Path(__file__).resolve().parents[2]
LP = "BESCOM-KA"
SLOT = datetime.combine(datetime.now(IST).date() + timedelta(days=1), time(10), IST)
"""Tomorrow 10:00 IST: the slot every test buys (20 kWh on offer)."""


def seller_table(**extra: Any) -> dict[str, Any]:
    """TEST_METER_S1 (BESCOM) offers 20 kWh at 6.50 INR/kWh in the slot."""
    prosumer = {
        "meter_id": "TEST_METER_S1",
        "customer_id": "TEST_CUST_S1",
        "discom_id": LP,
        "installed_capacity_kw": "20",
    }
    slot = {"start": SLOT, "price_inr_per_kwh": "6.50", "available_kwh": "20"}
    offer = {"offer_id": "offer-s1", "meter_id": "TEST_METER_S1", "slots": [slot]}
    return {"prosumers": [prosumer], "offers": [offer], **extra}


def buyer_config() -> BuyerPlatformConfig:
    """TEST_METER_B1 in the seller's DISCOM (its own ledger write is not under test)."""
    consumer = {
        "meter_id": "TEST_METER_B1",
        "customer_id": "TEST_CUST_B1",
        "discom_id": LP,
        "sanctioned_load_kw": "12",
    }
    return BuyerPlatformConfig.model_validate({"consumers": [consumer]})


def _value(v: Any) -> str:
    """A TOML value (inline tables and arrays for the nested ``[p2p.*]`` tables)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, datetime):
        return v.isoformat()
    return json.dumps(str(v) if isinstance(v, Path) else v)


def toml(tables: dict[str, dict[str, Any]]) -> str:
    """A role file: ``[table]`` of key = value lines."""
    return "".join(
        f"[{name}]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in values.items())
        for name, values in tables.items()
    )


@dataclass
class Party:
    """One subscriber of the test network."""

    subscriber_id: str
    private: str
    public: str
    url: str

    @classmethod
    def new(cls, subscriber_id: str) -> Party:
        """A fresh key pair and a free loopback port."""
        private, public = generate_signing_key()
        return cls(subscriber_id, private, public, f"http://127.0.0.1:{free_port()}")

    def listed(self, role: Role) -> dict[str, Any]:
        """This party's directory entry."""
        return {
            "subscriber_id": self.subscriber_id,
            "key_id": "k1",
            "url": self.url,
            "role": role.value,
            "signing_public_key": self.public,
        }

    def node(self, roles: list[str]) -> dict[str, Any]:
        """The ``[node]`` table."""
        return {
            "subscriber_id": self.subscriber_id,
            "key_id": "k1",
            "signing_private_key": self.private,
            "roles": roles,
            "port": int(self.url.rsplit(":", 1)[1]),
        }


@dataclass
class Network:
    """Seller platform, ledger provider and buyer, with their files under ``tmp``."""

    tmp: Path
    redis_url: str
    seller: Party
    lp: Party
    buyer: Party

    @classmethod
    def new(cls, tmp: Path, redis_url: str) -> Network:
        """Fresh keys and ports (the test flushes Redis: cached keys of earlier tests go)."""
        seller, buyer = Party.new("sunshare.test"), Party.new("powerbuy.test")
        return cls(tmp, redis_url, seller, Party.new(LP), buyer)

    def directory(self, *parties: Party) -> list[dict[str, Any]]:
        """Directory entries (the seller and the LP as BPPs, the buyer as BAP)."""
        return [p.listed(Role.BAP if p is self.buyer else Role.BPP) for p in parties]

    def lp_file(self) -> Path:
        """The ledger provider's role file (SQLite ledger in ``tmp``)."""
        table = {"discom_id": LP, "ledger_path": self.ledger_path, "meter_bpp": "mdm.test"}
        return self._write(
            "lp.toml",
            node=self.lp.node(["bpp", "bap"]),
            registry={"subscribers": self.directory(self.seller, self.buyer)},
            **{"p2p.ledger_provider": table},
        )

    def seller_file(self) -> Path:
        """The seller platform's role file: Redis, quick job reclaim, a SQLite journal."""
        table = seller_table(state_path=self.tmp / "seller-journal.sqlite", ledger_ttl=3)
        return self._write(
            "seller.toml",
            node=self.seller.node(["bpp", "bap"]),
            redis={"url": self.redis_url},
            delivery={"claim_after": 4.0, "backoff_base": 0.1},
            registry={"subscribers": self.directory(self.lp, self.buyer)},
            **{"p2p.seller_platform": table},
        )

    def _write(self, name: str, **tables: dict[str, Any]) -> Path:
        path = self.tmp / name
        path.write_text(toml(tables), "utf-8")
        return path

    @property
    def ledger_path(self) -> Path:
        """The ledger provider's SQLite ledger."""
        return self.tmp / "bescom-ledger.sqlite"

    def ledger_rows(self) -> int:
        """Rows in the ledger file right now (read-only, beside the running provider)."""
        with sqlite3.connect(f"file:{self.ledger_path}?mode=ro", uri=True) as db:
            count: int = db.execute("SELECT count(*) FROM ledger_rows").fetchone()[0]
        return count

    def buyer_node(self) -> Node:
        """The buyer platform's node in this process (no Redis)."""
        directory = StaticDirectory(
            Subscriber.model_validate(e) for e in self.directory(self.seller, self.lp)
        )
        node = self.buyer.node(["bap"])
        return build(load_settings({"node": node}), directory=directory)


@contextmanager
def role(config: Path, log: Path, fault: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """Run a P2P role process until it prints its URL; kill it on exit."""
    env = dict(os.environ)
    env.pop(ENV, None)
    if fault is not None:
        env[ENV] = fault
    with log.open("a") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "iesnode.usecases.p2p.process", str(config)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, f"{config.name} did not start: {log.read_text()[-3000:]}"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
