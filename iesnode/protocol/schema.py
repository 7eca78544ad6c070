"""Compiled JSON Schema validators for Beckn bodies, one per (dialect, action).

The schemas live in ``protocol_specs/beckn`` (JSON Schema draft 2020-12; its
README names the spec each file follows): ``<dialect>/endpoints.json`` has one
``$defs`` entry per endpoint, binding the dialect's envelope, its request or
callback context with ``action`` fixed, and the action's message (Beckn v2.0.0
LTS ``beckn.yaml`` paths, Beckn v1.1.1 ``transaction.yaml`` paths, v0.9.4 flat
context).

Each endpoint is compiled once, twice over: into a plain predicate
(:func:`compile_predicate`, the hot path, about twenty times faster than a
``jsonschema`` pass) and into a ``Draft202012Validator`` that is only asked to
explain a body the predicate refused. The most relevant error becomes a
:class:`~iesnode.errors.RequestRejected` with a dotted path and a plain sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import structlog
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from iesnode.errors import ConfigError, RequestRejected, UnknownAction
from iesnode.model.envelope import Dialect
from iesnode.protocol.predicate import Predicate, compile_predicate

__all__ = ["SchemaRegistry", "dotted_path"]

log = structlog.get_logger(__name__)


_SPEC_DIRS: Mapping[Dialect, str] = {
    Dialect.V2: "beckn/v2",
    Dialect.V1: "beckn/v1",
    Dialect.V09: "beckn/v0.9",
}


def _default_root() -> Path:
    """``protocol_specs/`` of the source checkout the package runs from."""
    return Path(__file__).resolve().parents[2] / "protocol_specs"


def _load_resources(root: Path) -> Registry[Any]:
    """Every ``*.json`` under ``root`` as a draft 2020-12 resource, keyed by its file URI."""
    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted(root.rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.resolve().as_uri(), DRAFT202012.create_resource(contents)))
    return Registry().with_resources(resources)


class _Endpoint:
    """The two compiled forms of one endpoint's schema."""

    __slots__ = ("check", "explainer")

    def __init__(self, check: Predicate, explainer: Draft202012Validator) -> None:
        self.check = check
        self.explainer = explainer


class SchemaRegistry:
    """The compiled endpoint validators of every dialect."""

    def __init__(self, endpoints: Mapping[tuple[Dialect, str], _Endpoint]) -> None:
        self._endpoints = dict(endpoints)
        self._actions = {
            dialect: frozenset(a for d, a in self._endpoints if d is dialect) for dialect in Dialect
        }

    @classmethod
    def load(cls, root: Path | None = None) -> SchemaRegistry:
        """Read and compile the schemas under ``root`` (default: ``protocol_specs/``)."""
        root = (root or _default_root()).resolve()
        registry = _load_resources(root)
        endpoints: dict[tuple[Dialect, str], _Endpoint] = {}
        for dialect, spec_dir in _SPEC_DIRS.items():
            uri = (root / spec_dir / "endpoints.json").as_uri()
            try:
                actions = list(registry.contents(uri)["$defs"])
                for action in actions:
                    target = f"{uri}#/$defs/{action}"
                    explainer = Draft202012Validator({"$ref": target}, registry=registry)
                    check = compile_predicate(registry, target)
                    endpoints[dialect, action] = _Endpoint(check, explainer)
            except (Unresolvable, KeyError, re.error, RecursionError) as exc:
                raise ConfigError(f"cannot compile {uri}: {exc!r}") from exc
        return cls(endpoints)

    def actions(self, dialect: Dialect) -> frozenset[str]:
        """Every action (requests and ``on_*`` callbacks) the dialect has an endpoint for."""
        return self._actions[dialect]

    def validate(self, dialect: Dialect, action: str, doc: object) -> None:
        """Check a decoded body against the endpoint's schema; raise ``RequestRejected`` if not."""
        endpoint = self._endpoints.get((dialect, action))
        if endpoint is None:
            raise UnknownAction(
                "CTX_UNKNOWN_ACTION",
                f"there is no /{action} endpoint in Beckn {dialect.value}",
                error_type="CONTEXT-ERROR",
            )
        if endpoint.check(doc):
            return
        try:
            rejection = _explain(action, endpoint.explainer.iter_errors(doc))
        except RecursionError:
            rejection = RequestRejected(
                "SCH_VALIDATION_FAILED",
                f"the body does not fit the /{action} schema and is nested too deeply to say where",
                path="$",
                error_type="JSON-SCHEMA-ERROR",
            )
        if rejection is None:
            log.warning("schema_predicate_disagrees", dialect=dialect.value, action=action)
            return
        raise rejection


