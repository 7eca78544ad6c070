"""I-JSON text checks on decoded bodies: no lone UTF-16 surrogates.

JSON (RFC 8259 section 8.2) lets a string escape a lone surrogate (``"\\ud800"``) and
leaves what a receiver does with it unpredictable; I-JSON (RFC 7493 section 2.1)
forbids such strings. Python decodes them into ``str`` values that cannot be encoded
back to UTF-8, so a handler echoing one fails when it signs its callback, and a store
fails when it writes it. The node refuses them at the edge instead, naming the string.

Valid surrogate *pairs* (``"\\ud83d\\ude00"``) decode to one code point and pass. The
scan runs only when the raw body holds a surrogate escape at all, so ordinary bodies
cost one byte search.
"""

from __future__ import annotations

import re
from typing import Any

from iesnode.protocol.schema import dotted_path

__all__ = ["lone_surrogate_path"]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _find(doc: Any) -> list[str | int] | None:
    """Depth first, in document order, without recursion (the depth is the sender's)."""
    pending: list[tuple[Any, list[str | int]]] = [(doc, [])]
    while pending:
        value, parts = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return parts
        elif isinstance(value, dict):
            if any(_SURROGATE.search(key) for key in value):
                return parts
            pending += reversed([(item, [*parts, key]) for key, item in value.items()])
        elif isinstance(value, list):
            pending += reversed([(item, [*parts, n]) for n, item in enumerate(value)])
    return None


def lone_surrogate_path(body: bytes, doc: Any) -> str | None:
    """The path (as NACKs write it) of the first string in ``doc`` holding a lone surrogate,
    or of the object whose key holds one; None if there is none. ``body`` is the raw text
    ``doc`` was decoded from."""
    if b"\\u" not in body or _SURROGATE_ESCAPE.search(body) is None:
        return None
    found = _find(doc)
    return None if found is None else dotted_path(found)
