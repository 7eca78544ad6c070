"""Reading a meter-data BPP's ``on_status``: what another node sends is checked, never trusted."""

from __future__ import annotations

from typing import Any

import pytest

from iesnode.errors import BusinessError
from iesnode.usecases.p2p.meter_bpp import read_meter_reply

WHERE = "message.contract.performance[0].performanceAttributes"


def reply(start: str = "2026-04-26T04:30:00Z", **row: Any) -> dict[str, Any]:
    """An ``on_status`` message with one series of one interval (``row`` overrides it)."""
    interval = {"id": 0, "wh": 1200, "quality": "actual"} | row
    attrs = {"meterId": "M1", "direction": "export", "start": start, "duration": "PT1H"}
    return {
        "contract": {"performance": [{"performanceAttributes": attrs | {"intervals": [interval]}}]}
    }


def refused_at(message: dict[str, Any]) -> str | None:
    """The path a refused reply names."""
    with pytest.raises(BusinessError) as caught:
        read_meter_reply(message)
    assert caught.value.code == "P2P_BAD_MESSAGE"
    return caught.value.path


def test_a_valid_reply_is_read() -> None:
    """One actual interval: its window and Wh."""
    [series] = read_meter_reply(reply())
    assert (series.meter_id, series.direction) == ("M1", "export")
    assert [(i.start.hour, i.end.hour, i.wh) for i in series.intervals] == [(4, 5, 1200)]


@pytest.mark.parametrize("number", [10**20, 9_999 * 366 * 24])
def test_an_interval_beyond_the_calendar_is_refused_at_its_id(number: int) -> None:
    """An interval id whose window ends after the year 9999 (was an OverflowError)."""
    assert refused_at(reply(id=number)) == f"{WHERE}.intervals[0].id"


def test_a_start_outside_the_calendar_in_utc_is_refused() -> None:
    """A start that lies before the year 1 once in UTC (was an OverflowError)."""
    assert refused_at(reply(start="0001-01-01T00:00:00+05:30")) == f"{WHERE}.start"
