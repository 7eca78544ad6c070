"""The CSV reference adapter: CIS extract, MDM interval dump, legacy IDs, bad rows, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from iesnode.adapters import (
    AdapterError,
    CsvAdapter,
    CsvConfig,
    CustomerInformation,
    MeterData,
    Reading,
)

IST = timezone(timedelta(hours=5, minutes=30))

CIS = """consumer_id,connection_id,sanctioned_load,tariff_category,meters
CN-001,CONN-1,5.5,LT-1 Domestic,M1;M2
CN-002,CONN-2,3,LT-2 Commercial, M3 ;
X9,CONN-9,0.25,LT-1 Domestic,
"""

MDM = """meter,start,minutes,kwh,obis,flag
M1,2026-05-04T09:00:00+05:30,15,1.25,1.0.1.8.0.255,A
M1,2026-05-04T09:15:00+05:30,15,0.5,1-0:1.8.0*255,E
M1,2026-05-04T09:45:00+05:30,15,0.75,1.8.0,
M1,2026-05-04T09:00:00+05:30,15,0.1,2.8.0,A
M1,2026-05-04T10:00:00+05:30,15,,1.8.0,A
M1,2026-05-04T10:15:00+05:30,15,9,1.8.0,M
"""

IDS = """utility = "discom.example"
[vars]
domain = "ies.discom.example"
[[rules]]
name = "cis-consumer"
scheme = "CONSUMER_NUMBER"
local = 'CN-(?P<no>[0-9]+)'
reference = "did:web:{domain}:consumers:{no}"
"""

READ_COLUMNS = {
    "value": "kwh",
    "length": "minutes",
    "direction": "obis",
    "quality": "flag",
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write one file under tmp_path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def adapter(tmp_path: Path, cis: str = CIS, mdm: str = MDM, **extra: Any) -> CsvAdapter:
    """A CSV adapter over the given CIS and MDM texts."""
    config: dict[str, Any] = {
        "consumers": {"path": write(tmp_path, "cis.csv", cis)},
        "readings": {"path": write(tmp_path, "mdm.csv", mdm), "columns": READ_COLUMNS},
        "legacy_ids": write(tmp_path, "ids.toml", IDS),
    }
    for key, value in extra.items():
        if key in config and isinstance(value, dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return CsvAdapter(CsvConfig.model_validate(config))


def at(hour: int, minute: int) -> datetime:
    """A time on the test day, in IST."""
    return datetime(2026, 5, 4, hour, minute, tzinfo=IST)


def shape(readings: list[Reading]) -> list[tuple[str, int | None, str]]:
    """(start HH:MM, wh, quality) of each reading."""
    return [(r.start.astimezone(IST).strftime("%H:%M"), r.wh, r.quality) for r in readings]


async def test_consumers_load_with_watts_meters_and_reference(tmp_path: Path) -> None:
    """kW becomes integer W, meters are split and trimmed, the legacy map fills the reference."""
    a = adapter(tmp_path)
    assert isinstance(a, CustomerInformation)
    assert isinstance(a, MeterData)
    c = await a.consumer("CN-001")
    assert (c.connection_id, c.sanctioned_load_w, c.tariff_category) == (
        "CONN-1",
        5500,
        "LT-1 Domestic",
    )
    assert c.meters == ("M1", "M2")
    assert c.reference == "did:web:ies.discom.example:consumers:001"
    assert (await a.consumer("CN-002")).meters == ("M3",)
    assert (await a.consumer("X9")).reference is None
    assert await a.consumer("did:web:ies.discom.example:consumers:001") == c
    assert await a.consumer_by_meter("M2") == c


async def test_sanctioned_load_in_watts(tmp_path: Path) -> None:
    """With sanctioned_load_unit = W the cell is taken as whole watts."""
    cis = CIS.replace("5.5", "5500").replace("0.25", "250")
    a = adapter(tmp_path, consumers={"sanctioned_load_unit": "W"}, cis=cis)
    assert (await a.consumer("CN-001")).sanctioned_load_w == 5500
    assert (await a.consumer("X9")).sanctioned_load_w == 250


async def test_unknown_consumer_and_meter(tmp_path: Path) -> None:
    """Unknown consumer and meter give their ADP codes with legacy 30004."""
    a = adapter(tmp_path)
    with pytest.raises(AdapterError) as err:
        await a.consumer("CN-404")
    assert (err.value.code, err.value.legacy_code, err.value.path) == (
        "ADP_UNKNOWN_CONSUMER", "30004", "consumer_id",
    )  # fmt: skip
    with pytest.raises(AdapterError) as err:
        await a.consumer_by_meter("M404")
    assert err.value.code == "ADP_UNKNOWN_METER"
    with pytest.raises(AdapterError) as err:
        await a.readings("M404", at(9, 0), at(10, 0))
    assert (err.value.code, err.value.path) == ("ADP_UNKNOWN_METER", "meter")


async def test_bad_consumer_row_fails_the_load_with_file_line_column(tmp_path: Path) -> None:
    """A load finer than 1 W fails the whole load, naming file:line:column."""
    with pytest.raises(AdapterError) as err:
        adapter(tmp_path, cis=CIS.replace("3,LT-2", "3.0001,LT-2"))
    assert err.value.code == "ADP_BAD_DATA"
    assert err.value.legacy_code == "31001"
    assert err.value.path == f"{tmp_path / 'cis.csv'}:3:sanctioned_load"


async def test_skip_mode_reports_and_leaves_out_bad_rows(tmp_path: Path) -> None:
    """With on_bad_row = skip the bad rows are left out and listed in problems."""
    cis = CIS + "CN-001,CONN-7,1,LT-1,M9\nCN-005,CONN-5,1,LT-1,M1\nCN-006,CONN-6\n"
    mdm = MDM + "M7,2026-05-04T09:00:00+05:30,15,1,3.8.0,A\nM7,yesterday,15,1,1.8.0,A\n"
    a = adapter(tmp_path, cis=cis, mdm=mdm, on_bad_row="skip")
    paths = [p.path.rsplit(":", 2)[-2:] for p in a.problems if p.path]
    assert paths == [
        ["5", "consumer_id"], ["6", "meters"], ["7", "sanctioned_load"],
        ["8", "obis"], ["9", "start"],
    ]  # fmt: skip
    with pytest.raises(AdapterError):
        await a.consumer("CN-005")
    assert (await a.consumer("CN-001")).connection_id == "CONN-1"
    with pytest.raises(AdapterError, match="M7"):
        await a.readings("M7", at(9, 0), at(9, 15))


async def test_missing_header_column_always_fails(tmp_path: Path) -> None:
    """A column missing from the header fails the load even in skip mode."""
    with pytest.raises(AdapterError) as err:
        adapter(tmp_path, cis=CIS.replace("tariff_category", "tariff"), on_bad_row="skip")
    assert err.value.path == f"{tmp_path / 'cis.csv'}:1:tariff_category"


async def test_missing_file_is_unavailable(tmp_path: Path) -> None:
    """A file that cannot be read is ADP_UNAVAILABLE (legacy 31002)."""
    config = CsvConfig.model_validate({"consumers": {"path": tmp_path / "nope.csv"}})
    with pytest.raises(AdapterError) as err:
        CsvAdapter(config)
    assert (err.value.code, err.value.legacy_code) == ("ADP_UNAVAILABLE", "31002")
    only_cis = CsvAdapter(
        CsvConfig.model_validate({"consumers": {"path": write(tmp_path, "c.csv", CIS)}})
    )
    with pytest.raises(AdapterError) as err:
        await only_cis.readings("M1", at(9, 0), at(10, 0))
    assert (err.value.code, err.value.path) == ("ADP_UNAVAILABLE", "readings")


async def test_readings_fill_gaps_with_missing_never_invented(tmp_path: Path) -> None:
    """Imports come back in Wh with OBIS and quality; gaps, blanks and M flags are missing."""
    a = adapter(tmp_path)
    got = await a.readings("M1", at(8, 30), at(10, 30))
    assert shape(got) == [
        ("08:30", None, "missing"), ("08:45", None, "missing"),
        ("09:00", 1250, "actual"), ("09:15", 500, "estimated"), ("09:30", None, "missing"),
        ("09:45", 750, "actual"), ("10:00", None, "missing"), ("10:15", None, "missing"),
    ]  # fmt: skip
    assert {r.obis for r in got if r.wh is not None} == {"1.0.1.8.0.255"}
    assert all(r.end - r.start == timedelta(minutes=15) for r in got)
    assert all(r.direction == "import" and r.meter == "M1" for r in got)
    export = await a.readings("M1", at(9, 0), at(9, 30), direction="export")
    assert shape(export) == [("09:00", 100, "actual"), ("09:15", None, "missing")]
    assert export[0].obis == "1.0.2.8.0.255"


async def test_window_not_on_the_grid_keeps_whole_intervals(tmp_path: Path) -> None:
    """An interval overlapping the window comes back whole; gaps align to the meter's grid."""
    got = await adapter(tmp_path).readings("M1", at(9, 10), at(9, 40))
    expected = [("09:00", 1250, "actual"), ("09:15", 500, "estimated"), ("09:30", None, "missing")]
    assert shape(got) == expected


