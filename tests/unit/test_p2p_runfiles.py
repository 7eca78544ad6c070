"""The run directory of the P2P roles as processes: TOML text that reads back as written,
every role's file loading as its role, the sample exports moved to the run's day."""

from __future__ import annotations

import csv
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iesnode.usecases.p2p.process import load_role
from iesnode.usecases.p2p.runfiles import write_run
from iesnode.usecases.p2p.scenario import DAY, DayScenario
from iesnode.usecases.p2p.toml_text import toml_text

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
SCALARS = st.one_of(
    TEXT,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
TABLES = st.recursive(
    st.dictionaries(TEXT, VALUES, max_size=4),
    lambda inner: st.dictionaries(TEXT, inner | st.lists(inner, min_size=1, max_size=2)),
    max_leaves=8,
)


@given(TABLES)
def test_toml_text_reads_back_as_written(doc: dict[str, Any]) -> None:
    """Any nesting of tables, arrays of tables, arrays and scalars survives tomllib."""
    assert tomllib.loads(toml_text(doc)) == doc


def test_none_is_left_out() -> None:
    """TOML has no null: a None setting is simply absent."""
    assert tomllib.loads(toml_text({"node": {"port": 8080, "public_url": None}})) == {
        "node": {"port": 8080}
    }


def test_every_role_file_loads_as_its_role(tmp_path: Path) -> None:
    """Each written file is a valid process file: node settings plus its [p2p.<role>] table."""
    layout = write_run(DayScenario.load(), tmp_path)
    loaded = {
        r.subscriber_id: type(load_role(r.path)[1]).__name__
        for r in layout.roles
        if r.role != "gateway"
    }
    assert loaded == {
        "mdm.bescom.test": "MeterDataBpp",
        "mdm.hescom.test": "MeterDataBpp",
        "BESCOM-KA": "LedgerProvider",
        "HESCOM-KA": "LedgerProvider",
        "sunshare.test": "SellerPlatform",
        "rooftop-exchange.test": "SellerPlatform",
        "powerbuy.test": "BuyerPlatform",
        "greenbuy.test": "BuyerPlatform",
    }
    assert len({r.url for r in layout.roles}) == len(layout.roles)


def test_exports_are_moved_to_the_run_day(tmp_path: Path) -> None:
    """Every MDM interval of the sample day lands on the run's day, the readings unchanged."""
    day = date(2027, 1, 2)
    layout = write_run(DayScenario.load().on_day(day), tmp_path, exports_day=DAY)
    moved = tmp_path / "data" / "bescom" / "interval_readings.csv"
    sample = layout.scenario.discoms["BESCOM-KA"].data / "interval_readings.csv"
    with moved.open(encoding="utf-8") as new, sample.open(encoding="utf-8") as old:
        pairs = list(zip(csv.DictReader(old), csv.DictReader(new), strict=True))
    assert {row["interval_start"][:10] for _, row in pairs} == {day.isoformat()}
    assert all(a["kwh"] == b["kwh"] for a, b in pairs)
    assert layout.scenario.purchases[0].slots[0].start.date() == day
    assert layout.scenario.trading_at.date() == day - timedelta(days=1)
