"""Lone UTF-16 surrogates in decoded JSON (I-JSON, RFC 7493 section 2.1)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iesnode.protocol.ijson import lone_surrogate_path

LONE = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()) | LONE, max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _utf8_encodable(doc: Any) -> bool:
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@given(JSON_VALUES)
def test_found_exactly_when_the_document_cannot_be_written_as_utf8(doc: Any) -> None:
    """A path is reported if and only if some string or key holds a lone surrogate."""
    body = json.dumps(doc).encode()
    decoded = json.loads(body)  # an escaped high + low pair decodes to one code point
    assert (lone_surrogate_path(body, decoded) is None) == _utf8_encodable(decoded)


def test_the_path_names_the_string() -> None:
    """The path is written the way NACKs write paths."""
    body = b'{"message": {"items": [{"id": "ok"}, {"id": "a\\udc00b"}]}}'
    assert lone_surrogate_path(body, json.loads(body)) == "message.items[1].id"


def test_a_key_with_a_surrogate_names_its_object() -> None:
    """A lone surrogate in a key is reported at the object holding the key."""
    body = b'{"message": {"\\ud800": 1}}'
    assert lone_surrogate_path(body, json.loads(body)) == "message"


def test_a_surrogate_pair_is_not_lone() -> None:
    """An escaped pair decodes to one code point and passes."""
    body = b'{"name": "\\ud83c\\udf1e"}'
    assert lone_surrogate_path(body, json.loads(body)) is None