async def test_meter_known_only_to_the_cis_is_all_missing(tmp_path: Path) -> None:
    """A CIS meter with no MDM rows gives one missing span, no invented grid."""
    got = await adapter(tmp_path).readings("M2", at(9, 0), at(10, 0))
    assert [(r.start, r.end, r.wh, r.quality) for r in got] == [
        (at(9, 0), at(10, 0), None, "missing")
    ]


async def test_wh_units_end_column_short_codes_and_naive_times(tmp_path: Path) -> None:
    """Wh values, an end column, configured short codes and naive IST timestamps."""
    mdm = (
        "meter;from;to;wh;dir\n"
        "M1;2026-05-04 09:00;2026-05-04 09:30;1200;IMP\n"
        "M1;2026-05-04 09:00;2026-05-04 09:30;300;EXP\n"
    )
    readings = {
        "path": write(tmp_path, "mdm.csv", mdm),
        "value_unit": "Wh",
        "columns": {
            "start": "from",
            "end": "to",
            "value": "wh",
            "direction": "dir",
            "quality": None,
        },
        "direction_codes": {"IMP": "import", "EXP": "export"},
    }
    config = CsvConfig.model_validate({"readings": readings, "delimiter": ";"})
    a = CsvAdapter(config)
    got = await a.readings("M1", datetime(2026, 5, 4, 3, 30, tzinfo=UTC), at(10, 0), "export")
    assert shape(got) == [("09:00", 300, "actual"), ("09:30", None, "missing")]
    assert got[0].obis is None
    assert got[0].start == at(9, 0)


