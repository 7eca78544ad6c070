"""SQLite implementation of the ``RecordStore`` seam: the embedded default for durable records.

``DESIGN.md`` section 3: registry entries, ledger rows, consent and audit live behind
``RecordStore``; SQLite needs no service. The layout:

* one append-only table ``records(kind, key, version, data, actor, written_at)`` with
  the primary key ``(kind, key, version)`` (the latest-version lookup walks it backwards)
  and an index on ``(kind, key, written_at)`` for ``as_on`` lookups; triggers refuse
  ``UPDATE`` and ``DELETE``, so a version once written is never rewritten;
* a ``schema_version`` table; :data:`_MIGRATIONS` are applied in order on open, and a
  file written by a newer iesnode is refused instead of being misread.

The standard-library driver is blocking, so every statement runs on one dedicated worker
thread that owns the only connection (:mod:`iesnode.storage.sqlite_thread`, statements
serialised without a lock). The file is in WAL mode with ``synchronous=FULL``: a ``put``
that returned is on disk. A ``put`` reads the previous version and inserts the next one
inside one ``BEGIN IMMEDIATE`` transaction, so versions stay unique even when several
stores or processes share the file (SQLite's write lock orders them; ``busy_timeout``
waits).
As in :class:`iesnode.storage.records.MemoryRecordStore`, ``written_at`` is
``max(at, previous written_at)`` so that version order and time order agree.

A caller cancelled while its statement runs does not cancel the statement: the
version may still be written.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Final, TypeVar

import structlog

from iesnode.errors import ConfigError
from iesnode.interfaces import RecordVersion
from iesnode.storage.sqlite_thread import SqliteThread, transaction

__all__ = ["SqliteRecordStore"]

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (  # 1: the append-only version table
        """CREATE TABLE records (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            data BLOB NOT NULL,
            actor TEXT NOT NULL,
            written_at REAL NOT NULL,
            PRIMARY KEY (kind, key, version)
        )""",
        "CREATE INDEX records_as_on ON records (kind, key, written_at)",
        """CREATE TRIGGER records_no_update BEFORE UPDATE ON records
           BEGIN SELECT RAISE(ABORT, 'records are append-only'); END""",
        """CREATE TRIGGER records_no_delete BEFORE DELETE ON records
           BEGIN SELECT RAISE(ABORT, 'records are append-only'); END""",
    ),
)
_SCHEMA_VERSION: Final = len(_MIGRATIONS)

_GET: Final = (
    "SELECT kind, key, version, data, actor, written_at FROM records"
    " WHERE kind = ? AND key = ? AND written_at <= ? ORDER BY version DESC LIMIT 1"
)
_SCAN: Final = (
    "SELECT r.kind, r.key, r.version, r.data, r.actor, r.written_at FROM records AS r"
    " JOIN (SELECT key, MAX(version) AS version FROM records"
    "       WHERE kind = ? AND key >= ? AND substr(key, 1, ?) = ? AND written_at <= ?"
    "       GROUP BY key) AS latest"
    " ON r.kind = ? AND r.key = latest.key AND r.version = latest.version"
    " ORDER BY r.key"
)
_HISTORY: Final = (
    "SELECT kind, key, version, data, actor, written_at FROM records"
    " WHERE kind = ? AND key = ? ORDER BY version"
)
_LATEST: Final = (
    "SELECT version, written_at FROM records WHERE kind = ? AND key = ?"
    " ORDER BY version DESC LIMIT 1"
)
_INSERT: Final = (
    "INSERT INTO records (kind, key, version, data, actor, written_at) VALUES (?, ?, ?, ?, ?, ?)"
)
_Row = tuple[str, str, int, bytes, str, float]


class SqliteRecordStore:
    """Versioned records in one SQLite file; open with :meth:`open`, end with :meth:`aclose`."""

    def __init__(self, db: SqliteThread) -> None:
        """Wrap the opened file (use :meth:`open`)."""
        self._db = db

    @classmethod
    async def open(cls, path: Path, *, busy_timeout: float = 5.0) -> SqliteRecordStore:
        """Open (creating it and its directory if needed) and migrate the store at ``path``.

        Raises ``ConfigError`` when the file's schema is newer than this code knows.
        """
        db = await SqliteThread.open(
            path, busy_timeout, "record store", _migrate, thread_name="iesnode-sqlite"
        )
        log.info("record_store_opened", path=str(path), schema_version=_SCHEMA_VERSION)
        return cls(db)

    async def put(self, kind: str, key: str, data: bytes, *, actor: str, at: float) -> int:
        """Append a new version of ``(kind, key)``; return its version number (1 first)."""
        if not math.isfinite(at):
            raise ValueError(f"record write time must be a finite epoch, not {at!r}")
        return await self._db.run(transaction, _append, kind, key, bytes(data), actor, at)

    async def get(self, kind: str, key: str, *, as_on: float | None = None) -> RecordVersion | None:
        """The latest version written at or before ``as_on`` (default: the latest), or None."""
        rows = await self._db.run(_query, _GET, (kind, key, _bound(as_on)))
        return _version(rows[0]) if rows else None

    async def scan(
        self, kind: str, *, prefix: str = "", as_on: float | None = None
    ) -> list[RecordVersion]:
        """The latest version (as of ``as_on``) of every key of ``kind`` starting with ``prefix``.

        Ordered by key; keys with no version at ``as_on`` are left out.
        """
        rows = await self._db.run(
            _query,
            _SCAN,
            (kind, prefix, len(prefix), prefix, _bound(as_on), kind),
        )
        return [_version(row) for row in rows]

    async def history(self, kind: str, key: str) -> list[RecordVersion]:
        """Every version of ``(kind, key)``, oldest first."""
        rows = await self._db.run(_query, _HISTORY, (kind, key))
        return [_version(row) for row in rows]

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; closing twice is harmless."""
        await self._db.aclose()


def _bound(as_on: float | None) -> float:
    return math.inf if as_on is None else as_on


def _version(row: _Row) -> RecordVersion:
    kind, key, version, data, actor, written_at = row
    return RecordVersion(
        kind=kind, key=key, version=version, data=bytes(data), actor=actor, written_at=written_at
    )


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the file lacks (run in one transaction by :func:`open_wal`)."""
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = int(row[0] or 0)
    if current > _SCHEMA_VERSION:
        raise ConfigError(
            f"record store {path} has schema version {current}; this iesnode knows"
            f" up to {_SCHEMA_VERSION}"
        )
    for statements in _MIGRATIONS[current:]:
        for statement in statements:
            connection.execute(statement)
    if current < _SCHEMA_VERSION:
        connection.execute("DELETE FROM schema_version")
        connection.execute("INSERT INTO schema_version VALUES (?)", (_SCHEMA_VERSION,))
        log.info("record_store_migrated", path=str(path), schema_from=current)


def _append(
    connection: sqlite3.Connection, kind: str, key: str, data: bytes, actor: str, at: float
) -> int:
    """Insert the next version of ``(kind, key)`` (in a :func:`transaction`: the write lock)."""
    row = connection.execute(_LATEST, (kind, key)).fetchone()
    version, written_at = (1, at) if row is None else (row[0] + 1, max(at, row[1]))
    connection.execute(_INSERT, (kind, key, version, data, actor, written_at))
    return int(version)


def _query(connection: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[_Row]:
    rows: list[_Row] = connection.execute(sql, params).fetchall()
    return rows
