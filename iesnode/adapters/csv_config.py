"""Configuration of the flat-file adapter (:mod:`iesnode.adapters.csv_files`).

Column names of the CIS extract and of the MDM interval dump, units, codes and what a
malformed row does; validated when the adapter is loaded by name (``"csv"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iesnode.adapters.base import Direction, Quality
from iesnode.identity.identifiers import IdentifierScheme

__all__ = [
    "QUALITY_CODES",
    "ConsumerColumns",
    "ConsumersFile",
    "CsvConfig",
    "ReadingColumns",
    "ReadingsFile",
]

QUALITY_CODES: dict[str, Quality] = {
    "": "actual", "A": "actual", "ACTUAL": "actual", "V": "actual", "VALID": "actual",
    "E": "estimated", "EST": "estimated", "ESTIMATED": "estimated",
    "M": "missing", "MISSING": "missing",
}  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConsumerColumns(_Strict):
    """Header names of the CIS extract."""

    consumer_id: str = "consumer_id"
    connection_id: str = "connection_id"
    sanctioned_load: str = "sanctioned_load"
    tariff_category: str = "tariff_category"
    meters: str = "meters"


class ConsumersFile(_Strict):
    """The CIS extract: one consumer a row, meters in one cell split by ``meter_separator``."""

    path: Path
    columns: ConsumerColumns = ConsumerColumns()
    sanctioned_load_unit: Literal["kW", "W"] = "kW"
    meter_separator: str = Field(";", min_length=1)


class ReadingColumns(_Strict):
    """Header names of the MDM dump; ``end``, ``length`` or neither (``interval_minutes``)."""

    meter: str = "meter"
    start: str = "start"
    end: str | None = None
    length: str | None = None  # whole minutes or an ISO 8601 duration such as PT15M
    value: str = "value"
    direction: str | None = "direction"  # None: every row is ``default_direction``
    quality: str | None = "quality"


class ReadingsFile(_Strict):
    """The MDM interval dump: one interval of one meter a row."""

    path: Path
    columns: ReadingColumns = ReadingColumns()
    value_unit: Literal["kWh", "Wh"] = "kWh"
    interval_minutes: int | None = Field(None, gt=0)
    direction_codes: dict[str, Direction] = Field(default_factory=dict)
    default_direction: Direction = "import"
    quality_codes: dict[str, Quality] = Field(default_factory=lambda: dict(QUALITY_CODES))

    @model_validator(mode="after")
    def _one_length(self) -> ReadingsFile:
        given = [self.columns.end, self.columns.length, self.interval_minutes]
        if sum(x is not None for x in given) != 1:
            raise ValueError("set exactly one of columns.end, columns.length, interval_minutes")
        return self


class CsvConfig(_Strict):
    """The ``[adapters.csv]`` table."""

    consumers: ConsumersFile | None = None
    readings: ReadingsFile | None = None
    legacy_ids: Path | None = None  # a LegacyIdMap file; fills Consumer.reference
    legacy_id_scheme: IdentifierScheme | None = IdentifierScheme.CONSUMER_NUMBER
    delimiter: str = Field(",", min_length=1, max_length=1)
    utc_offset_minutes: int = Field(330, ge=-1440, le=1440)
    on_bad_row: Literal["fail", "skip"] = "fail"
