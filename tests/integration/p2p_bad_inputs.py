"""Valid P2P requests taken from a live trade, every single-field mutation of them, and what
a role answers to each (for ``test_p2p_bad_messages``).

:func:`bench` starts the P2P roles on loopback without the network policy pack (so that
malformed messages reach the handlers instead of being refused by the pack first), runs
one trade through the buyer platform's own calls and keeps each request it sent as a
:class:`Sample`. :func:`mutations` lists, for every JSON path of a message, the field
dropped and replaced by a value of each JSON type, plus values fitted to what the field
holds: 0, a fraction, a huge number; an unknown id or enum; for a timestamp a naive one,
one at the calendar's edge and one past it; for a duration zero, negative and beyond the
calendar; for a list its items twice over (for a trade contract, one mutation per field and
outcome of the contract reader).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from iesnode.errors import BusinessError
from iesnode.node import Node
from iesnode.protocol.duration import parse_duration
from iesnode.protocol.roles.bap import Callback, Peer
from iesnode.protocol.roles.bap_client import BapClient
from iesnode.usecases.p2p.cluster import DATA_NETWORK, P2PCluster, SimulatedClock
from iesnode.usecases.p2p.config import (
    BuyerPlatformConfig,
    LedgerProviderConfig,
    MeterBppConfig,
    SellerPlatformConfig,
)
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.ledger_view import read_records
from iesnode.usecases.p2p.meter_bpp import meter_request
from iesnode.usecases.p2p.offers import Filters
from iesnode.usecases.p2p.peers import bap_client
from iesnode.usecases.p2p.platform import SellerPlatform
from iesnode.usecases.p2p.scenario import at, load_tariffs
from tests.integration.p2p_world import EVENING_BEFORE, mdm_adapter

__all__ = [
    "BESCOM",
    "DROP",
    "HESCOM",
    "Bench",
    "Mutation",
    "Sample",
    "bench",
    "fields",
    "mutations",
    "send",
]

BESCOM, HESCOM = "BESCOM-KA", "HESCOM-KA"
SELLER, BUYER, MDM = "sunshare.test", "powerbuy.test", "mdm.bescom.test"

Path = tuple[str | int, ...]
DROP: Final = object()
"""The value of a mutation that removes the field."""
_ANY_TYPE: Final[tuple[tuple[str, object], ...]] = (
    ("null", None),
    ("true", True),
    ("-1", -1),
    ('""', ""),
    ("[]", []),
    ("{}", {}),
)
_NUMBER: Final = (("0", 0), ("0.0001", 0.0001), ("10^6", 10**6), ("10^20", 10**20))
_TIME: Final = (
    ("naive time", "2026-05-15T10:00:00"),
    ("last hour of 9999", "9999-12-31T23:30:00Z"),
    ("before year 1 in UTC", "0001-01-01T00:00:00+05:30"),
)
_DURATION: Final = (
    ("zero length", "PT0S"),
    ("negative length", "-PT1H"),
    ("longer than the calendar", "PT99999999999999999H"),
    ("past year 9999", "P9999999D"),
)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One change of one field: ``value`` at ``path`` (:data:`DROP` removes it)."""

    path: Path
    name: str
    value: object

    def apply(self, message: dict[str, Any]) -> dict[str, Any]:
        """A changed deep copy of ``message``."""
        changed = copy.deepcopy(message)
        parent: Any = changed
        for key in self.path[:-1]:
            parent = parent[key]
        if self.value is DROP:
            del parent[self.path[-1]]
        else:
            parent[self.path[-1]] = copy.deepcopy(self.value)
        return changed

    def __str__(self) -> str:
        where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.path)
        return f"message{where} <- {self.name}"


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _fitted(value: object) -> tuple[tuple[str, object], ...]:
    if isinstance(value, bool) or value is None:
        return ()
    if isinstance(value, int | float):
        return _NUMBER
    if isinstance(value, str):
        kinds = (("unknown id", "UNKNOWN-0"),)
        if _parses(datetime.fromisoformat, value):
            return (*kinds, *_TIME)
        return (*kinds, *_DURATION) if _parses(parse_duration, value) else kinds
    if isinstance(value, list) and value:
        return (("items twice", value + value),)
    return ()


def fields(value: object, path: Path = ()) -> Iterator[tuple[Path, object]]:
    """Every ``(path, value)`` in ``value``, depth first (``()`` is ``value`` itself)."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from fields(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from fields(child, (*path, index))


def mutations(message: dict[str, Any]) -> list[Mutation]:
    """Every single-field mutation of ``message`` (the message object itself is kept).

    For a trade contract, each field keeps one mutation per distinct outcome of the roles'
    contract reader (the contract it reads, or the error it raises): the handlers see the
    contract through that reader only, so the others would run the very same code.
    """
    found = [
        Mutation(path, name, new)
        for path, value in fields(message)
        if path
        for name, new in (("dropped", DROP), *_ANY_TYPE, *_fitted(value))
    ]
    try:
        read_contract(message.get("contract"))
    except BusinessError:
        return found  # not a trade contract
    kept, seen = [], set()
    for mutation in found:
        try:
            outcome = repr(read_contract(mutation.apply(message).get("contract")))
        except BusinessError as exc:
            outcome = f"{exc.code} {exc.path} {exc.message}"
        except Exception:  # a crash of the reader: always sent
            outcome = str(mutation)
        if (mutation.path, outcome) not in seen:
            seen.add((mutation.path, outcome))
            kept.append(mutation)
    return kept


@dataclass(frozen=True, slots=True)
class Sample:
    """A valid request: who sends it where; ``transaction_id`` None means a new one each time."""

    action: str
    client: BapClient
    to: Peer
    message: dict[str, Any]
    transaction_id: str | None = None


@dataclass
class Bench:
    """The running roles, the valid requests by name, the trades each ledger should hold."""

    buyer: Node
    """The buyer platform's node (a BAP), which sends the requests."""
    seller: SellerPlatform
    lps: dict[str, LedgerProvider]
    samples: dict[str, Sample]
    confirmed: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    """DISCOM -> transaction -> order items of every confirm answered with records."""

    def accept(self, discom: str, transaction_id: str, items: set[str]) -> None:
        """Note that ``discom``'s ledger confirmed ``items`` of ``transaction_id``."""
        self.confirmed.setdefault(discom, {}).setdefault(transaction_id, set()).update(items)


