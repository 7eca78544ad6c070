"""SqlAdapter against a real SQLite file in tmp_path."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iesnode.adapters.base import AdapterError, CustomerInformation, MeterData
from iesnode.adapters.sql import SqlAdapter, SqlConfig, to_paramstyle

IST = timedelta(hours=5, minutes=30)
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC) - IST  # 09:00 IST

SCHEMA = """
CREATE TABLE cis (consumer_no TEXT, conn_no TEXT, load_kw TEXT, tariff TEXT, did TEXT);
CREATE TABLE meter (meter_no TEXT, consumer_no TEXT);
CREATE TABLE lp (meter_no TEXT, dir TEXT, t_from TEXT, t_to TEXT, kwh REAL, flag TEXT);
INSERT INTO cis VALUES ('C-1', 'CONN-1', '5.5', 'LT-1', 'did:web:d.example:consumers:C-1');
INSERT INTO cis VALUES ('C-2', 'CONN-2', NULL, 'LT-1', NULL);
INSERT INTO cis VALUES ('C-3', 'CONN-3', 'lots', 'LT-2', NULL);
INSERT INTO meter VALUES ('M-1', 'C-1'), ('M-2', 'C-1'), ('M-3', 'C-2');
INSERT INTO lp VALUES ('M-1', 'IMP', '2026-05-04T09:00:00', '2026-05-04T09:15:00', 1.25, 'A');
INSERT INTO lp VALUES ('M-1', 'IMP', '2026-05-04T09:30:00', '2026-05-04T09:45:00', 0.5, 'E');
INSERT INTO lp VALUES ('M-1', 'EXP', '2026-05-04T09:00:00', '2026-05-04T09:15:00', 0.75, 'A');
INSERT INTO lp VALUES ('M-3', 'IMP', '2026-05-04T09:00:00', '2026-05-04T09:15:00', NULL, 'A');
"""

QUERIES = {
    "consumer": "SELECT consumer_no, conn_no, load_kw, tariff, did FROM cis "
    "WHERE consumer_no = :consumer_id",
    "consumer_by_meter": "SELECT c.consumer_no, conn_no, load_kw, tariff, did FROM cis c "
    "JOIN meter m ON m.consumer_no = c.consumer_no WHERE m.meter_no = :meter",
    "meters": "SELECT meter_no FROM meter WHERE consumer_no = :consumer_id ORDER BY meter_no",
    "readings": "SELECT t_from, t_to, kwh, flag FROM lp WHERE meter_no = :meter "
    "AND dir = :direction AND t_from >= :start AND t_from < :end ORDER BY t_from",
}
COLUMNS = {
    "consumer_id": "consumer_no",
    "connection_id": "conn_no",
    "sanctioned_load": "load_kw",
    "tariff_category": "tariff",
    "reference": "did",
    "meter": "meter_no",
    "start": "t_from",
    "end": "t_to",
    "energy": "kwh",
    "quality": "flag",
}


def make(dsn: str, **extra: Any) -> SqlAdapter:
    """An adapter over ``dsn`` with the test's queries and columns."""
    data: dict[str, Any] = {
        "dsn": dsn,
        "queries": QUERIES,
        "columns": COLUMNS,
        "direction_values": {"import": "IMP", "export": "EXP"},
        "timeout_s": 2.0,
    }
    data.update(extra)
    return SqlAdapter(SqlConfig.model_validate(data))


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite CIS + MDM database file."""
    path = tmp_path / "legacy.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
    conn.close()
    return str(path)


async def test_consumer_by_number_and_by_meter(db: str) -> None:
    """A consumer row, its meters and kW->W come back as the seam's Consumer."""
    adapter = make(db)
    assert isinstance(adapter, CustomerInformation)
    assert isinstance(adapter, MeterData)
    consumer = await adapter.consumer("C-1")
    assert consumer.connection_id == "CONN-1"
    assert consumer.sanctioned_load_w == 5500
    assert consumer.meters == ("M-1", "M-2")
    assert consumer.reference == "did:web:d.example:consumers:C-1"
    assert await adapter.consumer_by_meter("M-2") == consumer


