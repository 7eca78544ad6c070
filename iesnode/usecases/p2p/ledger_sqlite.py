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

As in :mod:`iesnode.storage.sqlite` (file set-up in :mod:`.ledger_sqlite_schema`), one
worker thread owns the only connection (WAL, ``synchronous=FULL``). Each write reads the
trade's latest version and the reference, decides (:mod:`.ledger_rules`) and appends
inside one ``BEGIN IMMEDIATE`` transaction, so concurrent writers (tasks or processes
sharing the file) are ordered by SQLite's write lock and any failure rolls the whole
write back: never a half-written trade.

Tampering: every row a read or write touches is checked (its digest, and its links to
the rows before and after it); a failure raises ``LEDGER_TAMPERED``. :meth:`verify`
walks the whole chain. Edits made through another connection with the triggers dropped
are caught the same way, except a removed tail or a fully recomputed suffix
(:mod:`.ledger_chain`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import structlog

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
from iesnode.usecases.p2p.ledger_rules import Outcome, ReadFilter, decide_put, decide_record
from iesnode.usecases.p2p.ledger_sqlite_schema import connect, transaction
from iesnode.usecases.p2p.ledger_types import ChainReport, TradeStatus, ValidationMetric

__all__ = ["SqliteLedger"]

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

_COLUMNS: Final = (
    "r.seq, r.transaction_id, r.order_item_id, r.version, r.writer, r.record,"
    " r.prev_digest, r.row_digest,"
    " (SELECT row_digest FROM ledger_rows WHERE seq = r.seq - 1),"
    " (SELECT prev_digest FROM ledger_rows WHERE seq = r.seq + 1)"
)
_LATEST_OF: Final = (
    f"SELECT {_COLUMNS} FROM ledger_rows AS r WHERE r.transaction_id = ?"  # noqa: S608
    " AND r.order_item_id = ? ORDER BY r.version DESC LIMIT 1"
)
_BY_REFERENCE: Final = (
    f"SELECT {_COLUMNS} FROM ledger_client_refs AS c"  # noqa: S608
    " JOIN ledger_rows AS r ON r.seq = c.seq"
    " WHERE c.client_reference = ?"
)
_LATEST: Final = (
    f"SELECT {_COLUMNS} FROM ledger_rows AS r JOIN"  # noqa: S608
    " (SELECT transaction_id, order_item_id, MAX(version) AS version FROM ledger_rows"
    "  GROUP BY transaction_id, order_item_id) AS l"
    " ON r.transaction_id = l.transaction_id AND r.order_item_id = l.order_item_id"
    " AND r.version = l.version"
)
_LATEST_OF_TRANSACTION: Final = (
    f"SELECT {_COLUMNS} FROM ledger_rows AS r JOIN"  # noqa: S608
    " (SELECT order_item_id, MAX(version) AS version FROM ledger_rows"
    "  WHERE transaction_id = ? GROUP BY order_item_id) AS l"
    " ON r.transaction_id = ? AND r.order_item_id = l.order_item_id AND r.version = l.version"
)
_HEAD: Final = "SELECT seq, row_digest FROM ledger_rows ORDER BY seq DESC LIMIT 1"
_INSERT_ROW: Final = (
    "INSERT INTO ledger_rows (seq, transaction_id, order_item_id, version, writer, record,"
    " prev_digest, row_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_REF: Final = "INSERT INTO ledger_client_refs (client_reference, seq) VALUES (?, ?)"
_ALL_ROWS: Final = (
    "SELECT seq, transaction_id, order_item_id, version, writer, record, prev_digest,"
    " row_digest FROM ledger_rows ORDER BY seq"
)


class SqliteLedger:
    """The trade ledger in one SQLite file; open with :meth:`open`, end with :meth:`aclose`."""

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, clock: Clock
    ) -> None:
        """Wrap a connection created on ``executor``'s only thread (use :meth:`open`)."""
        self._connection = connection
        self._executor = executor
        self._clock = clock
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path, *, clock: Clock | None = None, busy_timeout: float = 5.0
    ) -> SqliteLedger:
        """Open (creating it and its directory if needed) the ledger at ``path``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iesnode-ledger")
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(executor, connect, path, busy_timeout)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        log.info("ledger_opened", path=str(path))
        return cls(connection, executor, clock or SystemClock())

    async def put(self, trade: TradeInput, *, writer: str) -> TradeRecord:
        """See :meth:`TradeLedger.put <iesnode.usecases.p2p.ledger.TradeLedger.put>`."""
        now = datetime.fromtimestamp(self._clock.now(), UTC)
        record, written = await self._run(transaction, _put, trade, writer, now)
        return _logged(record, written, writer)

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
        record, written = await self._run(transaction, _record, *args)
        return _logged(record, written, writer)

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
        return await self._run(_get, wanted)

    async def verify(self) -> ChainReport:
        """Walk every row in ``seq`` order (see :class:`~.ledger_chain.ChainWalker`)."""
        report = await self._run(_verify)
        log.info("ledger_verified", ok=report.ok, rows=report.rows, bad=report.first_bad_row)
        return report

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)
        finally:
            self._executor.shutdown(wait=False)

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        if self._closed:
            raise RuntimeError("ledger is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, self._connection, *args)


def _logged(record: TradeRecord, written: bool, writer: str) -> TradeRecord:
    """Log a committed write (never the parties' meters or customers)."""
    if written:
        log.info(
            "ledger_write",
            transaction_id=record.transaction_id,
            order_item_id=record.order_item_id,
            version=record.version,
            writer=writer,
        )
    return record


def _row(row: tuple[Any, ...]) -> LedgerRow:
    return LedgerRow(
        seq=row[0],
        transaction_id=row[1],
        order_item_id=row[2],
        version=row[3],
        writer=row[4],
        record=bytes(row[5]),
        prev_digest=row[6],
        row_digest=row[7],
    )


def _checked(row: tuple[Any, ...] | None) -> tuple[LedgerRow, TradeRecord] | None:
    if row is None:
        return None
    stored = _row(row)
    return stored, check_row(stored, before=row[8], after=row[9])


def _append(
    connection: sqlite3.Connection, outcome: Outcome, writer: str
) -> tuple[int, TradeRecord]:
    head = connection.execute(_HEAD).fetchone()
    seq, prev = (1, GENESIS_DIGEST) if head is None else (head[0] + 1, head[1])
    row, sealed = seal(outcome.record, seq=seq, prev_digest=prev, writer=writer)
    connection.execute(
        _INSERT_ROW,
        (
            row.seq,
            row.transaction_id,
            row.order_item_id,
            row.version,
            row.writer,
            row.record,
            row.prev_digest,
            row.row_digest,
        ),
    )
    return seq, sealed


def _put(
    connection: sqlite3.Connection, trade: TradeInput, writer: str, now: datetime
) -> tuple[TradeRecord, bool]:
    current = _checked(connection.execute(_LATEST_OF, trade.key).fetchone())
    by_ref = _checked(connection.execute(_BY_REFERENCE, (trade.client_reference,)).fetchone())
    outcome = decide_put(
        trade,
        writer=writer,
        current=None if current is None else current[1],
        by_reference=None if by_ref is None else by_ref[1],
        now=now,
    )
    if outcome.write:
        seq, result = _append(connection, outcome, writer)
    else:
        assert current is not None
        seq, result = current[0].seq, outcome.record
    if by_ref is None:
        connection.execute(_INSERT_REF, (trade.client_reference, seq))
    return result, outcome.write


def _record(
    connection: sqlite3.Connection,
    key: tuple[str, str],
    writer: str,
    metrics: tuple[ValidationMetric, ...],
    status: TradeStatus | None,
    side: Side | None,
) -> tuple[TradeRecord, bool]:
    current = _checked(connection.execute(_LATEST_OF, key).fetchone())
    outcome = decide_record(
        None if current is None else current[1],
        writer=writer,
        metrics=metrics,
        status=status,
        side=side,
    )
    if not outcome.write:
        return outcome.record, False
    return _append(connection, outcome, writer)[1], True


def _get(connection: sqlite3.Connection, wanted: ReadFilter) -> list[TradeRecord]:
    txn = wanted.transaction_id
    rows = (
        connection.execute(_LATEST)
        if txn is None
        else connection.execute(_LATEST_OF_TRANSACTION, (txn, txn))
    )
    records = []
    for row in rows:
        found = _checked(row)
        assert found is not None
        records.append(found[1])
    return wanted.apply(records)


def _verify(connection: sqlite3.Connection) -> ChainReport:
    walker = ChainWalker()
    for row in connection.execute(_ALL_ROWS):
        walker.feed(_row(row))
        if walker.failed:
            break
    return walker.report()
