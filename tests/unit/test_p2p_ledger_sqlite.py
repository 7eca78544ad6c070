"""SqliteLedger on a real file: durability, tamper detection, atomic writes, two connections.

Tampering is done the way an intruder with file access would: a separate ``sqlite3``
connection that drops the append-only triggers and edits rows. ``verify()`` names the
first bad row; a read or write touching a bad row raises ``LEDGER_TAMPERED``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from iesnode.errors import ConfigError
from iesnode.usecases.p2p import (
    LEDGER_TAMPERED,
    LedgerError,
    MetricType,
    SqliteLedger,
    ValidationMetric,
)
from iesnode.usecases.p2p.ledger_chain import chain_digest
from tests.unit.p2p_trades import BUYER_PLATFORM, SELLER_DISCOM, SELLER_PLATFORM, make_trade

PUSHED = ValidationMetric(MetricType.ACTUAL_PUSHED, 7_500)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the ledger file lives."""
    return tmp_path / "ledger" / "trades.db"


@pytest.fixture
async def ledger(path: Path) -> AsyncIterator[SqliteLedger]:
    """A ledger holding three trades (rows 1-3) and one seller record on txn-1 (row 4)."""
    impl = await SqliteLedger.open(path)
    for index in (1, 2, 3):
        trade = make_trade(transaction_id=f"txn-{index}", client_reference=f"ref-{index}")
        await impl.put(trade, writer=SELLER_PLATFORM)
    await impl.record("txn-1", "item-1", writer=SELLER_DISCOM, metrics=[PUSHED])
    try:
        yield impl
    finally:
        await impl.aclose()


@contextmanager
def intruder(path: Path) -> Iterator[sqlite3.Connection]:
    """A separate connection with the append-only triggers dropped; commits on exit."""
    with closing(sqlite3.connect(path)) as connection, connection:
        for name in ("ledger_rows_no_update", "ledger_rows_no_delete"):
            connection.execute(f"DROP TRIGGER {name}")
        yield connection


def edit_quantity(connection: sqlite3.Connection, seq: int, *, recompute: bool = False) -> None:
    """Change row ``seq``'s traded quantity to 1 kWh, optionally recomputing its digest."""
    record, prev = connection.execute(
        "SELECT record, prev_digest FROM ledger_rows WHERE seq = ?", (seq,)
    ).fetchone()
    doc = json.loads(record)
    doc["tradeDetails"][0]["tradeQty"] = "1"
    data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    digest = chain_digest(prev, data) if recompute else None
    connection.execute(
        "UPDATE ledger_rows SET record = ?, row_digest = coalesce(?, row_digest) WHERE seq = ?",
        (data, digest, seq),
    )


async def test_records_survive_close_and_reopen(ledger: SqliteLedger, path: Path) -> None:
    """Everything written is read back, chain intact, by a new ledger on the same file."""
    before = await ledger.get(reader=SELLER_PLATFORM)
    await ledger.aclose()
    reopened = await SqliteLedger.open(path)
    try:
        assert await reopened.get(reader=SELLER_PLATFORM) == before
        assert (await reopened.verify()).rows == 4
        again = await reopened.put(
            make_trade(transaction_id="txn-2", client_reference="ref-2"), writer=SELLER_PLATFORM
        )
        assert again.version == 1  # idempotency survives the restart
    finally:
        await reopened.aclose()


async def test_edited_row_is_named_by_verify(ledger: SqliteLedger, path: Path) -> None:
    """An UPDATE through another connection makes verify fail at exactly that row."""
    with intruder(path) as connection:
        edit_quantity(connection, 2)
    report = await ledger.verify()
    assert (report.ok, report.first_bad_row, report.rows) == (False, 2, 1)
    assert "row 2" in report.reason


