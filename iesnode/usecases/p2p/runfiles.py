"""A P2P trading day as separate processes: the run directory and every role's file.

For ``examples/p2p_trading/run.py`` and the scenario tests. From a
:class:`~.scenario.DayScenario`, :func:`write_run` writes one TOML file per role, read by
``python -m iesnode.usecases.p2p.process`` (``iesnode serve --config`` for the gateway):
node settings as for ``iesnode serve`` plus the role's ``[p2p.<role>]`` table, each with
a fresh Ed25519 key and a free loopback port. Every file carries the same static
directory, ``[[registry.subscribers]]`` listing each participant's key, URL, role, network
and domain, so no registry process is needed; the listing is :class:`~.cluster.P2PCluster`'s
(ledger providers under their own domain, meter-data BPPs on the data-sharing network, so
the gateway fans ``discover`` out to the trading platforms only). Trading platforms and
ledger providers enforce the ``p2p-trading-network`` policy pack. Run directory::

    roles/<subscriber id>.toml     one per role (buyer platforms too, for the hosting app)
    data/<DISCOM dir>/*.csv        each DISCOM's CIS and MDM exports, moved to the day
    ledgers/<DISCOM>.sqlite        each ledger provider's ledger
    control/<subscriber id>.sock   each role process's control socket (:mod:`.control`)
    logs/<subscriber id>.log       what each process printed

The sample exports (``examples/p2p_trading/data``) are the template: their interval
timestamps are moved by whole days to the scenario's day, so a day ahead of the real
clock has meter data for its allocation run.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import socket
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from iesnode.model.subscriber import Role
from iesnode.testing import generate_signing_key
from iesnode.usecases.p2p.cluster import (
    DATA_NETWORK,
    LEDGER_DOMAIN,
    NETWORK_PACK,
    P2P_DOMAIN,
    P2P_NETWORK,
)
from iesnode.usecases.p2p.config import LedgerProviderConfig
from iesnode.usecases.p2p.scenario import DAY, IST, MDM_COLUMNS, DayScenario, mdm_adapter
from iesnode.usecases.p2p.toml_text import toml_text

__all__ = [
    "GATEWAY",
    "RoleFile",
    "RunLayout",
    "free_port",
    "move_exports",
    "tomorrow",
    "write_run",
]

GATEWAY = "gateway.p2p.test"


def tomorrow() -> date:
    """Tomorrow in India: a day whose 04:00-and-later slots are all past the T-4 h gate."""
    return datetime.now(IST).date() + timedelta(days=1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class RoleFile:
    """One role of the run: who it is, its file, its URL and its control socket."""

    subscriber_id: str
    role: str
    """``gateway`` or a role of :data:`~.process.ROLES`."""
    path: Path
    url: str
    control: Path | None = None
    log: Path | None = None

    def command(self) -> list[str]:
        """The command line that runs this role as its own process."""
        if self.role == "gateway":
            return [sys.executable, "-m", "iesnode", "serve", "--config", str(self.path)]
        command = [sys.executable, "-m", "iesnode.usecases.p2p.process", str(self.path)]
        return command + (["--control", str(self.control)] if self.control else [])


@dataclass(frozen=True)
class RunLayout:
    """What :func:`write_run` wrote."""

    root: Path
    scenario: DayScenario
    roles: tuple[RoleFile, ...]
    ledgers: dict[str, Path] = field(default_factory=dict)
    """DISCOM id -> its ledger provider's SQLite file."""

    def role(self, subscriber_id: str) -> RoleFile:
        """The role running as ``subscriber_id``."""
        return next(r for r in self.roles if r.subscriber_id == subscriber_id)

    def of(self, role: str) -> list[RoleFile]:
        """Every role of one kind (``ledger_provider``, ``seller_platform`` ...)."""
        return [r for r in self.roles if r.role == role]

    @property
    def processes(self) -> list[RoleFile]:
        """The roles that run as processes (all but the buyer platforms, hosted in-process)."""
        return [r for r in self.roles if r.role != "buyer_platform"]


def move_exports(source: Path, target: Path, shift: timedelta) -> None:
    """Copy a DISCOM's exports, moving each MDM interval start by ``shift``.

    Rows whose start does not parse are copied unchanged (the adapter flags them).
    """
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "consumers.csv", target / "consumers.csv")
    column = MDM_COLUMNS["start"]
    with (
        (source / "interval_readings.csv").open(newline="", encoding="utf-8") as rows_in,
        (target / "interval_readings.csv").open("w", newline="", encoding="utf-8") as rows_out,
    ):
        reader = csv.DictReader(rows_in)
        writer = csv.DictWriter(rows_out, fieldnames=list(reader.fieldnames or ()))
        writer.writeheader()
        for row in reader:
            with contextlib.suppress(TypeError, ValueError):
                row[column] = (datetime.fromisoformat(row[column]) + shift).isoformat()
            writer.writerow(row)


