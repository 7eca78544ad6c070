"""A fast predicate compiler for the JSON Schema keywords our ``protocol_specs/`` use.

``jsonschema``'s validators explain failures well but cost hundreds of microseconds a
body; this module compiles a schema (JSON Schema draft 2020-12, following ``$ref``
through a ``referencing`` registry) into nested closures that only answer "valid or
not" in about ten. Any keyword it does not know is a ``ConfigError`` at load time,
so a predicate can never silently disagree with a full ``jsonschema`` pass (a
hypothesis test in ``tests/unit/test_schema.py`` checks that they agree).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from referencing import Registry

from iesnode.errors import ConfigError

__all__ = ["Predicate", "compile_predicate"]

Predicate = Callable[[object], bool]
"""True when a decoded JSON value satisfies the schema it was compiled from."""

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default"}
)
_PY_TYPES: Mapping[str, Predicate] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": lambda x: isinstance(x, int | float) and not isinstance(x, bool),
    "integer": lambda x: (
        (isinstance(x, int) and not isinstance(x, bool))
        or (isinstance(x, float) and x.is_integer())
    ),
}


def _all_of(checks: list[Predicate]) -> Predicate:
    if len(checks) == 1:
        return checks[0]

    def check(x: object) -> bool:
        for c in checks:  # noqa: SIM110 - a plain loop is measurably faster than all(genexpr)
            if not c(x):
                return False
        return True

    return check


def _type(kinds: Any) -> Predicate:
    preds = [_PY_TYPES[k] for k in ([kinds] if isinstance(kinds, str) else kinds)]
    return preds[0] if len(preds) == 1 else lambda x: any(p(x) for p in preds)


def _enum(values: Any) -> Predicate:
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"only string enums are compiled, not {values!r}")
    allowed = frozenset(values)
    return lambda x: isinstance(x, str) and x in allowed


def _required(names: Any) -> Predicate:
    keys = frozenset(names)
    return lambda x: not isinstance(x, dict) or keys.issubset(x.keys())


def _pattern(regex: Any) -> Predicate:
    search = re.compile(regex).search
    return lambda x: not isinstance(x, str) or search(x) is not None


def _min_length(n: Any) -> Predicate:
    return lambda x: not isinstance(x, str) or len(x) >= n


def _min_items(n: Any) -> Predicate:
    return lambda x: not isinstance(x, list) or len(x) >= n


def _minimum(n: Any) -> Predicate:
    return lambda x: isinstance(x, bool) or not isinstance(x, int | float) or x >= n


_SIMPLE: Mapping[str, Callable[[Any], Predicate]] = {
    "type": _type,
    "enum": _enum,
    "const": lambda v: _enum([v]),
    "required": _required,
    "pattern": _pattern,
    "minLength": _min_length,
    "minItems": _min_items,
    "minimum": _minimum,
}


class _Compiler:
    """Turns the keywords our schemas use into nested closures, following ``$ref``s."""

    def compile(self, schema: Any, resolver: Any) -> Predicate:
        if schema is True or schema == {}:
            return lambda _: True
        if schema is False:
            return lambda _: False
        if not isinstance(schema, dict):
            raise ConfigError(f"cannot compile schema {schema!r}")
        checks: list[Predicate] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword in ("then", "else"):
                continue
            if keyword in _SIMPLE:
                checks.append(_SIMPLE[keyword](value))
            elif keyword == "$ref":
                resolved = resolver.lookup(value)
                checks.append(self.compile(resolved.contents, resolved.resolver))
            elif keyword == "properties":
                checks.append(self._properties(value, resolver))
            elif keyword == "items":
                checks.append(self._items(value, resolver))
            elif keyword == "allOf":
                checks.extend(self.compile(sub, resolver) for sub in value)
            elif keyword == "if":
                checks.append(self._conditional(schema, resolver))
            else:
                raise ConfigError(f"JSON Schema keyword {keyword!r} is not compiled")
        return _all_of(checks) if checks else (lambda _: True)

    def _properties(self, props: Mapping[str, Any], resolver: Any) -> Predicate:
        compiled = tuple((name, self.compile(sub, resolver)) for name, sub in props.items())

        def check(x: object) -> bool:
            if isinstance(x, dict):
                for name, sub in compiled:
                    if name in x and not sub(x[name]):
                        return False
            return True

        return check

    def _items(self, items: Any, resolver: Any) -> Predicate:
        sub = self.compile(items, resolver)

        def check(x: object) -> bool:
            if isinstance(x, list):
                for value in x:
                    if not sub(value):
                        return False
            return True

        return check

    def _conditional(self, schema: Mapping[str, Any], resolver: Any) -> Predicate:
        test = self.compile(schema["if"], resolver)
        then = self.compile(schema.get("then", True), resolver)
        other = self.compile(schema.get("else", True), resolver)
        return lambda x: then(x) if test(x) else other(x)


def compile_predicate(registry: Registry[Any], uri: str) -> Predicate:
    """Compile the schema at ``uri`` (a registered resource, optionally with a fragment).

    Supports the keywords used under ``protocol_specs/``; any other keyword is a
    :class:`~iesnode.errors.ConfigError`, so the predicate never silently
    disagrees with a full ``jsonschema`` pass.
    """
    resolved = registry.resolver().lookup(uri)
    return _Compiler().compile(resolved.contents, resolved.resolver)