async def test_read_of_an_edited_row_raises_tampered(ledger: SqliteLedger, path: Path) -> None:
    """A get that would return the edited row raises LEDGER_TAMPERED naming it."""
    with intruder(path) as connection:
        edit_quantity(connection, 2)
    with pytest.raises(LedgerError) as caught:
        await ledger.get(reader=SELLER_PLATFORM, transaction_id="txn-2")
    assert (caught.value.code, caught.value.path) == (LEDGER_TAMPERED, "rows[2]")


async def test_edit_with_a_recomputed_digest_breaks_the_next_link(
    ledger: SqliteLedger, path: Path
) -> None:
    """Recomputing the edited row's own digest still breaks the link row 3 holds."""
    with intruder(path) as connection:
        edit_quantity(connection, 2, recompute=True)
    assert (await ledger.verify()).first_bad_row == 3
    with pytest.raises(LedgerError) as caught:
        await ledger.get(reader=SELLER_PLATFORM, transaction_id="txn-2")
    assert caught.value.code == LEDGER_TAMPERED


async def test_deleted_row_is_named_by_verify(ledger: SqliteLedger, path: Path) -> None:
    """A row removed from the middle is reported where the gap starts."""
    with intruder(path) as connection:
        connection.execute("DELETE FROM ledger_rows WHERE seq = 2")
    report = await ledger.verify()
    assert (report.ok, report.first_bad_row) == (False, 2)


async def test_write_on_a_tampered_trade_is_refused(ledger: SqliteLedger, path: Path) -> None:
    """A DISCOM record on a trade whose latest row was edited raises LEDGER_TAMPERED."""
    with intruder(path) as connection:
        edit_quantity(connection, 4)
    with pytest.raises(LedgerError) as caught:
        await ledger.record("txn-1", "item-1", writer=SELLER_DISCOM, metrics=[])
    assert caught.value.code == LEDGER_TAMPERED


async def test_failed_write_leaves_no_half_written_trade(ledger: SqliteLedger, path: Path) -> None:
    """A constraint error after the row insert rolls the whole put back; later puts work."""
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "CREATE TRIGGER fail_ref BEFORE INSERT ON ledger_client_refs"
            " WHEN NEW.client_reference = 'ref-boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    boom = make_trade(transaction_id="txn-boom", client_reference="ref-boom")
    with pytest.raises(sqlite3.IntegrityError):
        await ledger.put(boom, writer=SELLER_PLATFORM)
    assert await ledger.get(reader=SELLER_PLATFORM, transaction_id="txn-boom") == []
    assert (await ledger.verify()).rows == 4
    fine = await ledger.put(
        make_trade(transaction_id="txn-5", client_reference="r5"), writer=SELLER_PLATFORM
    )
    assert fine.version == 1
    assert (await ledger.verify()).rows == 5


async def test_two_connections_putting_one_trade_make_one_record(path: Path) -> None:
    """Two ledgers on one file (two connections, two threads) racing on a trade store it once."""
    first, second = await SqliteLedger.open(path), await SqliteLedger.open(path)
    try:
        results = await asyncio.gather(
            *(
                ledger.put(make_trade(client_reference=f"ref-{n}"), writer=writer)
                for n, (ledger, writer) in enumerate(
                    [(first, SELLER_PLATFORM), (second, BUYER_PLATFORM)] * 5
                )
            )
        )
        assert len({record.record_id for record in results}) == 1
        assert (await first.verify()).rows == 1
    finally:
        await first.aclose()
        await second.aclose()


async def test_use_after_close_is_refused(path: Path) -> None:
    """A closed ledger raises instead of touching a closed connection; closing twice is fine."""
    ledger = await SqliteLedger.open(path)
    await ledger.aclose()
    await ledger.aclose()
    with pytest.raises(RuntimeError):
        await ledger.get(reader=SELLER_PLATFORM)


async def test_a_file_from_a_newer_schema_is_refused(path: Path) -> None:
    """A ledger file whose schema version is newer than this code is not misread."""
    ledger = await SqliteLedger.open(path)
    await ledger.aclose()
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("INSERT INTO ledger_schema VALUES (2)")
    with pytest.raises(ConfigError):
        await SqliteLedger.open(path)