@dataclass
class _Plan:
    root: Path
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    listing: list[dict[str, Any]] = field(default_factory=list)

    def enrol(self, subscriber_id: str, listed_as: Role, network: str, domain: str) -> None:
        self.keys[subscriber_id] = generate_signing_key()
        self.ports[subscriber_id] = free_port()
        self.listing.append(
            {
                "subscriber_id": subscriber_id,
                "key_id": "k1",
                "url": self.url(subscriber_id),
                "role": listed_as.value,
                "signing_public_key": self.keys[subscriber_id][1],
                "network_id": network,
                "domains": [domain],
            }
        )

    def url(self, subscriber_id: str) -> str:
        return f"http://127.0.0.1:{self.ports[subscriber_id]}"

    def settings(
        self, subscriber_id: str, roles: list[str], *, network: str = P2P_NETWORK
    ) -> dict[str, Any]:
        """A node's settings; trading platforms and ledger providers enforce the P2P pack."""
        doc: dict[str, Any] = {
            "node": {
                "subscriber_id": subscriber_id,
                "key_id": "k1",
                "signing_private_key": self.keys[subscriber_id][0],
                "roles": roles,
                "host": "127.0.0.1",
                "port": self.ports[subscriber_id],
                "public_url": self.url(subscriber_id),
            },
            "network": {
                "network_id": network,
                "domain": P2P_DOMAIN,
                "city": "std:080",
                "country": "IND",
            },
            "delivery": {"backoff_base": 0.1, "backoff_max": 2.0},
            "registry": {"subscribers": self.listing},
        }
        if network == P2P_NETWORK and roles != ["gateway"]:
            doc["policy"] = {
                "packs": [str(NETWORK_PACK)],
                "networks": {P2P_NETWORK: "p2p-trading-network"},
            }
        return doc

    def write(self, subscriber_id: str, role: str, doc: dict[str, Any]) -> RoleFile:
        path = self.root / "roles" / f"{subscriber_id}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        listing_last = {k: v for k, v in doc.items() if k != "registry"} | {
            "registry": doc["registry"]
        }
        path.write_text(toml_text(listing_last), "utf-8")
        hosted = role == "buyer_platform"
        control = self.root / "control" / f"{subscriber_id}.sock"
        return RoleFile(
            subscriber_id,
            role,
            path,
            self.url(subscriber_id),
            None if hosted or role == "gateway" else control,
            None if hosted else self.root / "logs" / f"{subscriber_id}.log",
        )


def write_run(scenario: DayScenario, root: Path, *, exports_day: date = DAY) -> RunLayout:
    """Write every role's file for ``scenario`` under ``root``.

    ``exports_day`` is the day the scenario's DISCOM exports hold (the sample's day);
    they are moved to ``scenario.day``.
    """
    plan = _Plan(root)
    plan.enrol(GATEWAY, Role.BG, P2P_NETWORK, P2P_DOMAIN)
    for discom, spec in scenario.discoms.items():
        plan.enrol(spec.meter_bpp, Role.BPP, DATA_NETWORK, LEDGER_DOMAIN)
        plan.enrol(discom, Role.BPP, P2P_NETWORK, LEDGER_DOMAIN)
    for name in scenario.sellers:
        plan.enrol(name, Role.BPP, P2P_NETWORK, P2P_DOMAIN)
    for name in scenario.buyers:
        plan.enrol(name, Role.BAP, P2P_NETWORK, P2P_DOMAIN)

    roles = [plan.write(GATEWAY, "gateway", plan.settings(GATEWAY, ["gateway"]))]
    ledgers: dict[str, Path] = {}
    for discom, spec in scenario.discoms.items():
        exports = root / "data" / spec.data.name
        move_exports(spec.data, exports, scenario.day - exports_day)
        meter = plan.settings(spec.meter_bpp, ["bpp"], network=DATA_NETWORK)
        meter["adapters"] = {"csv": mdm_adapter(exports)}
        meter["p2p"] = {"meter_bpp": {"readers": [discom]}}
        roles.append(plan.write(spec.meter_bpp, "meter_bpp", meter))
        ledgers[discom] = root / "ledgers" / f"{discom}.sqlite"
        config = LedgerProviderConfig(
            discom_id=discom,
            ledger_path=ledgers[discom],
            meter_bpp=spec.meter_bpp,
            meter_network_id=DATA_NETWORK,
            tariffs=scenario.tariffs,
            penalty_paise_per_kwh=scenario.penalty_paise_per_kwh,
            allocate_at=time(1, 0),
        )
        lp = plan.settings(discom, ["bpp", "bap"])
        lp["p2p"] = {"ledger_provider": config.model_dump(mode="json", exclude_none=True)}
        roles.append(plan.write(discom, "ledger_provider", lp))
    for name, seller in scenario.sellers.items():
        doc = plan.settings(name, ["bpp", "bap"])
        journal = root / "state" / f"{name}.sqlite"  # reservations survive a restart
        durable = seller.model_copy(update={"state_path": journal})
        doc["p2p"] = {"seller_platform": durable.model_dump(mode="json", exclude_none=True)}
        roles.append(plan.write(name, "seller_platform", doc))
    for name, buyer in scenario.buyers.items():
        doc = plan.settings(name, ["bap"])
        doc["p2p"] = {"buyer_platform": buyer.model_dump(mode="json", exclude_none=True)}
        roles.append(plan.write(name, "buyer_platform", doc))
    return RunLayout(root, scenario, tuple(roles), ledgers)
