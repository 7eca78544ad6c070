"""The P2P trade ledger seam, :class:`TradeLedger`, and the vocabulary its callers use.

Access rules follow the DEG contract ledger API v0.3.0 as summarised in
``research/energy-domain.md`` §2.2 ("Ledger API"): platforms ``put`` trades (upsert by
``transactionId + orderItemId``, idempotent by ``clientReference``; ``put_many`` writes
a contract's trades all or nothing, so the ledger never holds a half-written contract),
DISCOMs ``record``
actuals and statuses on their side, and ``get`` answers only the records the reader is
a party to. Every stored version carries ``rowDigest``, chained to the previous row
(:mod:`.ledger_chain`), so tampering is detectable; the decisions are in
:mod:`.ledger_rules`, the stores in :mod:`.ledger_sqlite` and :mod:`.ledger_memory`.

The record model (:mod:`.ledger_record`) and the vocabulary (:mod:`.ledger_types`: enums,
:class:`LedgerError`, trade details, metrics) are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from iesnode.usecases.p2p.ledger_record import Side, TradeInput, TradeRecord
from iesnode.usecases.p2p.ledger_types import (
    LEDGER_BAD_INPUT,
    LEDGER_CONFLICT,
    LEDGER_NOT_A_PARTY,
    LEDGER_TAMPERED,
    LEDGER_UNKNOWN_TRADE,
    ChainReport,
    LedgerError,
    MetricType,
    TradeDetail,
    TradeStatus,
    TradeType,
    TradeUnit,
    ValidationMetric,
)

__all__ = [
    "LEDGER_BAD_INPUT",
    "LEDGER_CONFLICT",
    "LEDGER_NOT_A_PARTY",
    "LEDGER_TAMPERED",
    "LEDGER_UNKNOWN_TRADE",
    "ChainReport",
    "LedgerError",
    "MetricType",
    "Side",
    "TradeDetail",
    "TradeInput",
    "TradeLedger",
    "TradeRecord",
    "TradeStatus",
    "TradeType",
    "TradeUnit",
    "ValidationMetric",
]


class TradeLedger(Protocol):
    """A DISCOM ledger provider's store (``ledger/put``, ``ledger/record``, ``ledger/get``)."""

    async def put(self, trade: TradeInput, *, writer: str) -> TradeRecord:
        """Write ``trade`` for platform ``writer``; upsert by ``(transaction_id, order_item_id)``.

        A repeat of a client reference with the same content (or a write identical to the
        stored trade) returns the stored record without a new row; the same reference with
        other content is ``LEDGER_CONFLICT``, as is a change once a DISCOM moved the trade out
        of PENDING/CONFIRMED. A writer that is not one of the trade's platforms gets
        ``LEDGER_NOT_A_PARTY``. New trades start CONFIRMED on both sides.
        """
        ...

    async def put_many(self, trades: Sequence[TradeInput], *, writer: str) -> list[TradeRecord]:
        """Write every trade of ``trades`` (one contract's items) or none of them.

        Each trade follows the rules of :meth:`put`, in order, as if put one after the
        other (a later trade sees the earlier ones; the chain continues in that order), but
        all in one write: if any trade is refused nothing of the batch is stored and the
        error names the order item. Items already stored identically add no row, so a
        repeated batch adds none. Returns the records in the order of ``trades``.
        """
        ...

    async def record(
        self,
        transaction_id: str,
        order_item_id: str,
        *,
        writer: str,
        metrics: Sequence[ValidationMetric],
        status: TradeStatus | None = None,
        side: Side | None = None,
    ) -> TradeRecord:
        """DISCOM ``writer`` sets its side's metrics (replacing them) and, if given, status.

        ``side`` is needed only when ``writer`` is both DISCOMs (intra-DISCOM trade).
        Unknown trade: ``LEDGER_UNKNOWN_TRADE``; writer not a DISCOM of it:
        ``LEDGER_NOT_A_PARTY``; side already COMPLETED or CANCELLED_*: ``LEDGER_CONFLICT``.
        """
        ...

    async def get(
        self,
        *,
        reader: str,
        transaction_id: str | None = None,
        discom_id: str | None = None,
        delivery_from: datetime | None = None,
        delivery_to: datetime | None = None,
    ) -> list[TradeRecord]:
        """Latest versions of the trades ``reader`` is a platform or DISCOM of, filtered.

        ``discom_id`` matches either DISCOM; the delivery bounds select trades whose
        delivery starts in ``[delivery_from, delivery_to)``. Ordered by delivery start, then
        key. A stored row that fails its digest check raises ``LEDGER_TAMPERED``.
        """
        ...

    async def verify(self) -> ChainReport:
        """Walk the whole digest chain and report the first bad row."""
        ...

    async def aclose(self) -> None:
        """Release the store (closing twice is harmless)."""
        ...
