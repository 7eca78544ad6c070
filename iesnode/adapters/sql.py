"""The SQL reference adapter (registry name ``"sql"``): a CIS and an MDM behind DB-API.

Any DB-API 2.0 driver works (``driver`` names its module, ``sqlite3`` by default). The
queries live in the config and use named parameters written ``:name`` whatever the
driver's ``paramstyle``; they are rewritten once for the driver. Parameters:

* ``consumer``: ``:consumer_id`` -> one row with the consumer columns;
* ``consumer_by_meter``: ``:meter`` -> the same columns;
* ``meters``: ``:consumer_id`` -> one row per meter (column ``columns.meter``);
* ``readings``: ``:meter``, ``:start``, ``:end``, ``:direction`` -> interval rows.

``readings`` first runs ``consumer_by_meter`` so an unknown meter is told apart from one
without data. ``columns`` maps the seam's fields to column names. Every query runs in a
worker thread (``asyncio.to_thread``) on its own connection, under ``timeout_s``; on
timeout an SQLite query is interrupted. A driver error or timeout is ``ADP_UNAVAILABLE``,
a NULL or invalid value ``ADP_BAD_DATA`` with path ``query[row].column``, an unknown
consumer/meter ``ADP_UNKNOWN_*``. Intervals with no row come back as ``missing``.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import time
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field

from iesnode.adapters.base import (
    ADP_UNAVAILABLE,
    ADP_UNKNOWN_CONSUMER,
    ADP_UNKNOWN_METER,
    AdapterError,
    Consumer,
    Direction,
    Reading,
)
from iesnode.adapters.legacy import ValueRules, fill_gaps

__all__ = ["SqlAdapter", "SqlColumns", "SqlConfig", "SqlQueries", "to_paramstyle"]

log = structlog.get_logger(__name__)

Row = dict[str, Any]

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|:([A-Za-z_][A-Za-z0-9_]*)")


def to_paramstyle(sql: str, paramstyle: str) -> tuple[str, list[str]]:
    """Rewrite ``:name`` parameters for a DB-API ``paramstyle``; return (sql, names in order).

    Quoted literals and ``::`` casts are left alone.
    """
    names: list[str] = []

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        names.append(name)
        return {
            "named": f":{name}",
            "qmark": "?",
            "numeric": f":{len(names)}",
            "format": "%s",
            "pyformat": f"%({name})s",
        }[paramstyle]

    if paramstyle not in {"named", "qmark", "numeric", "format", "pyformat"}:
        raise ValueError(f"unknown DB-API paramstyle {paramstyle!r}")
    return _TOKEN.sub(swap, sql), names


class SqlQueries(BaseModel):
    """The four query templates (``:name`` parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer: str
    consumer_by_meter: str
    meters: str
    readings: str


class SqlColumns(BaseModel):
    """Column names of the result rows; ``None`` = the system has no such column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer_id: str = "consumer_id"
    connection_id: str = "connection_id"
    sanctioned_load: str = "sanctioned_load"
    tariff_category: str = "tariff_category"
    reference: str | None = None
    meter: str = "meter"
    start: str = "start"
    end: str = "end"
    energy: str = "energy"
    quality: str | None = None
    obis: str | None = None


class SqlConfig(ValueRules):
    """Configuration of :class:`SqlAdapter` (the ``[adapters.sql]`` table)."""

    dsn: str
    """Connection string handed to ``driver.connect`` (a file path or URI for SQLite)."""
    driver: str = "sqlite3"
    connect_kwargs: dict[str, Any] = Field(default_factory=dict)
    queries: SqlQueries
    columns: SqlColumns = Field(default_factory=SqlColumns)
    timeout_s: float = Field(default=5.0, gt=0)
    time_param: Literal["text", "epoch", "datetime"] = "text"
    """How ``:start``/``:end`` are passed: text (``time_text_format`` in ``timezone``),
    epoch seconds, or an aware ``datetime`` in ``timezone``."""
    time_text_format: str = "%Y-%m-%dT%H:%M:%S"


class SqlAdapter:
    """``CustomerInformation`` and ``MeterData`` over a DB-API database."""

    def __init__(self, config: SqlConfig) -> None:
        self._config = config
        self._db: Any = importlib.import_module(config.driver)
        style = getattr(self._db, "paramstyle", "qmark")
        self._sql = {
            name: to_paramstyle(getattr(config.queries, name), style)
            for name in SqlQueries.model_fields
        }

    async def consumer(self, consumer_id: str) -> Consumer:
        """The consumer numbered ``consumer_id`` and its meters."""
        rows = await self._query("consumer", consumer_id=consumer_id)
        if not rows:
            raise AdapterError(
                ADP_UNKNOWN_CONSUMER, f"no consumer {consumer_id!r}", path="consumer_id"
            )
        return await self._consumer(rows, "consumer")

    async def consumer_by_meter(self, meter: str) -> Consumer:
        """The consumer the meter belongs to."""
        rows = await self._query("consumer_by_meter", meter=meter)
        if not rows:
            raise AdapterError(ADP_UNKNOWN_METER, f"no meter {meter!r}", path="meter")
        return await self._consumer(rows, "consumer_by_meter")

    async def readings(
        self, meter: str, start: datetime, end: datetime, direction: str = "import"
    ) -> list[Reading]:
        """Readings of ``meter`` covering ``[start, end)``; gaps are ``missing``."""
        if direction not in ("import", "export"):
            raise ValueError(f"direction must be import or export, not {direction!r}")
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        way: Direction = "import" if direction == "import" else "export"
        if not await self._query("consumer_by_meter", meter=meter):
            raise AdapterError(ADP_UNKNOWN_METER, f"no meter {meter!r}", path="meter")
        rows = await self._query(
            "readings",
            meter=meter,
            start=self._time(start),
            end=self._time(end),
            direction=self._config.direction_values[way],
        )
        fields = self._reading_columns()
        found = [
            self._config.reading(
                meter,
                {field: row.get(column) for field, column in fields.items()},
                {field: f"readings[{i}].{column}" for field, column in fields.items()},
                way,
            )
            for i, row in enumerate(rows)
        ]
        interval = timedelta(seconds=self._config.interval_s)
        out = fill_gaps(meter, found, start, end, way, self._config.obis[way], interval)
        missing = sum(1 for r in out if r.quality == "missing")
        log.debug("adapter.sql.readings", meter=meter, rows=len(rows), missing=missing)
        return out

    def _reading_columns(self) -> dict[str, str]:
        cols = self._config.columns
        fields = {"start": cols.start, "end": cols.end, "energy": cols.energy}
        if cols.quality is not None:
            fields["quality"] = cols.quality
        if cols.obis is not None:
            fields["obis"] = cols.obis
        return fields

    async def _consumer(self, rows: list[Row], query: str) -> Consumer:
        cols = self._config.columns
        fields = {
            "consumer_id": cols.consumer_id,
            "connection_id": cols.connection_id,
            "sanctioned_load": cols.sanctioned_load,
            "tariff_category": cols.tariff_category,
        }
        if cols.reference is not None:
            fields["reference"] = cols.reference
        row = rows[0]
        values = {field: row.get(column) for field, column in fields.items()}
        paths = {field: f"{query}[0].{column}" for field, column in fields.items()}
        consumer_id = values["consumer_id"]
        meter_rows = (
            [] if consumer_id is None else await self._query("meters", consumer_id=consumer_id)
        )
        meters = [
            (r.get(cols.meter), f"meters[{i}].{cols.meter}") for i, r in enumerate(meter_rows)
        ]
        return self._config.consumer(values, paths, meters)

    def _time(self, moment: datetime) -> object:
        local = moment.astimezone(self._config.zone)
        if self._config.time_param == "epoch":
            return moment.timestamp()
        if self._config.time_param == "datetime":
            return local
        return local.strftime(self._config.time_text_format)

    async def _query(self, name: str, **params: object) -> list[Row]:
        sql, order = self._sql[name]
        style = getattr(self._db, "paramstyle", "qmark")
        args: object = params if style in {"named", "pyformat"} else [params[n] for n in order]
        live: list[Any] = []
        began = time.perf_counter()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._run, sql, args, live), self._config.timeout_s
            )
        except TimeoutError:
            for conn in live:
                interrupt = getattr(conn, "interrupt", None)
                if callable(interrupt):
                    interrupt()
            log.warning("adapter.sql.timeout", query=name, timeout_s=self._config.timeout_s)
            raise AdapterError(
                ADP_UNAVAILABLE, f"query {name} took over {self._config.timeout_s:g}s", path=name
            ) from None
        except (self._db.Error, OSError) as exc:
            log.warning("adapter.sql.unavailable", query=name, error=str(exc))
            raise AdapterError(
                ADP_UNAVAILABLE, f"query {name} failed: {type(exc).__name__}: {exc}", path=name
            ) from None
        finally:
            log.debug(
                "adapter.sql.query", query=name, ms=round(1000 * (time.perf_counter() - began))
            )

    def _run(self, sql: str, args: object, live: list[Any]) -> list[Row]:
        conn = self._db.connect(self._config.dsn, **self._config.connect_kwargs)
        live.append(conn)
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql, args)
                columns = [d[0] for d in cursor.description or ()]
                return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            finally:
                cursor.close()
        finally:
            conn.close()
