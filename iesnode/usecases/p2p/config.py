"""Plain-data configuration of the P2P roles: the ``[p2p.<role>]`` table of a role's file.

A role process reads its node settings and one of these tables from the same TOML file
(:mod:`.process`); the in-process day (:mod:`.day`) builds them from
``examples/p2p_trading/day.toml``. Energy and money are written as decimals (kWh, kW,
INR) and held as integer Wh, W and paise; a value finer than that is refused. Wheeling
rates and the shortfall penalty have the shape of the ``discom-contract`` policy pack's
``data/contract.json`` (``research/energy-domain.md`` §5.3), so a DISCOM's published
rates can be used as they are.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "BuyerPlatformConfig",
    "ConsumerConfig",
    "LedgerProviderConfig",
    "MeterBppConfig",
    "OfferConfig",
    "ProsumerConfig",
    "SellerPlatformConfig",
    "SlotConfig",
    "Tariff",
    "whole",
]


def whole(value: Decimal, per_unit: int, what: str) -> int:
    """``value`` (kW, kWh, INR) in whole W, Wh or paise (``per_unit`` of them per unit)."""
    scaled = value * per_unit
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise ValueError(f"{what} {value} is not a whole number of 1/{per_unit}")
    return int(scaled)


class _Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tariff(BaseModel):
    """A DISCOM's wheeling rates in paise per kWh, as its contract policy publishes them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    buyer_wheeling_paise_per_kwh: int = Field(ge=0)
    seller_wheeling_paise_per_kwh: int = Field(ge=0)


class ProsumerConfig(_Table):
    """A consumer selling through a seller platform."""

    meter_id: str
    customer_id: str
    discom_id: str
    installed_capacity_kw: Decimal = Field(gt=0)


class SlotConfig(_Table):
    """One delivery slot of an offer."""

    start: AwareDatetime
    price_inr_per_kwh: Decimal = Field(ge=0, decimal_places=2)
    available_kwh: Decimal = Field(gt=0, decimal_places=3)


class OfferConfig(_Table):
    """An offer of one prosumer's energy."""

    offer_id: str
    meter_id: str
    source_type: str = "SOLAR"
    duration: str = "PT1H"
    slots: tuple[SlotConfig, ...] = Field(min_length=1)


class SellerPlatformConfig(_Table):
    """``[p2p.seller_platform]``."""

    name: str = "P2P seller platform"
    prosumers: tuple[ProsumerConfig, ...] = ()
    offers: tuple[OfferConfig, ...] = ()
    """Published when the platform starts (more with ``SellerPlatform.publish``)."""
    tariffs: dict[str, Tariff] = Field(default_factory=dict)
    """DISCOM id -> wheeling rates, to quote them."""
    policy: dict[str, Any] | None = None
    """Contract policy reference put into every contract (``contractAttributes.policy``)."""
    ledger_ttl: float = Field(10.0, gt=0)
    state_path: Path | None = None
    """SQLite file of the platform's trade journal (reservations and confirmed trades
    survive a restart, :mod:`.trade_journal`); none: in memory."""
    reconcile_every: float = Field(300.0, ge=0)
    """Seconds between rounds asking the seller DISCOM's ledger about reservations its
    write left unresolved (:mod:`.seller_reconcile`; one round also runs at start);
    0: only the round at start."""
    reconcile_grace: float = Field(5.0, ge=0)
    """Seconds a reservation waits beyond ``ledger_ttl`` (and the node's ``claim_after``
    with durable jobs) before the ledger is asked: clock skew and the ledger's write time."""


class ConsumerConfig(_Table):
    """A consumer buying through a buyer platform."""

    meter_id: str
    customer_id: str
    discom_id: str
    sanctioned_load_kw: Decimal = Field(gt=0)


class BuyerPlatformConfig(_Table):
    """``[p2p.buyer_platform]``."""

    consumers: tuple[ConsumerConfig, ...] = ()
    request_ttl: float = Field(15.0, gt=0)
    """ttl of select/init/confirm (the seller's ledger write happens inside confirm's)."""
    ledger_ttl: float = Field(10.0, gt=0)
    ledger_retry_delays: tuple[Annotated[float, Field(ge=0)], ...] = (1.0, 4.0, 15.0)
    """Seconds before each retry of the buyer DISCOM's ledger write when its provider could
    not be reached, did not answer in time or answered 5xx (the write is idempotent by client
    reference); a refusal is never retried."""


class LedgerProviderConfig(_Table):
    """``[p2p.ledger_provider]``: the DISCOM, its ledger file, its meter-data BPP, its rates."""

    discom_id: str
    """The DISCOM id the ledger records; the provider's node runs as this subscriber id."""
    ledger_path: Path | None = None
    """SQLite ledger file; none: in memory."""
    meter_bpp: str
    """Subscriber id of the DISCOM's meter-data BPP."""
    meter_network_id: str | None = None
    """networkId of the meter-data pulls (the data-sharing network); none: the node's."""
    interval: str = "PT1H"
    utc_offset_minutes: int = Field(330, ge=-1440, le=1440)
    """The DISCOM's day for the allocation run (IST by default)."""
    tariffs: dict[str, Tariff] = Field(default_factory=dict)
    """DISCOM id -> wheeling rates (both DISCOMs of a trade must be listed to settle it)."""
    penalty_paise_per_kwh: int = Field(0, ge=0)
    request_ttl: float = Field(10.0, gt=0)
    allocate_at: time | None = None
    """Local time of the daily run over the previous day (none: only when asked): the
    seller round then, the buyer round ``round_gap_minutes`` later, settlement after another."""
    round_gap_minutes: int = Field(30, gt=0)


class MeterBppConfig(_Table):
    """``[p2p.meter_bpp]``: which adapter to read, who may read."""

    adapter: str = "csv"
    """Name of the node's ``[adapters.<name>]`` implementing ``MeterData``."""
    readers: tuple[str, ...] = ()
    """Subscriber ids allowed to pull (the DISCOM's ledger provider); empty: anyone."""
    max_intervals: int = Field(31 * 24, gt=0)
