"""The trade ledger in one SQLite file: an append-only, digest-chained table of versions.

Implements :class:`~.ledger.TradeLedger` (``research/energy-domain.md`` §2.2, "Ledger
API"; DESIGN.md §3: SQLite is the embedded default for durable records). Layout:

* ``ledger_rows(seq, transaction_id, order_item_id, version, writer, record, prev_digest,
  row_digest)``: one row per write, ``record`` the canonical JCS bytes of the whole new
  version, the digests chained as :mod:`.ledger_chain` describes; ``(transaction_id,
  order_item_id, version)`` is unique;
* ``ledger_client_refs(client_reference, seq)``: which stored version a client reference
  produced (the idempotency index);
* triggers refuse ``UPDATE`` and ``DELETE`` on both tables.

As in :mod:`iesnode.storage.sqlite` (:mod:`iesnode.storage.sqlite_thread`; the schema in
:mod:`.ledger_sqlite_schema`), one worker thread owns the only connection (WAL,
``synchronous=FULL``) and runs the statements of :mod:`.ledger_sqlite_ops`. Each write
(``put_many``: the whole batch) reads the trades' latest versions and references,
decides (:mod:`.ledger_rules`) and appends inside one ``BEGIN IMMEDIATE`` transaction,
so concurrent writers (tasks or processes sharing the file) are ordered by SQLite's
write lock and any failure rolls the whole write back: never a half-written trade.

Tampering: every row a read or write touches is checked (its digest, and its links to
the rows before and after it); a failure raises ``LEDGER_TAMPERED``. :meth:`verify`
walks the whole chain. Edits made through another connection with the triggers dropped
are caught the same way, except a removed tail or a fully recomputed suffix
(:mod:`.ledger_chain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import structlog

from iesnode.clock import SystemClock
from iesnode.interfaces import Clock
from iesnode.storage.sqlite_thread import SqliteThread, transaction
from iesnode.usecases.p2p.ledger import Side, TradeInput, TradeRecord
from iesnode.usecases.p2p.ledger_rules import ReadFilter, batch_items, logged_write
from iesnode.usecases.p2p.ledger_sqlite_ops import (
    put_trade,
    put_trades,
    read_latest,
    record_trade,
    walk_chain,
)
from iesnode.usecases.p2p.ledger_sqlite_schema import migrate
from iesnode.usecases.p2p.ledger_types import ChainReport, TradeStatus, ValidationMetric

__all__ = ["SqliteLedger"]

log = structlog.get_logger(__name__)

_T = TypeVar("_T")


class SqliteLedger:
    """The trade ledger in one SQLite file; open with :meth:`open`, end with :meth:`aclose`."""

    def __init__(self, db: SqliteThread, clock: Clock) -> None:
        """Wrap the opened file (use :meth:`open`)."""
        self._db = db
        self._clock = clock

    @classmethod
    async def open(
        cls, path: Path, *, clock: Clock | None = None, busy_timeout: float = 5.0
    ) -> SqliteLedger:
        """Open (creating it and its directory if needed) the ledger at ``path``."""
        db = await SqliteThread.open(
            path, busy_timeout, "ledger", migrate, thread_name="iesnode-ledger"
        )
        log.info("ledger_opened", path=str(path))
        return cls(db, clock or SystemClock())

    async def put(self, trade: TradeInput, *, writer: str) -> TradeRecord:
        """See :meth:`TradeLedger.put <iesnode.usecases.p2p.ledger.TradeLedger.put>`."""
        now = datetime.fromtimestamp(self._clock.now(), UTC)
        record, written = await self._db.run(transaction, put_trade, trade, writer, now)
        return logged_write(record, written, writer)

    async def put_many(self, trades: Sequence[TradeInput], *, writer: str) -> list[TradeRecord]:
        """See :meth:`TradeLedger.put_many <iesnode.usecases.p2p.ledger.TradeLedger.put_many>`.

        One ``BEGIN IMMEDIATE`` transaction for the whole batch: a refused trade rolls
        back the rows and client references the batch had appended.
        """
        batch = batch_items(trades)
        now = datetime.fromtimestamp(self._clock.now(), UTC)
        results = await self._db.run(transaction, put_trades, batch, writer, now)
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
        key = (transaction_id, order_item_id)
        args = (key, writer, tuple(metrics), status, side)
        record, written = await self._db.run(transaction, record_trade, *args)
        return logged_write(record, written, writer)

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
        return await self._db.run(read_latest, wanted)

    async def verify(self) -> ChainReport:
        """Walk every row in ``seq`` order (see :class:`~.ledger_chain.ChainWalker`)."""
        report = await self._db.run(walk_chain)
        log.info("ledger_verified", ok=report.ok, rows=report.rows, bad=report.first_bad_row)
        return report

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; closing twice is harmless."""
        await self._db.aclose()
