"""Compile Rego modules once, evaluate entrypoints from the compiled bundle.

``research/trust-layer.md`` section 4.1 (regopy 1.5.2): every module passes the
v1 gate (:func:`iesnode.policy.syntax.check_v1`), then one ``Interpreter`` with
``strict_built_in_errors`` on (an unsupported or failing built-in is an error, not
a silent undefined) gets the modules and data and ``build(None, entrypoints)``
runs once; evaluations go through ``query_bundle_entrypoint`` (the fastest path,
about 63 µs for a small policy). Time is never read inside a policy: callers pass
``input.now_ns`` (``time.parse_rfc3339_ns`` is buggy in regopy).

Guards around regopy's rough edges: integers outside int64 wrap silently inside
the engine, so input and data are checked to be plain JSON within int64 first
(``POL_INPUT``); runtime errors come back as an error output without raising, and
some engine faults as an "ok" output that is not JSON; both become ``POL_RUNTIME``.

The input document is built by :func:`iesnode.policy.input_doc.input_document` (the
same document as regopy's own conversion, in half the time).

Thread-safety: a :class:`CompiledPolicy` owns one ``Interpreter`` whose input is
state (``set_input`` then query), so :meth:`CompiledPolicy.evaluate` holds a lock
for the set-and-query pair. A small policy evaluates in well under a millisecond; a
realistic network pack takes milliseconds (``bench/RESULTS.md``, "Policy decisions"),
which is why the network pipeline evaluates in a worker thread (regopy releases the GIL);
for parallel evaluation compile one policy per thread.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from regopy import (  # type: ignore[import-untyped]  # regopy ships no py.typed
    Bundle,
    Interpreter,
    LogLevel,
    Node,
    RegoError,
)

from iesnode.policy.errors import PolicyError
from iesnode.policy.input_doc import input_document
from iesnode.policy.syntax import check_v1

__all__ = ["CompiledPolicy", "Violation", "compile_policy", "violations"]

log = structlog.get_logger(__name__)

_INT64 = (-(2**63), 2**63 - 1)
_ERRORMSG = re.compile(r"\(errormsg (\d+):")
_LOCATION = re.compile(r"\(error (\d+):")
_AST_LOCATION = re.compile(r"\(rego-[A-Za-z]+ (\d+):")


class CompiledPolicy:
    """The modules and data of one pack revision, built into one regopy bundle."""

    def __init__(
        self,
        interpreter: Interpreter,
        bundle: Bundle,
        entrypoints: Sequence[str],
        sources: Mapping[str, str],
    ) -> None:
        self._interpreter = interpreter
        self._bundle = bundle
        self._sources = dict(sources)
        self._lock = threading.Lock()
        self.entrypoints: tuple[str, ...] = tuple(entrypoints)

    def evaluate(self, entrypoint: str, input: Mapping[str, Any]) -> Any:
        """The entrypoint's value for ``input`` as plain JSON values, or None when undefined.

        Raises ``PolicyError``: ``POL_INPUT`` for input that is not plain JSON within
        int64, ``POL_RUNTIME`` for an unknown entrypoint or any evaluation error.
        """
        if entrypoint not in self.entrypoints:
            raise PolicyError("POL_RUNTIME", f"entrypoint {entrypoint!r} was not compiled")
        _check_json(input, "input")
        with self._lock:
            try:
                self._interpreter.set_input(input_document(dict(input)))
                output = self._interpreter.query_bundle_entrypoint(self._bundle, entrypoint)
            except (RegoError, ValueError) as exc:  # ValueError: an "ok" output that is no JSON
                raise PolicyError(
                    "POL_RUNTIME", f"evaluation of {entrypoint} failed: {exc}"
                ) from exc
            if not output.ok():
                texts = _error_texts(output.node())
                prefix = f"evaluation of {entrypoint} failed: "
                raise _located("POL_RUNTIME", texts, self._sources, None, prefix=prefix)
        if len(output) == 0 or not output[0].expressions:
            return None
        return output[0].expressions[0]


_WHOLE_INPUT_OVERRIDE = re.compile(r"\bwith\s+input\s+as\b")


def compile_policy(
    modules: Mapping[str, str], data: Mapping[str, Any], entrypoints: Sequence[str]
) -> CompiledPolicy:
    """Check every module is Rego v1, then build them with ``data`` for ``entrypoints``.

    ``modules`` maps a module name (e.g. ``policy/network.rego``) to its source;
    entrypoints are rule paths like ``ies/p2p/network/violations``. Raises
    ``PolicyError``: ``POL_V0_SYNTAX``/``POL_SYNTAX``/``POL_COMPILE`` naming the module
    and line, ``POL_INPUT`` for data that is not plain JSON within int64.
    """
    if not entrypoints:
        raise PolicyError("POL_COMPILE", "no entrypoints to compile")
    for name, source in modules.items():
        check_v1(name, source)
        crash = _WHOLE_INPUT_OVERRIDE.search(source)
        if crash is not None:  # regopy 1.5.2 aborts the whole process on this form
            line = source.count("\n", 0, crash.start()) + 1
            raise PolicyError(
                "POL_COMPILE",
                "'with input as ...' (replacing the whole input) is not supported; "
                "override fields instead: 'with input.<path> as <value>'",
                module=name,
                line=line,
            )
    _check_json(data, "data")
    interpreter = Interpreter()
    interpreter.log_level = LogLevel.NONE  # errors come back as RegoError, not on stdout
    interpreter.strict_built_in_errors = True
    for name, source in modules.items():
        try:
            interpreter.add_module(name, source)
        except RegoError as exc:
            raise _located("POL_SYNTAX", str(exc), modules, name) from exc
    try:
        interpreter.add_data(dict(data))
        bundle = interpreter.build(None, list(entrypoints))
    except RegoError as exc:
        raise _located("POL_COMPILE", str(exc), modules, None) from exc
    if not bundle.ok():
        raise PolicyError("POL_COMPILE", "regopy built no bundle")
    log.info("policy.compiled", modules=len(modules), entrypoints=list(entrypoints))
    return CompiledPolicy(interpreter, bundle, entrypoints, modules)


def _located(
    code: str, text: str, modules: Mapping[str, str], fallback: str | None, *, prefix: str = ""
) -> PolicyError:
    """A ``PolicyError`` from regopy's error text: message, module and 1-based line."""
    module, line = fallback, None
    location = _LOCATION.search(text) or _AST_LOCATION.search(text)
    if location is not None:
        start = location.end()
        name = text[start : start + int(location.group(1))]
        parts = text[start + len(name) :].split("|")
        if name in modules and len(parts) > 1 and parts[1].isdigit():
            module = name
            line = modules[name][: int(parts[1])].count("\n") + 1
    reason = _messages(text) or text.strip() or "unknown engine error"
    return PolicyError(code, prefix + reason, module=module, line=line)


