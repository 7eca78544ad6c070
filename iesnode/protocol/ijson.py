"""Decoding bodies as I-JSON (RFC 7493): UTF-8, real JSON numbers, no lone UTF-16 surrogates.

Python's ``json`` is laxer than the wire format in ways that bite later, after an ACK:

* ``json.loads(bytes)`` guesses UTF-16 and UTF-32 and skips a UTF-8 byte order mark,
  while a job stores the body as UTF-8 text (RFC 8259 section 8.1: networked JSON is
  UTF-8, with no byte order mark). :func:`decode_body` decodes UTF-8 itself.
* It reads ``NaN``, ``Infinity`` and ``-Infinity``, which JSON has no such numbers for
  (RFC 8259 section 6), and fails with a bare ``ValueError`` on an integer longer than
  ``sys.get_int_max_str_digits()``. Both are refused naming the number's path; finding
  the path takes a second, tolerant decode, run only for such a body.
* JSON (RFC 8259 section 8.2) lets a string escape a lone surrogate (``"\\ud800"``);
  I-JSON (RFC 7493 section 2.1) forbids it. Python decodes it into a ``str`` that cannot
  be encoded back to UTF-8, so a handler echoing one fails when it signs its callback,
  and a store fails when it writes it. Valid surrogate *pairs* (``"\\ud83d\\ude00"``)
  decode to one code point and pass. The scan runs only when the raw body holds a
  surrogate escape at all, so ordinary bodies cost one byte search.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from iesnode.protocol.schema import dotted_path

__all__ = ["NotIJson", "decode_body", "lone_surrogate_path"]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotIJson(ValueError):
    """A body that is not I-JSON: ``path`` names where, ``doc`` is what was read (or None)."""

    def __init__(self, message: str, path: str = "$", doc: Any = None) -> None:
        super().__init__(message)
        self.path = path
        self.doc = doc


class _Unreadable:
    """Stands, in the tolerant decode, for a number literal the strict decode refused."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _refuse_constant(text: str) -> Any:
    raise NotIJson(f"{text} is not a JSON number")


_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)


def _integer(text: str) -> Any:
    try:
        return int(text)
    except ValueError:  # longer than sys.get_int_max_str_digits()
        return _Unreadable(text)


_TOLERANT = json.JSONDecoder(parse_constant=_Unreadable, parse_int=_integer)


def decode_body(body: bytes) -> Any:
    """Decode a request body; raise :class:`NotIJson` saying what is wrong, and where."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotIJson(f"body is not UTF-8 at byte {exc.start}") from exc
    if text.startswith("\ufeff"):
        raise NotIJson("body starts with a byte order mark (not sent with JSON, RFC 8259 8.1)")
    try:
        doc = _STRICT.decode(text)
    except json.JSONDecodeError as exc:
        raise NotIJson(
            f"body is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise NotIJson("JSON nests too deeply") from exc
    except ValueError as exc:  # NaN or an infinity, or an integer too long to read
        raise _unreadable_number(text) from exc
    if (where := lone_surrogate_path(body, doc)) is not None:
        why = f"{where} escapes a lone UTF-16 surrogate (not I-JSON, RFC 7493 section 2.1)"
        raise NotIJson(why, where, doc)
    return doc


def _unreadable_number(text: str) -> NotIJson:
    """Name the first number literal the strict decode refused, decoding ``text`` again."""
    try:
        doc = _TOLERANT.decode(text)
    except (ValueError, RecursionError):  # broken further on, too: say only that
        return NotIJson("body holds a number that is not a JSON number")
    found = _find(doc, lambda value: isinstance(value, _Unreadable))
    if found is None:  # cannot happen: the strict decode refused some number
        return NotIJson("body holds a number that is not a JSON number", "$", doc)
    where, value = dotted_path(found[0]), found[1]
    assert isinstance(value, _Unreadable)
    what = "the body" if where == "$" else where
    if value.text.lstrip("-").isdigit():
        why = f"{what} is an integer of {len(value.text)} characters, too long to read"
    else:
        why = f"{what} is {value.text}, which is not a JSON number (RFC 8259 section 6)"
    return NotIJson(why, where, doc)


def _find(doc: Any, bad: Callable[[Any], bool]) -> tuple[list[str | int], Any] | None:
    """The first value (or object key) in document order that is ``bad``: its path, and it.

    A bad key is reported at the object holding it. Runs without recursion (the depth is
    the sender's).
    """
    pending: list[tuple[Any, list[str | int]]] = [(doc, [])]
    while pending:
        value, parts = pending.pop()
        if bad(value):
            return parts, value
        if isinstance(value, dict):
            if any(bad(key) for key in value):
                return parts, value
            pending += reversed([(item, [*parts, key]) for key, item in value.items()])
        elif isinstance(value, list):
            pending += reversed([(item, [*parts, n]) for n, item in enumerate(value)])
    return None


def _has_surrogate(value: Any) -> bool:
    return isinstance(value, str) and _SURROGATE.search(value) is not None


def lone_surrogate_path(body: bytes, doc: Any) -> str | None:
    """The path (as NACKs write it) of the first string in ``doc`` holding a lone surrogate,
    or of the object whose key holds one; None if there is none. ``body`` is the raw text
    ``doc`` was decoded from."""
    if b"\\u" not in body or _SURROGATE_ESCAPE.search(body) is None:
        return None
    found = _find(doc, _has_surrogate)
    return None if found is None else dotted_path(found[0])