async def test_unknown_consumer_and_meter(db: str) -> None:
    """No row means ADP_UNKNOWN_CONSUMER / ADP_UNKNOWN_METER with legacy code 30004."""
    adapter = make(db)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-404")
    assert (exc.value.code, exc.value.legacy_code) == ("ADP_UNKNOWN_CONSUMER", "30004")
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer_by_meter("M-404")
    assert exc.value.code == "ADP_UNKNOWN_METER"
    with pytest.raises(AdapterError) as exc:
        await adapter.readings("M-404", T0, T0 + timedelta(hours=1))
    assert exc.value.code == "ADP_UNKNOWN_METER"


async def test_null_and_invalid_values_name_the_column(db: str) -> None:
    """A NULL or non-numeric load is ADP_BAD_DATA whose path names the column."""
    adapter = make(db)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-2")
    assert (exc.value.code, exc.value.path) == ("ADP_BAD_DATA", "consumer[0].load_kw")
    assert exc.value.legacy_code == "31001"
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-3")
    assert exc.value.path == "consumer[0].load_kw"


async def test_readings_with_gaps_are_missing_never_invented(db: str) -> None:
    """Rows become integer Wh; the two uncovered quarter-hours come back missing."""
    adapter = make(db)
    got = await adapter.readings("M-1", T0, T0 + timedelta(hours=1))
    assert [(r.start - T0, r.wh, r.quality) for r in got] == [
        (timedelta(0), 1250, "actual"),
        (timedelta(minutes=15), None, "missing"),
        (timedelta(minutes=30), 500, "estimated"),
        (timedelta(minutes=45), None, "missing"),
    ]
    assert {r.obis for r in got} == {"1.0.1.8.0.255"}
    assert got[0].end - got[0].start == timedelta(minutes=15)
    export = await adapter.readings("M-1", T0, T0 + timedelta(minutes=15), "export")
    assert [(r.wh, r.direction, r.obis) for r in export] == [(750, "export", "1.0.2.8.0.255")]


async def test_null_energy_in_reading_row_is_bad_data(db: str) -> None:
    """A NULL kWh on an 'actual' row is ADP_BAD_DATA naming row and column."""
    with pytest.raises(AdapterError) as exc:
        await make(db).readings("M-3", T0, T0 + timedelta(hours=1))
    assert (exc.value.code, exc.value.path) == ("ADP_BAD_DATA", "readings[0].kwh")


async def test_connection_failure_is_unavailable(tmp_path: Path) -> None:
    """A database that cannot be opened is ADP_UNAVAILABLE (legacy 31002)."""
    dsn = f"file:{tmp_path / 'absent.db'}?mode=ro"
    adapter = make(dsn, connect_kwargs={"uri": True})
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-1")
    assert (exc.value.code, exc.value.legacy_code) == ("ADP_UNAVAILABLE", "31002")
    assert exc.value.path == "consumer"


async def test_slow_query_times_out_as_unavailable(db: str) -> None:
    """A query over the timeout is interrupted and reported ADP_UNAVAILABLE."""
    slow = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000000) "
        "SELECT count(*) AS consumer_no FROM n WHERE :consumer_id IS NOT NULL"
    )
    adapter = make(db, queries={**QUERIES, "consumer": slow}, timeout_s=0.2)
    began = datetime.now(UTC)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-1")
    assert exc.value.code == "ADP_UNAVAILABLE"
    assert datetime.now(UTC) - began < timedelta(seconds=2)


def test_named_parameters_rewritten_per_paramstyle() -> None:
    """``:name`` becomes the driver's style; literals and ``::`` casts are untouched."""
    sql = "SELECT ':x', a::text FROM t WHERE a = :meter AND b > :start"
    assert to_paramstyle(sql, "qmark") == (
        "SELECT ':x', a::text FROM t WHERE a = ? AND b > ?",
        ["meter", "start"],
    )
    assert to_paramstyle(sql, "pyformat")[0].endswith("a = %(meter)s AND b > %(start)s")
    assert to_paramstyle(sql, "numeric")[0].endswith("a = :1 AND b > :2")
