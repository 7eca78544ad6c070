"""The trade ledger's SQLite file: its schema, how it is opened, and the write transaction.

Schema version 1 (see :mod:`.ledger_sqlite` for what the tables hold): ``ledger_rows``
and ``ledger_client_refs``, each with triggers that refuse ``UPDATE`` and ``DELETE``, and
``ledger_schema`` recording the version. The file is opened as in
:mod:`iesnode.storage.sqlite` (DESIGN.md §3): WAL journal, ``synchronous=FULL``, a busy
timeout so writers sharing the file wait for SQLite's write lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final, TypeVar

from iesnode.errors import ConfigError

__all__ = ["migrate"]

_T = TypeVar("_T")

_SCHEMA: Final = (
    """CREATE TABLE ledger_rows (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        transaction_id TEXT NOT NULL,
        order_item_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        writer TEXT NOT NULL,
        record BLOB NOT NULL,
        prev_digest TEXT NOT NULL,
        row_digest TEXT NOT NULL,
        UNIQUE (transaction_id, order_item_id, version)
    )""",
    """CREATE TABLE ledger_client_refs (
        client_reference TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    )""",
    """CREATE TRIGGER ledger_rows_no_update BEFORE UPDATE ON ledger_rows
       BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END""",
    """CREATE TRIGGER ledger_rows_no_delete BEFORE DELETE ON ledger_rows
       BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END""",
    """CREATE TRIGGER ledger_refs_no_update BEFORE UPDATE ON ledger_client_refs
       BEGIN SELECT RAISE(ABORT, 'client references are append-only'); END""",
    """CREATE TRIGGER ledger_refs_no_delete BEFORE DELETE ON ledger_client_refs
       BEGIN SELECT RAISE(ABORT, 'client references are append-only'); END""",
)
_SCHEMA_VERSION: Final = 1


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Create the schema in a new file; refuse a file written by a newer iesnode."""
    connection.execute("CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER NOT NULL)")
    current = int(connection.execute("SELECT MAX(version) FROM ledger_schema").fetchone()[0] or 0)
    if current > _SCHEMA_VERSION:
        raise ConfigError(f"ledger {path} has schema version {current}; this iesnode knows 1")
    if current == 0:
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute("INSERT INTO ledger_schema VALUES (?)", (_SCHEMA_VERSION,))
