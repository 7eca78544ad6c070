"""ISO 8601 durations for ``context.ttl``: examples, round trip and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.protocol.duration import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT30S", 30.0),
        ("P1D", 86400.0),
        ("PT1H30M", 5400.0),
        ("P1M", 30 * 86400.0),
        ("PT0.5S", 0.5),
        ("P1W", 7 * 86400.0),
        ("P1Y", 365 * 86400.0),
        ("P1DT2H", 93600.0),
        ("pt30s", 30.0),
    ],
)
def test_parse_examples(text: str, seconds: float) -> None:
    """Each example parses to its length in seconds (a month is 30 days, as for the vector)."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"), [(30, "PT30S"), (0, "PT0S"), (0.5, "PT0.5S"), (1.25, "PT1.25S")]
)
def test_format_examples(seconds: float, text: str) -> None:
    """Seconds are written as ``PT{n}S``."""
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**12))
def test_whole_seconds_round_trip(seconds: int) -> None:
    """Formatting whole seconds and parsing them back gives the same number."""
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "30S", "PT-5S", "P1H", "P1DT", "PT1.S", "abc", "PT30S junk"]
)
def test_garbage_is_refused(text: str) -> None:
    """Text that is not an ISO 8601 duration raises ValueError naming it."""
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(text)


def test_negative_duration_cannot_be_formatted() -> None:
    """Formatting a negative number of seconds raises ValueError."""
    with pytest.raises(ValueError):
        format_duration(-1)
