"""The canonical form of decision inputs: the fast path writes exactly what RFC 8785 does."""

from __future__ import annotations

import re
from typing import Any

import pytest
import rfc8785
from hypothesis import given

from iesnode.policy.canonical import canonical_json
from tests.json_values import JSON_VALUES

_BIG = 2**53 - 1


def _reference(value: Any) -> bytes:
    """RFC 8785 by the ``rfc8785`` package alone, big integers written as exact digits."""

    def mark(v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, int) and abs(v) > _BIG:
            return f"BIG:{v}"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    return re.sub(rb'"BIG:(-?[0-9]+)"', rb"\1", rfc8785.dumps(mark(value)))


@given(JSON_VALUES)
def test_canonical_form_is_the_rfc8785_form(value: Any) -> None:
    """Any JSON value (unicode keys and strings, floats, big integers) canonicalises as RFC 8785."""
    try:
        expected = _reference(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_floats_take_the_ecmascript_form() -> None:
    """10.0 is written 10, 1e-7 as 1e-7 and -0.0 as 0, as RFC 8785 requires."""
    assert (
        canonical_json({"a": 10.0, "b": 1e-07, "c": -0.0, "d": 6.5})
        == b'{"a":10,"b":1e-7,"c":0,"d":6.5}'
    )


def test_keys_sort_by_utf16_code_units() -> None:
    """A key beyond the BMP sorts before U+E000 (UTF-16 order), unlike code point order."""
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ue000":1}'.encode()


def test_integers_beyond_the_jcs_range_stay_exact() -> None:
    """now_ns-sized integers are written as their exact digits, inside arrays and objects too."""
    assert canonical_json({"now_ns": 1_777_000_000_000_000_001, "l": [-(2**60)]}) == (
        b'{"l":[-1152921504606846976],"now_ns":1777000000000000001}'
    )


def test_control_characters_are_escaped_as_rfc8785() -> None:
    """Short escapes where RFC 8785 has them, lowercase \\u00xx otherwise; DEL and U+2028 stay."""
    value = '\b\t\n\f\r\x00\x1f\x7f\u2028"\\/'
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("bad", [float("nan"), {"s": {1, 2}}, {1: "x"}, "\ud800"])
def test_what_json_cannot_carry_is_refused(bad: Any) -> None:
    """NaN, sets, non-string keys and lone surrogates raise CanonicalizationError."""
    with pytest.raises((rfc8785.CanonicalizationError, ValueError)):
        canonical_json(bad)