async def test_iso_duration_length_column(tmp_path: Path) -> None:
    """The length column may hold an ISO 8601 duration."""
    mdm = "meter,start,minutes,kwh,obis,flag\nM1,2026-05-04T09:00:00+05:30,PT30M,2,1.8.0,A\n"
    got = await adapter(tmp_path, mdm=mdm).readings("M1", at(9, 0), at(9, 30))
    assert [(r.end, r.wh) for r in got] == [(at(9, 30), 2000)]


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("M1,2026-05-04T11:00:00+05:30,15,1,3.8.0,A", "obis"),
        ("M1,2026-05-04T11:00:00+05:30,15,1,IMP,A", "obis"),
        ("M1,2026-05-04T11:00:00+05:30,15,0.0001,1.8.0,A", "kwh"),
        ("M1,2026-05-04T11:00:00+05:30,15,-1,1.8.0,A", "kwh"),
        ("M1,2026-05-04T11:00:00+05:30,15,NaN,1.8.0,A", "kwh"),
        ("M1,2026-05-04T11:00:00+05:30,15,1,1.8.0,Q", "flag"),
        ("M1,2026-05-04T11:00:00+05:30,soon,1,1.8.0,A", "minutes"),
        ("M1,2026-05-04T11:00:00+05:30,0,1,1.8.0,A", "minutes"),
        ("M1,2026-05-04T09:00:00+05:30,15,1,1.8.0,A", "start"),
        (",2026-05-04T11:00:00+05:30,15,1,1.8.0,A", "meter"),
        ("M1,2026-05-04T11:00:00+05:30,15,1,1.8.0,A,extra", "7"),
    ],
)
def test_malformed_reading_rows(tmp_path: Path, row: str, column: str) -> None:
    """Each malformed MDM row fails the load naming its line and column."""
    with pytest.raises(AdapterError) as err:
        adapter(tmp_path, mdm=MDM + row + "\n")
    assert err.value.code == "ADP_BAD_DATA"
    assert err.value.path == f"{tmp_path / 'mdm.csv'}:8:{column}"


async def test_reload_reads_again_and_keeps_old_data_on_failure(tmp_path: Path) -> None:
    """reload() picks up new rows; a failed reload leaves the loaded data in service."""
    a = adapter(tmp_path)
    write(tmp_path, "mdm.csv", MDM + "M1,2026-05-04T09:30:00+05:30,15,2,1.8.0,A\n")
    a.reload()
    assert (await a.readings("M1", at(9, 30), at(9, 45)))[0].wh == 2000
    write(tmp_path, "mdm.csv", MDM + "M1,garbage,15,2,1.8.0,A\n")
    with pytest.raises(AdapterError):
        a.reload()
    assert (await a.readings("M1", at(9, 30), at(9, 45)))[0].wh == 2000


async def test_bad_window_is_refused(tmp_path: Path) -> None:
    """Naive or empty windows and unknown directions are programming errors."""
    a = adapter(tmp_path)
    with pytest.raises(ValueError, match="timezone"):
        await a.readings("M1", datetime(2026, 5, 4, 9), at(10, 0))
    with pytest.raises(ValueError, match="start < end"):
        await a.readings("M1", at(10, 0), at(10, 0))
    with pytest.raises(ValueError, match="direction"):
        await a.readings("M1", at(9, 0), at(10, 0), "sideways")
