"""One SQLite file behind one worker thread: how iesnode's SQLite stores open and run it.

DESIGN.md section 3 (SQLite, the embedded default for durable records): the
standard-library driver is blocking, so each store (:mod:`iesnode.storage.sqlite`, the
P2P trade ledger :mod:`iesnode.usecases.p2p.ledger_sqlite`) gives its only connection to
one dedicated thread, where every statement runs (serialised without a lock). The file
is opened in WAL mode with ``synchronous=FULL`` (a write that returned is on disk) and a
busy timeout, so writers sharing the file wait for SQLite's write lock; a write runs in
one ``BEGIN IMMEDIATE`` transaction (:func:`transaction`) and any failure rolls it back.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from iesnode.errors import ConfigError

__all__ = ["SqliteThread", "open_wal", "transaction"]

_T = TypeVar("_T")

Migrate = Callable[[sqlite3.Connection, Path], None]


def open_wal(path: Path, busy_timeout: float, what: str, migrate: Migrate) -> sqlite3.Connection:
    """Open ``path`` (creating it and its directory) in WAL mode; ``migrate`` it in a transaction.

    ``what`` names the store in errors ("ledger", "record store").
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ConfigError(f"{what} {path}: SQLite refused WAL journal mode ({mode})")
        connection.execute("PRAGMA synchronous=FULL")
        transaction(connection, migrate, path)
    except BaseException:
        connection.close()
        raise
    return connection


def transaction(connection: sqlite3.Connection, func: Callable[..., _T], *args: Any) -> _T:
    """Run ``func(connection, *args)`` in one ``BEGIN IMMEDIATE`` transaction."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = func(connection, *args)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return result


class SqliteThread:
    """A store's only connection and the one thread its statements run on."""

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, what: str
    ) -> None:
        """Wrap a connection created on ``executor``'s only thread (use :meth:`open`)."""
        self._connection = connection
        self._executor = executor
        self._what = what
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path, busy_timeout: float, what: str, migrate: Migrate, *, thread_name: str
    ) -> SqliteThread:
        """Start the thread and open the file on it (see :func:`open_wal`)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(
                executor, open_wal, path, busy_timeout, what, migrate
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection, executor, what)

    async def run(self, func: Callable[..., _T], *args: object) -> _T:
        """Run ``func(connection, *args)`` on the thread."""
        if self._closed:
            raise RuntimeError(f"{self._what} is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, self._connection, *args)

    async def aclose(self) -> None:
        """Close the connection and stop the thread; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)
        finally:
            self._executor.shutdown(wait=False)
