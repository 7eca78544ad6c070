"""The canonical form of a decision input: RFC 8785 (JCS), big integers kept exact.

What :func:`iesnode.policy.decisions.input_digest` hashes (``research/trust-layer.md``
section 4.3). The ``rfc8785`` package serialises in pure Python (about 0.7 ms for a 5 kB
P2P decision input); for plain JSON whose object keys are ASCII, ``json.dumps`` with
sorted keys, no whitespace and no ASCII escaping writes the same bytes (RFC 8785 3.2.2.2
escapes exactly ``"``, ``\\`` and the control characters, with the short forms
``\\b \\f \\n \\r \\t`` and lowercase ``\\u00xx`` otherwise, as ``json`` does; ASCII keys
sort the same by UTF-16 code unit and by code point) except for numbers. So every
float is written by ``rfc8785`` itself (ECMAScript form: ``10`` for ``10.0``, ``1e-7``)
and every integer beyond JCS's exact range (±(2**53 - 1), e.g. ``now_ns``) as its exact
digits (JCS would need them as IEEE doubles, which would lose digits); both are put in
as marked strings and unmarked afterwards. Anything else (a non-ASCII key, a lone
surrogate, a type JSON does not have) takes the ``rfc8785`` path, which also raises
``rfc8785.CanonicalizationError`` for what JSON cannot carry.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

import rfc8785

__all__ = ["canonical_json"]

_JCS_MAX_INT = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value``, integers beyond the JCS range as exact digits.

    Raises ``rfc8785.CanonicalizationError`` (a ``ValueError``) for values JSON cannot
    carry (NaN, infinities, sets, non-string keys, lone surrogates, ...).
    """
    token = secrets.token_hex(16)
    try:
        text = json.dumps(
            _marked(value, token),
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        )
        canonical = text.encode("utf-8")
    except (_NotPlain, UnicodeEncodeError):
        canonical = rfc8785.dumps(_marked_big_ints(value, token))
    pattern = re.compile(rb'"' + token.encode() + rb':([^"]*)"')
    return pattern.sub(rb"\1", canonical)


class _NotPlain(Exception):
    """A value the ``json.dumps`` path does not write exactly as RFC 8785 does."""


def _marked(value: Any, token: str) -> Any:
    """A copy of ``value`` for ``json.dumps``: numbers in JCS form as marked strings."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return f"{token}:{value}" if abs(value) > _JCS_MAX_INT else value
    if kind is float:
        return f"{token}:{rfc8785.dumps(value).decode()}"
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise _NotPlain
            out[key] = _marked(item, token)
        return out
    if kind is list or kind is tuple:
        return [_marked(item, token) for item in value]
    raise _NotPlain


def _marked_big_ints(value: Any, token: str) -> Any:
    """A copy of ``value`` with integers beyond the JCS range as ``"<token>:<digits>"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > _JCS_MAX_INT:
        return f"{token}:{value}"
    if isinstance(value, Mapping):
        return {key: _marked_big_ints(item, token) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_marked_big_ints(item, token) for item in value]
    return value
