"""The trade ledger in memory: the same rules and the same digest chain as SQLite.

For tests of callers and one-process demos (``research/energy-domain.md`` §2.2, "Ledger
API"). Every write (a ``put_many`` batch included) runs without an ``await`` between
reading and appending, so writes from concurrent tasks are atomic and ordered; a refused
batch is undone before the error leaves. Nothing survives the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from iesnode.clock import SystemClock
from iesnode.interfaces import Clock
from iesnode.usecases.p2p.ledger import Side, TradeInput, TradeRecord
from iesnode.usecases.p2p.ledger_chain import (
    GENESIS_DIGEST,
    ChainWalker,
    LedgerRow,
    check_row,
    seal,
)
from iesnode.usecases.p2p.ledger_rules import (
    Outcome,
    ReadFilter,
    batch_items,
    decide_put,
    decide_record,
    logged_write,
    put_each,
)
from iesnode.usecases.p2p.ledger_types import (
    ChainReport,
    TradeStatus,
    ValidationMetric,
)

__all__ = ["MemoryLedger"]


class MemoryLedger:
    """A :class:`~.ledger.TradeLedger` held in a list of chained rows."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        """An empty ledger; ``clock`` stamps ``creation_time`` (default: the system clock)."""
        self._clock = clock or SystemClock()
        self._rows: list[LedgerRow] = []
        self._latest: dict[tuple[str, str], int] = {}
        self._refs: dict[str, int] = {}

    async def put(self, trade: TradeInput, *, writer: str) -> TradeRecord:
        """See :meth:`TradeLedger.put <iesnode.usecases.p2p.ledger.TradeLedger.put>`."""
        record, written = self._put(trade, writer, self._now())
        return logged_write(record, written, writer)

    async def put_many(self, trades: Sequence[TradeInput], *, writer: str) -> list[TradeRecord]:
        """See :meth:`TradeLedger.put_many <iesnode.usecases.p2p.ledger.TradeLedger.put_many>`.

        A refused trade restores the rows and indexes as they were before the batch.
        """
        batch = batch_items(trades)
        now = self._now()
        mark = (len(self._rows), dict(self._latest), dict(self._refs))
        try:
            results = put_each(batch, lambda trade: self._put(trade, writer, now))
        except BaseException:
            del self._rows[mark[0] :]
            self._latest, self._refs = mark[1], mark[2]
            raise
        return [logged_write(record, written, writer) for record, written in results]

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
        """See :meth:`TradeLedger.record <iesnode.usecases.p2p.ledger.TradeLedger.record>`."""
        current = self._load(self._latest.get((transaction_id, order_item_id)))
        outcome = decide_record(current, writer=writer, metrics=metrics, status=status, side=side)
        if not outcome.write:
            return outcome.record
        return logged_write(self._append(outcome, writer), True, writer)

    async def get(
        self,
        *,
        reader: str,
        transaction_id: str | None = None,
        discom_id: str | None = None,
        delivery_from: datetime | None = None,
        delivery_to: datetime | None = None,
    ) -> list[TradeRecord]:
        """See :meth:`TradeLedger.get <iesnode.usecases.p2p.ledger.TradeLedger.get>`."""
        wanted = ReadFilter.of(reader, transaction_id, discom_id, delivery_from, delivery_to)
        seqs = [
            seq
            for (txn, _), seq in self._latest.items()
            if transaction_id is None or txn == transaction_id
        ]  # only the rows asked for are decoded and checked against their neighbours
        records = [self._load(seq) for seq in seqs]
        return wanted.apply(record for record in records if record is not None)

    async def verify(self) -> ChainReport:
        """Walk every row in ``seq`` order."""
        walker = ChainWalker()
        for row in self._rows:
            walker.feed(row)
        return walker.report()

    async def aclose(self) -> None:
        """Nothing to release."""

    def _load(self, seq: int | None) -> TradeRecord | None:
        if seq is None:
            return None
        row = self._rows[seq - 1]
        before = self._rows[seq - 2].row_digest if seq > 1 else None
        after = self._rows[seq].prev_digest if seq < len(self._rows) else None
        return check_row(row, before=before, after=after)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    def _put(self, trade: TradeInput, writer: str, now: datetime) -> tuple[TradeRecord, bool]:
        current_seq = self._latest.get(trade.key)
        ref_seq = self._refs.get(trade.client_reference)
        outcome = decide_put(
            trade,
            writer=writer,
            current=self._load(current_seq),
            by_reference=self._load(ref_seq),
            now=now,
        )
        if outcome.write:
            result = self._append(outcome, writer)
            current_seq = len(self._rows)
        else:
            result = outcome.record
        if ref_seq is None and current_seq is not None:
            self._refs[trade.client_reference] = current_seq
        return result, outcome.write

    def _append(self, outcome: Outcome, writer: str) -> TradeRecord:
        prev = self._rows[-1].row_digest if self._rows else GENESIS_DIGEST
        row, sealed = seal(outcome.record, seq=len(self._rows) + 1, prev_digest=prev, writer=writer)
        self._rows.append(row)
        self._latest[sealed.key] = row.seq
        return sealed