def _messages(text: str) -> str:
    """The ``errormsg`` strings of a rego-cpp error AST, joined."""
    found = []
    for match in _ERRORMSG.finditer(text):
        start = match.end()
        found.append(text[start : start + int(match.group(1))])
    return "; ".join(found)


def _error_texts(node: Node) -> str:
    """The s-expression text of every error in an error output's ``errorseq``."""
    return "\n".join(node.at(index).json() for index in range(len(node))) or "(error)"


def _check_json(value: Any, path: str) -> None:
    """Refuse anything the engine would mangle: non-JSON types, NaN, ints beyond int64."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise PolicyError("POL_INPUT", f"integer {value} is outside int64", path=path)
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PolicyError("POL_INPUT", f"{value} is not a JSON number", path=path)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PolicyError("POL_INPUT", f"object key {key!r} is not a string", path=path)
            _check_json(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    raise PolicyError("POL_INPUT", f"{type(value).__name__} is not a JSON value", path=path)


@dataclass(frozen=True, slots=True)
class Violation:
    """One violated rule, as an enforcement entrypoint returns it (the shared contract)."""

    rule: str
    """The intent anchor, e.g. ``no-self-trade``."""
    title: str
    message: str
    """Specific, with the offending values."""
    intent: str
    """``intent.md#<anchor>``."""


_VIOLATION_KEYS = ("rule", "title", "message", "intent")


def violations(result: Any) -> list[Violation]:
    """Validate an enforcement result (a set of violation objects); empty means allowed.

    Raises ``PolicyError(POL_SHAPE)`` for anything else: undefined (None), not a
    list, an item that is not an object or lacks a non-empty string ``rule``,
    ``title``, ``message`` or ``intent``. Extra keys of an item are ignored.
    """
    if not isinstance(result, list):
        shape = "undefined" if result is None else type(result).__name__
        raise PolicyError("POL_SHAPE", f"expected a set of violations, got {shape}")
    found: list[Violation] = []
    for index, item in enumerate(result):
        if not isinstance(item, dict):
            raise PolicyError(
                "POL_SHAPE", f"violation is {type(item).__name__}, not an object", path=f"[{index}]"
            )
        for key in _VIOLATION_KEYS:
            value = item.get(key)
            if not isinstance(value, str) or not value:
                raise PolicyError(
                    "POL_SHAPE",
                    f"violation lacks a non-empty string {key!r}",
                    path=f"[{index}].{key}",
                )
        found.append(Violation(item["rule"], item["title"], item["message"], item["intent"]))
    return found
