"""What the SQLite trade ledger's worker thread runs: the statements behind each call.

The table layout and the reasons for it are in :mod:`.ledger_sqlite`; the rules of each
write in :mod:`.ledger_rules` (``research/energy-domain.md`` §2.2, "Ledger API"). Every
function takes the worker thread's connection. The writes (:func:`put_trade`,
:func:`put_trades`, :func:`record_trade`) must run inside
:func:`~iesnode.storage.sqlite_thread.transaction` (one ``BEGIN IMMEDIATE``): they read the
latest versions, decide and append, and raise to have the transaction rolled back, so a
refused item of a batch leaves nothing of the batch behind.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Final

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
    decide_put,
    decide_record,
    put_each,
)
from iesnode.usecases.p2p.ledger_types import (
    ChainReport,
    TradeStatus,
    ValidationMetric,
)

__all__ = ["put_trade", "put_trades", "read_latest", "record_trade", "walk_chain"]

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


def put_trade(
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


def put_trades(
    connection: sqlite3.Connection, trades: list[TradeInput], writer: str, now: datetime
) -> list[tuple[TradeRecord, bool]]:
    """:func:`put_trade` for each trade in order; the first refusal names its order item."""
    return put_each(trades, lambda trade: put_trade(connection, trade, writer, now))


def record_trade(
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


def read_latest(connection: sqlite3.Connection, wanted: ReadFilter) -> list[TradeRecord]:
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


def walk_chain(connection: sqlite3.Connection) -> ChainReport:
    walker = ChainWalker()
    for row in connection.execute(_ALL_ROWS):
        walker.feed(_row(row))
        if walker.failed:
            break
    return walker.report()
