"""Plain data as TOML text, for the role files :mod:`.runfiles` writes.

Covers what node settings and ``[p2p.<role>]`` tables hold (TOML 1.0): tables become
``[a.b]`` sections, lists of tables ``[[a.b]]`` arrays of tables, anything deeper inline
tables and arrays (an array of inline tables one per line); strings use JSON's escapes
(a subset of TOML's basic strings); ``None`` is left out, since TOML has no null and
every such setting defaults to none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["toml_text"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_text(doc: Mapping[str, Any]) -> str:
    """``doc`` as a TOML document."""
    lines: list[str] = []
    _table(lines, (), doc)
    return "\n".join(lines).strip() + "\n"


def _string(value: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL, which TOML also wants escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _dotted(path: Sequence[str]) -> str:
    return ".".join(_key(p) for p in path)


def _is_table_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _pairs(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_inline(v)}" for k, v in table.items() if v is not None]


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    plain = {
        k: v
        for k, v in table.items()
        if v is not None and not isinstance(v, Mapping) and not _is_table_list(v)
    }
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (plain or not table):
        lines += ["", f"[{_dotted(path)}]"]
    lines += _pairs(plain)
    for name, sub in nested.items():
        _table(lines, (*path, name), sub)
    for name, value in table.items():
        if _is_table_list(value):
            for item in value:
                lines += ["", f"[[{_dotted((*path, name))}]]", *_pairs(item)]


def _inline(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return _string(str(value))
    if isinstance(value, Mapping):
        return "{ " + ", ".join(_pairs(value)) + " }"
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        return "[\n" + "".join(f"  {_inline(v)},\n" for v in value) + "]"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")
