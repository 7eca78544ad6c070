"""A P2P trading day as plain data: DISCOMs, platforms, purchases, a curtailment.

Read from a TOML file (``examples/p2p_trading/day.toml``, the day of ``iesnode demo
p2p``): when trading happens and when the DISCOMs allocate, each DISCOM's MDM export and
meter-data BPP, the seller and buyer platforms' ``[p2p.*]`` configurations, and what each
buyer buys. Wheeling rates and the shortfall penalty come from the ``discom-contract``
policy pack (``data/contract.json``, ``research/energy-domain.md`` §5.3), the rates a
DISCOM publishes, unless a seller platform's table sets its own.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from iesnode.usecases.p2p.config import (
    BuyerPlatformConfig,
    SellerPlatformConfig,
    Tariff,
    whole,
)

__all__ = [
    "DATA",
    "DAY",
    "DAY_FILE",
    "IST",
    "MDM_COLUMNS",
    "Curtailment",
    "DayScenario",
    "DiscomScenario",
    "Purchase",
    "at",
    "load_tariffs",
    "mdm_adapter",
]

IST = timezone(timedelta(minutes=330))
DAY = date(2026, 5, 15)
"""The delivery day of the sample data."""
_ROOT = Path(__file__).resolve().parents[3]
DAY_FILE = _ROOT / "examples" / "p2p_trading" / "day.toml"
DATA = DAY_FILE.parent / "data"
"""The sample CIS and MDM exports, one directory per DISCOM."""
CONTRACT_DATA = (
    _ROOT / "iesnode" / "policy" / "packs" / "discom-contract" / "data" / "contract.json"
)
MDM_COLUMNS = {
    "meter": "meter_no",
    "start": "interval_start",
    "length": "interval_minutes",
    "value": "kwh",
    "direction": "obis",
    "quality": "status",
}
"""Columns of the sample MDM interval dumps (15-minute kWh rows with OBIS codes and flags)."""


def at(hour: int, day: date = DAY) -> datetime:
    """``hour``:00 IST on ``day``."""
    return datetime.combine(day, time(hour), IST)


def load_tariffs(path: Path = CONTRACT_DATA) -> tuple[dict[str, Tariff], int]:
    """Wheeling rates by DISCOM and the shortfall penalty (paise/kWh) of a DISCOM contract pack."""
    data = json.loads(path.read_text("utf-8"))
    tariffs = {k: Tariff.model_validate(v) for k, v in data["discoms"].items()}
    return tariffs, int(data["shortfall_penalty"]["paise_per_kwh"])


def mdm_adapter(directory: Path) -> dict[str, Any]:
    """The ``[adapters.csv]`` table of a DISCOM's sample exports (bad rows skipped, flagged)."""
    return {
        "consumers": {"path": directory / "consumers.csv"},
        "readings": {"path": directory / "interval_readings.csv", "columns": MDM_COLUMNS},
        "on_bad_row": "skip",
    }


class _Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DiscomScenario(_Table):
    """A DISCOM: its exports directory (relative to the scenario file) and meter-data BPP."""

    data: Path
    meter_bpp: str


class PurchaseSlot(_Table):
    """kWh bought in one slot."""

    start: AwareDatetime
    kwh: Decimal = Field(gt=0)


class Purchase(_Table):
    """What one buyer platform buys for one consumer from one offer."""

    label: str
    buyer_platform: str
    meter_id: str
    offer_id: str
    slots: tuple[PurchaseSlot, ...] = Field(min_length=1)

    def wh_by_start(self) -> dict[datetime, int]:
        """Wh by slot start."""
        return {s.start: whole(s.kwh, 1000, "kWh") for s in self.slots}


class Curtailment(_Table):
    """A seller DISCOM's curtailment of one purchase, announced before delivery."""

    purchase: str
    kwh: Decimal = Field(gt=0)
    reason: str = "GRID_OUTAGE"


class DayScenario(_Table):
    """The whole day."""

    day: date
    trading_at: AwareDatetime
    allocate_at: AwareDatetime
    discoms: dict[str, DiscomScenario]
    sellers: dict[str, SellerPlatformConfig]
    buyers: dict[str, BuyerPlatformConfig]
    purchases: tuple[Purchase, ...]
    curtailment: Curtailment | None = None
    tariffs: dict[str, Tariff] = Field(default_factory=dict)
    """The DISCOMs' wheeling rates the ledger providers settle with."""
    penalty_paise_per_kwh: int = Field(0, ge=0)

    @classmethod
    def load(cls, path: Path = DAY_FILE, contract_data: Path = CONTRACT_DATA) -> DayScenario:
        """Read the day; data paths are resolved against the file's directory."""
        raw = tomllib.loads(path.read_text("utf-8"))
        tariffs, penalty = load_tariffs(contract_data)
        for discom in raw.get("discoms", {}).values():
            discom["data"] = path.parent / discom["data"]
        for seller in raw.get("sellers", {}).values():
            seller.setdefault("tariffs", tariffs)
        raw.setdefault("tariffs", tariffs)
        raw.setdefault("penalty_paise_per_kwh", penalty)
        return cls.model_validate(raw)

    def on_day(self, day: date) -> DayScenario:
        """The same day moved to ``day``: every time in it shifted by whole days.

        Role processes run on the real clock, so a run of the sample day trades for a
        day still ahead (the gate closes four hours before delivery).
        """
        shift = day - self.day

        def moved(value: object) -> object:
            if isinstance(value, datetime):
                return value + shift
            if isinstance(value, dict):
                return {k: moved(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [moved(v) for v in value]
            return value

        return DayScenario.model_validate(
            {**cast(dict[str, Any], moved(self.model_dump())), "day": day}
        )

    def purchase(self, label: str) -> Purchase:
        """The purchase labelled ``label``."""
        return next(p for p in self.purchases if p.label == label)