async def send(sample: Sample, message: dict[str, Any], ttl: float = 10) -> Callback | None:
    """Send ``message`` as ``sample`` does; its first callback (None if none came in time).

    A NACK raises :class:`~iesnode.errors.NackReceived`.
    """
    sent = await sample.client.send(
        sample.action, message, to=sample.to, transaction_id=sample.transaction_id, ttl=ttl
    )
    async for callback in sample.client.callbacks(sent):
        return callback
    return None


def _node(cluster: P2PCluster, subscriber_id: str) -> Node:
    return next(n for n in cluster.net.nodes if n.signer.subscriber_id == subscriber_id)


def _peer(cluster: P2PCluster, subscriber_id: str) -> Peer:
    return Peer(subscriber_id, _node(cluster, subscriber_id).public_url)


async def _start(cluster: P2PCluster) -> tuple[SellerPlatform, dict[str, LedgerProvider]]:
    """BESCOM's meter-data BPP, both DISCOMs' ledger providers, TEST_METER_S1's seller."""
    tariffs, penalty = load_tariffs()
    await cluster.meter_bpp(MDM, MeterBppConfig(readers=(BESCOM,)), mdm_adapter("bescom"))
    lps = {}
    for discom in (BESCOM, HESCOM):
        config = LedgerProviderConfig(
            discom_id=discom, meter_bpp=MDM, tariffs=tariffs, penalty_paise_per_kwh=penalty
        )
        lps[discom] = await cluster.ledger_provider(config)
    slots = [
        {"start": at(h), "price_inr_per_kwh": "6.50", "available_kwh": "100000"} for h in (9, 10)
    ]
    prosumer = {
        "meter_id": "TEST_METER_S1",
        "customer_id": "TEST_CUST_S1",
        "discom_id": BESCOM,
        "installed_capacity_kw": "20",
    }
    offer = {"offer_id": "offer-s1", "meter_id": "TEST_METER_S1", "slots": slots}
    table = {"prosumers": [prosumer], "offers": [offer], "tariffs": tariffs}
    seller = await cluster.seller_platform(SELLER, SellerPlatformConfig.model_validate(table))
    return seller, lps


@asynccontextmanager
async def bench() -> AsyncIterator[Bench]:
    """The roles, and one trade of 1 kWh at 10:00 sent by TEST_METER_B1's platform."""
    async with P2PCluster(SimulatedClock(EVENING_BEFORE.timestamp()), network_policy=False) as c:
        seller, lps = await _start(c)
        consumer = {
            "meter_id": "TEST_METER_B1",
            "customer_id": "TEST_CUST_B1",
            "discom_id": HESCOM,
            "sanctioned_load_kw": "12",
        }
        config = BuyerPlatformConfig.model_validate({"consumers": [consumer]})
        buyer = await c.buyer_platform(BUYER, config)
        sp, hescom = _peer(c, SELLER), _peer(c, HESCOM)
        bap = bap_client(_node(c, BUYER))
        found = (await buyer.discover(to=sp, ttl=5, sellers=1))[0]
        asked = {
            "contract": (
                await buyer.order(found, "TEST_METER_B1", {at(9): 1000, at(10): 1000})
            ).to_wire()
        }
        on_select = await bap.select(sp, asked, ttl=10)
        quote = {"contract": on_select.message["contract"]}
        on_init = await bap.init(on_select, quote, ttl=10)
        final = {"contract": on_init.message["contract"]}
        on_confirm = await bap.confirm(on_init, final, ttl=10)
        trade = on_confirm.context.transaction_id
        written = {"contract": on_confirm.message["contract"]}
        own = await bap.confirm(hescom, written, transaction_id=trade, ttl=10)
        ask = {"contract": {"id": written["contract"]["id"]}}
        filters = Filters("SOLAR", 1000, 700, delivery_from=at(9), delivery_to=at(12))
        meters = meter_request([("TEST_METER_S1", "export")], at(10), 2)
        reader = bap_client(_node(c, BESCOM), network_id=DATA_NETWORK)
        samples = {
            "discover": Sample("discover", bap, sp, filters.to_intent()),
            "select": Sample("select", bap, sp, asked),
            "init": Sample("init", bap, sp, quote, on_select.context.transaction_id),
            "confirm": Sample("confirm", bap, sp, final),
            "status": Sample("status", bap, sp, ask, trade),
            "ledger confirm": Sample("confirm", bap, hescom, written),
            "ledger status": Sample("status", bap, hescom, ask, trade),
            "meter status": Sample("status", reader, _peer(c, MDM), meters),
        }
        result = Bench(_node(c, BUYER), seller, lps, samples)
        for discom, answer in ((BESCOM, on_confirm), (HESCOM, own)):
            result.accept(discom, trade, {r.order_item_id for r in read_records(answer.message)})
        yield result
