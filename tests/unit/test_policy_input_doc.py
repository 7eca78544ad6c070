"""Input documents: the fast builder hands the engine the document regopy itself builds."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from hypothesis import given, settings
from regopy import Input, Interpreter  # type: ignore[import-untyped]

from iesnode.policy.input_doc import input_document
from tests.json_values import JSON_VALUES

_INTERPRETER = Interpreter()
_INTERPRETER.add_module(
    "seen.rego", "package seen\n\ndigest := crypto.sha256(json.marshal(input))\n"
)
_BUNDLE = _INTERPRETER.build(None, ["seen/digest"])


def _seen(document: Any) -> str:
    """What the engine reads as ``input`` after ``set_input(document)``, as a digest (regopy
    cannot parse an output with raw control characters back)."""
    _INTERPRETER.set_input(document)
    return str(_INTERPRETER.query_bundle_entrypoint(_BUNDLE, "seen/digest"))


@settings(max_examples=200)
@given(JSON_VALUES)
def test_document_is_the_one_regopy_builds(value: Any) -> None:
    """For any JSON value the query reads the same input as from regopy's own Input."""
    assert _seen(input_document({"v": value})) == _seen(Input({"v": value}))


def test_values_beyond_plain_json_types_fall_back_to_regopy() -> None:
    """A tuple and a dict subclass (not plain JSON types) still give regopy's document."""
    value = {"t": (1, "a"), "o": OrderedDict([("k", 2.5)])}
    assert _seen(input_document(value)) == _seen(Input(value))


def test_int64_bounds_and_unicode_survive() -> None:
    """int64 extremes, floats and non-ASCII strings and keys read back unchanged."""
    value = {"lo": -(2**63), "hi": 2**63 - 1, "f": 6.5, "s": "₹ ünï", "ключ": [None, True]}
    assert _seen(input_document(value)) == _seen(Input(value))
