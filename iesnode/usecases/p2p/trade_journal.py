"""The seller platform's trade journal: what it has reserved and confirmed, across restarts.

A seller platform takes energy off its book when a ``confirm`` arrives and keeps it off
once the seller DISCOM's ledger has the trade (``research/energy-domain.md`` §2.2,
phase 3, the blocking ledger write). That state must outlive the process: with the
node's durable job queue (``[redis]``) a ``confirm`` whose process died is handed to the
next process and run again, and that run must neither reserve the energy a second time
nor refuse the trade because the reservation was forgotten; and the energy of trades
confirmed before a restart must stay sold.

Every change of a trade appends a version to a :class:`~iesnode.interfaces.RecordStore`
(kind ``p2p.seller_trade``, keyed by transaction id): ``RESERVED`` before the ledger
write, then ``CONFIRMED`` with the ledger's records, or ``RELEASED`` when the ledger
refused (or, asked later by :mod:`.seller_reconcile`, never got the trade). The
embedded default is SQLite (``state_path`` of ``[p2p.seller_platform]``); without a
path the journal lives in memory and a restart forgets every trade. The
journal holds the quoted contract exactly as confirmed (prices and wheeling charges
included), so a resumed ledger write sends the same trade, which the ledger's
idempotency by client reference turns into no new row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog

from iesnode.errors import BusinessError
from iesnode.interfaces import Clock, RecordStore
from iesnode.model.envelope import Context
from iesnode.storage.records import MemoryRecordStore
from iesnode.storage.sqlite import SqliteRecordStore
from iesnode.usecases.p2p.book import OfferBook
from iesnode.usecases.p2p.contract import Charges, TradeContract
from iesnode.usecases.p2p.contract_read import read_contract
from iesnode.usecases.p2p.ledger import TradeRecord
from iesnode.usecases.p2p.ledger_view import read_records, records_wire

__all__ = ["KIND", "PlatformTrade", "TradeJournal", "TradeState", "restore"]

log = structlog.get_logger(__name__)

KIND = "p2p.seller_trade"
"""The record kind of the journal's entries."""


class TradeState(StrEnum):
    """Where a trade stands at the seller platform."""

    RESERVED = "RESERVED"
    """Energy off the book; the seller DISCOM's ledger has not answered the write yet."""
    CONFIRMED = "CONFIRMED"
    """Written to the seller DISCOM's ledger."""
    RELEASED = "RELEASED"
    """The ledger refused the write; the energy went back on the book."""


@dataclass
class PlatformTrade:
    """A trade of the seller platform: the contract, who asked, and the ledger's records."""

    transaction_id: str
    contract: TradeContract
    buyer_context: Context
    """The buyer's ``confirm`` context (unsolicited ``on_update``\\ s answer into it)."""
    state: TradeState
    records: list[TradeRecord] = field(default_factory=list)
    reserved_at: float | None = None
    """Epoch seconds of the latest ledger write attempt (None in entries from before it
    was journaled: the buyer's confirm timestamp stands in)."""

    @property
    def holds_energy(self) -> bool:
        """Whether the trade's energy is off the book (reserved or confirmed)."""
        return self.state is not TradeState.RELEASED

    @property
    def reserved_since(self) -> float:
        """Epoch seconds since which the trade waits for its ledger write."""
        if self.reserved_at is not None:
            return self.reserved_at
        return self.buyer_context.timestamp.timestamp()

    def answer(self) -> dict[str, Any]:
        """The message of the trade's ``on_confirm``: the contract and the ledger's records."""
        return {"contract": self.contract.to_wire(), "ledgerRecords": records_wire(self.records)}

    def to_json(self) -> bytes:
        """The journal entry."""
        charges = self.contract.charges
        doc: dict[str, Any] = {
            "transactionId": self.transaction_id,
            "state": self.state.value,
            "contract": self.contract.to_wire(),
            "charges": None
            if charges is None
            else [charges.buyer_wheeling_paise_per_kwh, charges.seller_wheeling_paise_per_kwh],
            "buyerContext": self.buyer_context.model_dump(mode="json"),
            "ledgerRecords": records_wire(self.records),
            "reservedAt": self.reserved_at,
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> PlatformTrade:
        """A journal entry read back (raises on an entry this code did not write)."""
        doc = json.loads(data)
        contract = read_contract(doc["contract"], "journal.contract")
        if doc["charges"] is not None:
            contract = replace(contract, charges=Charges(*(int(v) for v in doc["charges"])))
        return cls(
            transaction_id=str(doc["transactionId"]),
            contract=contract,
            buyer_context=Context.model_validate(doc["buyerContext"]),
            state=TradeState(doc["state"]),
            records=read_records(doc, "journal") if doc["ledgerRecords"] else [],
            reserved_at=None if doc.get("reservedAt") is None else float(doc["reservedAt"]),
        )


class TradeJournal:
    """The versioned journal of a seller platform's trades (open with :meth:`open`)."""

    def __init__(self, store: RecordStore, *, writer: str, clock: Clock) -> None:
        self._store = store
        self._writer = writer
        self._clock = clock

    @classmethod
    async def open(cls, path: Path | None, *, writer: str, clock: Clock) -> TradeJournal:
        """The journal in the SQLite file at ``path``, or in memory when ``path`` is None."""
        if path is None:
            log.warning("seller_trades_in_memory", hint="set state_path to survive restarts")
            return cls(MemoryRecordStore(), writer=writer, clock=clock)
        return cls(await SqliteRecordStore.open(path), writer=writer, clock=clock)

    async def save(self, trade: PlatformTrade) -> None:
        """Append the trade's current state."""
        await self._store.put(
            KIND, trade.transaction_id, trade.to_json(), actor=self._writer, at=self._clock.now()
        )

    async def load(self) -> list[PlatformTrade]:
        """The latest state of every trade; an unreadable entry is logged and left out."""
        trades = []
        for version in await self._store.scan(KIND):
            try:
                trades.append(PlatformTrade.from_json(version.data))
            except (BusinessError, ValueError, KeyError, TypeError) as exc:
                log.error("seller_trade_unreadable", transaction=version.key, error=str(exc))
        return trades

    async def aclose(self) -> None:
        """Close the store."""
        await self._store.aclose()


def restore(book: OfferBook, trade: PlatformTrade) -> bool:
    """Take a journaled trade's energy off ``book``; False (logged) if its slots are gone."""
    for commitment, line in trade.contract.lines:
        offer = book.offers.get(commitment.offer_id)
        if offer is None or offer.slot(line.start) is None:
            log.error(
                "seller_trade_not_restored",
                transaction=trade.transaction_id,
                offer=commitment.offer_id,
                reason="offer or slot no longer configured",
            )
            return False
    book.reserve(trade.contract)
    return True
