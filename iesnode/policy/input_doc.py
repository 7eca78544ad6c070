"""The decision input as a regopy input document, built in fewer Python steps.

regopy 1.5.2 (``research/trust-layer.md`` section 4.1) builds an input document node by
node through its C API (``regoNewInput``, ``regoInputString`` ... ``regoInputObject``),
testing each value against ``collections.abc`` types on the way: about 1.2 ms for a 5 kB
P2P decision input, some 15 % of a network decision once the pack is fast. For plain JSON
values (``dict`` with ``str`` keys, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``: what :meth:`iesnode.policy.engine.CompiledPolicy.evaluate` admits, tuples and
other mappings aside) this module makes the same C calls in the same order, dispatching on
the exact type, so the engine receives the same document about twice as fast. Any other
value, and a regopy without these entry points, goes through regopy's own
:class:`regopy.Input`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regopy import Input, RegoError  # type: ignore[import-untyped]  # regopy ships no py.typed

__all__ = ["input_document"]

_Call = Callable[..., int]


class _Calls:
    """The C entry points of regopy's shared library used to build an input document."""

    def __init__(self, lib: Any) -> None:
        self.new: Callable[[], int] = lib.regoNewInput
        self.free: Callable[[int], None] = lib.regoFreeInput
        self.string: _Call = lib.regoInputString
        self.integer: _Call = lib.regoInputInt
        self.number: _Call = lib.regoInputFloat
        self.boolean: _Call = lib.regoInputBoolean
        self.null: _Call = lib.regoInputNull
        self.item: _Call = lib.regoInputObjectItem
        self.object: _Call = lib.regoInputObject
        self.array: _Call = lib.regoInputArray


def _load() -> _Calls | None:
    try:
        from regopy import rego_shared

        return _Calls(rego_shared.rego)
    except (ImportError, AttributeError):  # another regopy layout: use its own Input
        return None


_C = _load()


class _NotPlainJson(Exception):
    """A value this module does not convert (regopy's Input converts it instead)."""


class _BuiltInput(Input):  # type: ignore[misc]  # regopy ships no py.typed
    """An :class:`regopy.Input` around a document built here (``Input.__del__`` frees it)."""

    def __init__(self, impl: int) -> None:
        self._impl = impl


def input_document(value: Any) -> Input:
    """``value`` (plain JSON, checked by the caller) as an input document for ``set_input``."""
    calls = _C
    if calls is None:
        return Input(value)
    handle = calls.new()
    if not handle:
        return Input(value)
    try:
        _add(calls, handle, value)
    except _NotPlainJson:
        calls.free(handle)
        return Input(value)
    except BaseException:
        calls.free(handle)
        raise
    return _BuiltInput(handle)


def _add(c: _Calls, handle: int, value: Any) -> None:
    """Append ``value`` to the document as regopy's ``rego_input_from_value`` does."""
    kind = type(value)
    if kind is str:
        code = c.string(handle, value.encode("utf-8"))
    elif kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlainJson
            _check(c.string(handle, key.encode("utf-8")))
            _add(c, handle, item)
            _check(c.item(handle))
        code = c.object(handle, len(value))
    elif kind is list:
        for item in value:
            _add(c, handle, item)
        code = c.array(handle, len(value))
    elif kind is bool:
        code = c.boolean(handle, value)
    elif kind is int:
        code = c.integer(handle, value)
    elif kind is float:
        code = c.number(handle, value)
    elif value is None:
        code = c.null(handle)
    else:
        raise _NotPlainJson
    _check(code)


def _check(code: int) -> None:
    if code != 0:
        raise RegoError("Unable to create input", code)
