"""ISO 8601 durations as used by the Beckn ``context.ttl`` field (e.g. ``PT30S``, ``P1D``).

Calendar units have no fixed length; like other Beckn stacks we count a month as
30 days and a year as 365 days, which is only ever used to bound message validity.
"""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration"]

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:\.\d+)?)Y)?(?:(?P<months>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.ASCII,  # only 0-9 are digits in ISO 8601, not other scripts' digits
)
_SECONDS = {
    "years": 365 * 86400.0,
    "months": 30 * 86400.0,
    "weeks": 7 * 86400.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
}


def parse_duration(text: str) -> float:
    """Return the duration in seconds; raise ``ValueError`` naming the bad input."""
    match = _DURATION.match(text.strip().upper())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'PT30S'")
    return sum(float(v) * _SECONDS[k] for k, v in match.groupdict().items() if v is not None)


def format_duration(seconds: float) -> str:
    """Render whole seconds as ``PT{n}S`` (or ``PT{n}.{f}S``), the form Beckn peers expect."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if float(seconds).is_integer():
        return f"PT{int(seconds)}S"
    return f"PT{seconds:.3f}".rstrip("0").rstrip(".") + "S"