_VALIDATOR_RANK = {"type": 0, "required": 1, "enum": 2, "const": 2}
_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_SHOWN_CHARS = 40


def _explain(action: str, errors: Iterable[ValidationError]) -> RequestRejected | None:
    """The one error to report: context first, then the shallowest, then by rule and path."""
    ranked = [_Explained(action, error) for error in errors]
    if not ranked:
        return None
    best = min(ranked, key=lambda e: e.rank)
    return RequestRejected(
        best.code, best.message, path=best.path, legacy_code="30000", error_type=best.error_type
    )


class _Explained:
    """One jsonschema error put in protocol terms: code, dotted path, plain sentence."""

    def __init__(self, action: str, error: ValidationError) -> None:
        parts: list[str | int] = list(error.absolute_path)
        if error.validator == "required":
            parts.append(_missing_property(error))
        self.path = dotted_path(parts)
        in_context = bool(parts) and parts[0] == "context"
        is_action = parts[:2] == ["context", "action"]
        if not in_context:
            self.code, self.error_type = "SCH_VALIDATION_FAILED", "JSON-SCHEMA-ERROR"
        elif error.validator == "required":
            self.code, self.error_type = "CTX_MISSING_FIELD", "CONTEXT-ERROR"
        elif is_action and error.validator in ("enum", "const"):
            self.code, self.error_type = "CTX_ACTION_MISMATCH", "CONTEXT-ERROR"
        else:
            self.code, self.error_type = "CTX_INVALID_FIELD", "CONTEXT-ERROR"
        if self.code == "CTX_ACTION_MISMATCH":
            self.message = (
                f"context.action must be {action!r} on the /{action} endpoint, "
                f"not {_shown(error.instance)}"
            )
        else:
            self.message = _sentence(self.path, error)
        area = (0 if len(parts) <= 1 or is_action else 1) if in_context else 2
        rule_rank = _VALIDATOR_RANK.get(str(error.validator), 3)
        self.rank = (area, len(parts), rule_rank, self.path, self.message)


def _missing_property(error: ValidationError) -> str:
    """Name of the property a ``required`` error is about."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    names = error.validator_value if isinstance(error.validator_value, list) else []
    missing = [p for p in names if p not in instance]
    for name in missing:
        if error.message == f"{name!r} is a required property":
            return str(name)
    return str(missing[0]) if missing else "?"


def dotted_path(parts: Iterable[str | int]) -> str:
    """Write a JSON path the way NACKs show it: ``message.contract.commitments[0].id``.

    Keys that are not identifiers are written as ``["key"]``; the root is ``$``.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "$"


def _shown(value: object) -> str:
    """A short JSON excerpt of a value, never the whole instance."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _kind_words(kinds: object) -> str:
    names = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else []
    return " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names) or "of another type"


def _sentence(path: str, error: ValidationError) -> str:
    """Say which rule failed, in plain words."""
    where = "the body" if path == "$" else path
    rule, value = error.validator, error.validator_value
    if rule == "required":
        return f"{where} is required"
    if rule == "type":
        return f"{where} must be {_kind_words(value)}"
    if rule in ("enum", "const"):
        allowed = value if isinstance(value, list) else [value]
        choices = " or ".join(_shown(v) for v in allowed[:5])
        return f"{where} must be {choices}, not {_shown(error.instance)}"
    if rule == "pattern":
        hint = error.schema.get("description") if isinstance(error.schema, dict) else None
        return f"{where} must be {hint}" if hint else f"{where} must match {value}"
    if rule == "minLength":
        return f"{where} must not be empty" if value == 1 else f"{where} is too short"
    if rule == "minItems":
        return f"{where} must have at least {value} item{'s' if value != 1 else ''}"
    if rule == "minimum":
        return f"{where} must be at least {value}"
    return f"{where} breaks the {rule!r} rule of its schema"
