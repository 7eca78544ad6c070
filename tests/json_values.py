"""Hypothesis strategy for JSON documents as ``json.loads`` returns them (64-bit integers)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["JSON_VALUES"]

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)
