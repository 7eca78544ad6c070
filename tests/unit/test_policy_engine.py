"""The Rego engine: v1 gate, compile once, evaluate, errors, result shape, annotations."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from iesnode.policy import (
    CompiledPolicy,
    PolicyError,
    Violation,
    annotations_by_rule,
    check_v1,
    compile_policy,
    rule_annotations,
    violations,
)

GATE = """package ies.test.gate

import rego.v1

# METADATA
# title: Gate closure
# description: |
#   No trade may be placed
#   after gate closure.
# related_resources:
#   - ref: intent.md#gate-closure
#     description: the gate closure rule
violations contains v if {
	closure := data.limits.gate_closure_ns
	input.now_ns > closure
	v := {
		"rule": "gate-closure",
		"title": "Gate closure",
		"message": sprintf("now_ns %v is after gate closure %v", [input.now_ns, closure]),
		"intent": "intent.md#gate-closure",
	}
}

# METADATA
# title: Minimum quantity
# description: At least the minimum, in kWh.
# related_resources:
# - ref: "intent.md#min-quantity"
violations contains v if {
	some item in input.message.items
	minimum := data.limits.min_kwh
	item.quantity < minimum
	v := {
		"rule": "min-quantity",
		"title": "Minimum quantity",
		"message": sprintf("item %v has %v kWh, below %v", [item.id, item.quantity, minimum]),
		"intent": "intent.md#min-quantity",
	}
}

default allow := false

allow if count(violations) == 0

total := sum([item.quantity | some item in input.message.items])

units := {u | some item in input.message.items; u := item.unit}

parsed := to_number(input.text)

halved := 1 / input.divisor

only_if_flagged := true if input.flag == "on"

conflict := 1 if input.flag == "on"

conflict := 2 if input.flag == "on"
"""

ENTRYPOINTS = [
    "ies/test/gate/violations",
    "ies/test/gate/allow",
    "ies/test/gate/total",
    "ies/test/gate/units",
    "ies/test/gate/parsed",
    "ies/test/gate/halved",
    "ies/test/gate/only_if_flagged",
    "ies/test/gate/conflict",
]
DATA = {"limits": {"gate_closure_ns": 1_767_225_600_000_000_000, "min_kwh": 1}}
NOW_OK = DATA["limits"]["gate_closure_ns"] - 4 * 3600 * 10**9


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    """The gate policy compiled once for the module."""
    return compile_policy({"policy/gate.rego": GATE}, DATA, ENTRYPOINTS)


def _input(now_ns: int = NOW_OK, **extra: Any) -> dict[str, Any]:
    items = [{"id": "i1", "quantity": 5, "unit": "kWh"}, {"id": "i2", "quantity": 2, "unit": "kWh"}]
    return {"now_ns": now_ns, "message": {"items": items}, **extra}


def test_allowed_input_gives_no_violations(policy: CompiledPolicy) -> None:
    """A valid input yields an empty violation set and allow = true."""
    assert violations(policy.evaluate("ies/test/gate/violations", _input())) == []
    assert policy.evaluate("ies/test/gate/allow", _input()) is True


def test_time_logic_uses_input_now_ns(policy: CompiledPolicy) -> None:
    """One nanosecond past gate closure violates, with both values in the message."""
    late = DATA["limits"]["gate_closure_ns"] + 1
    found = violations(policy.evaluate("ies/test/gate/violations", _input(now_ns=late)))
    assert found == [
        Violation(
            rule="gate-closure",
            title="Gate closure",
            message=f"now_ns {late} is after gate closure {DATA['limits']['gate_closure_ns']}",
            intent="intent.md#gate-closure",
        )
    ]
    assert policy.evaluate("ies/test/gate/allow", _input(now_ns=late)) is False


def test_several_violations_are_all_reported(policy: CompiledPolicy) -> None:
    """Every violated rule appears in the set."""
    value = _input(now_ns=DATA["limits"]["gate_closure_ns"] + 5)
    value["message"]["items"][1]["quantity"] = 0.5
    rules = sorted(v.rule for v in violations(policy.evaluate("ies/test/gate/violations", value)))
    assert rules == ["gate-closure", "min-quantity"]


def test_computing_entrypoints_return_values(policy: CompiledPolicy) -> None:
    """Non-enforcement entrypoints return plain JSON values; sets come back as lists."""
    assert policy.evaluate("ies/test/gate/total", _input()) == 7
    assert policy.evaluate("ies/test/gate/units", _input()) == ["kWh"]


def test_undefined_result_is_none(policy: CompiledPolicy) -> None:
    """An entrypoint with no value for the input evaluates to None."""
    assert policy.evaluate("ies/test/gate/only_if_flagged", _input()) is None
    assert policy.evaluate("ies/test/gate/only_if_flagged", _input(flag="on")) is True


@pytest.mark.parametrize(
    ("entrypoint", "extra"),
    [
        ("ies/test/gate/parsed", {"text": "not a number"}),
        ("ies/test/gate/halved", {"divisor": 0}),
        ("ies/test/gate/conflict", {"flag": "on"}),
    ],
)
def test_runtime_errors_are_pol_runtime(
    policy: CompiledPolicy, entrypoint: str, extra: dict[str, Any]
) -> None:
    """Strict built-in errors, division by zero and conflicts raise POL_RUNTIME."""
    with pytest.raises(PolicyError) as caught:
        policy.evaluate(entrypoint, _input(**extra))
    assert caught.value.code == "POL_RUNTIME"
    assert entrypoint in caught.value.reason


def test_policy_still_works_after_a_runtime_error(policy: CompiledPolicy) -> None:
    """A failed evaluation leaves the compiled policy usable."""
    with pytest.raises(PolicyError):
        policy.evaluate("ies/test/gate/parsed", _input(text="x"))
    assert policy.evaluate("ies/test/gate/parsed", _input(text="42")) == 42


def test_unsupported_builtin_is_an_error_not_undefined() -> None:
    """With strict built-in errors a built-in regopy lacks fails instead of being undefined."""
    source = "package ies.strict\n\nchecked := json.match_schema({}, {})\n"
    compiled = compile_policy({"strict.rego": source}, {}, ["ies/strict/checked"])
    with pytest.raises(PolicyError) as caught:
        compiled.evaluate("ies/strict/checked", {})
    assert caught.value.code == "POL_RUNTIME"


def test_unknown_entrypoint_is_refused(policy: CompiledPolicy) -> None:
    """Only compiled entrypoints can be evaluated."""
    with pytest.raises(PolicyError) as caught:
        policy.evaluate("ies/test/gate/nope", _input())
    assert caught.value.code == "POL_RUNTIME"


@pytest.mark.parametrize(
    "bad",
    [{"now_ns": 2**63}, {"x": float("nan")}, {"x": {1, 2}}, {"x": {1: "a"}}],
)
def test_input_outside_json_or_int64_is_refused(policy: CompiledPolicy, bad: Any) -> None:
    """Input regopy would mangle (int64 wrap-around, NaN, sets, int keys) is POL_INPUT."""
    with pytest.raises(PolicyError) as caught:
        policy.evaluate("ies/test/gate/allow", bad)
    assert caught.value.code == "POL_INPUT"


def test_concurrent_evaluations_do_not_mix_inputs(policy: CompiledPolicy) -> None:
    """Threads sharing one compiled policy each get the answer for their own input."""
    failures: list[str] = []

    def run(offset: int) -> None:
        for count in range(50):
            value = _input()
            value["message"]["items"][0]["quantity"] = offset + count
            total = policy.evaluate("ies/test/gate/total", value)
            if total != offset + count + 2:
                failures.append(f"{offset}+{count}: {total}")

    threads = [threading.Thread(target=run, args=(offset * 1000,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


V0_FORMS = [
    ("allow {\n\ttrue\n}\n", 3),
    ('deny[msg] {\n\tmsg := "no"\n}\n', 3),
    ('deny[msg] if {\n\tmsg := "no"\n}\n', 3),
    ("x = 5 {\n\ttrue\n}\n", 3),
    ("f(a) = b {\n\tb := a\n}\n", 3),
    ("x := 1 if {\n\tfalse\n} else = 2 {\n\ttrue\n}\n", 5),
    ("y := 1 if {\n\tfalse\n} {\n\ttrue\n}\n", 5),
]


@pytest.mark.parametrize(("rule", "line"), V0_FORMS)
def test_v0_forms_are_rejected_with_module_and_line(rule: str, line: int) -> None:
    """Each Rego v0 body or partial-set form is POL_V0_SYNTAX at its module and line."""
    source = "package ies.old\n\n" + rule
    with pytest.raises(PolicyError) as caught:
        check_v1("policy/old.rego", source)
    assert (caught.value.code, caught.value.module, caught.value.line) == (
        "POL_V0_SYNTAX",
        "policy/old.rego",
        line,
    )


def test_compile_refuses_v0_before_regopy_sees_it() -> None:
    """compile_policy runs the v1 gate (regopy alone would accept v0)."""
    with pytest.raises(PolicyError) as caught:
        compile_policy(
            {"ok.rego": GATE, "old.rego": "package old\nallow {\n\ttrue\n}\n"}, {}, ["old/allow"]
        )
    assert (caught.value.code, caught.value.module, caught.value.line) == (
        "POL_V0_SYNTAX",
        "old.rego",
        2,
    )


def test_v1_gate_is_not_fooled_by_strings_comments_or_literals() -> None:
    """Braces in strings, raw strings and comments, and object/set literals, pass the gate."""
    source = """package ies.fine

# allow {  <- a v0 rule in a comment
# deny[msg] {
greeting := "allow { \\" }"
raw := `deny[msg] {
	true
}`
obj := {"a": {"b": [1, {2, 3}]}}
squares := {x: y | some x in [1, 2]; y := x * x}
evens := [x | some x in numbers.range(1, 10); x % 2 == 0]
names contains {"id": n} if some n in ["a", "b"]
key["fixed"] if true
default level := {"min": 0}
f(x) := {"v": x} if { x > 0 }
g(x) := y if {
	y := {"nested": {"k": x}}
} else := {"none": true}
"""
    check_v1("policy/fine.rego", source)
    compiled = compile_policy({"policy/fine.rego": source}, {}, ["ies/fine/squares"])
    assert compiled.evaluate("ies/fine/squares", {}) == {"1": 1, "2": 4}


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("package ies.bad\n\nallow if {\n\tinput.x ==\n}\n", 4),
        ("package ies.bad\n\nallow if input.x >\n", 3),
        ('package ies.bad\n\nmsg := "unterminated\n', 3),
        ("package ies.bad\n\nallow if { true\n", 3),
    ],
)
def test_syntax_errors_name_module_and_line(source: str, line: int) -> None:
    """A module that does not parse is POL_SYNTAX with its module and line."""
    with pytest.raises(PolicyError) as caught:
        compile_policy({"policy/bad.rego": source}, {}, ["ies/bad/allow"])
    assert (caught.value.code, caught.value.module, caught.value.line) == (
        "POL_SYNTAX",
        "policy/bad.rego",
        line,
    )


def test_compile_needs_entrypoints_and_json_data() -> None:
    """No entrypoint, or data the engine would mangle, is refused at compile time."""
    with pytest.raises(PolicyError) as no_entrypoint:
        compile_policy({"g.rego": GATE}, DATA, [])
    assert no_entrypoint.value.code == "POL_COMPILE"
    with pytest.raises(PolicyError) as big:
        compile_policy({"g.rego": GATE}, {"limits": {"x": 2**64}}, ENTRYPOINTS)
    assert (big.value.code, big.value.path) == ("POL_INPUT", "data.limits.x")


GOOD = {"rule": "r", "title": "T", "message": "m", "intent": "intent.md#r"}


@pytest.mark.parametrize(
    "result",
    [
        None,
        True,
        {"rule": "r"},
        "violated",
        ["violated"],
        [{k: v for k, v in GOOD.items() if k != "rule"}],
        [{k: v for k, v in GOOD.items() if k != "title"}],
        [{k: v for k, v in GOOD.items() if k != "message"}],
        [{k: v for k, v in GOOD.items() if k != "intent"}],
        [{**GOOD, "message": ""}],
        [{**GOOD, "title": 3}],
        [GOOD, None],
    ],
)
def test_wrong_result_shapes_are_pol_shape(result: Any) -> None:
    """Anything but a list of complete violation objects is POL_SHAPE."""
    with pytest.raises(PolicyError) as caught:
        violations(result)
    assert caught.value.code == "POL_SHAPE"


def test_violation_extra_keys_are_ignored() -> None:
    """Extra keys on a violation object do not make it invalid."""
    assert violations([{**GOOD, "severity": "high"}]) == [Violation("r", "T", "m", "intent.md#r")]


def test_annotations_are_extracted_per_rule() -> None:
    """# METADATA blocks give title, description and related resources per rule."""
    source = (
        "# METADATA\n# title: The package\n# scope: package\npackage ies.ann\n\n"
        + GATE.split("\n", 3)[3]
        + "\n# METADATA\n# title: 'Quoted'\n# related_resources:\n#   - https://example.org/rule\n"
        "default cap := 10\n"
    )
    found = annotations_by_rule(source)
    second_line = source.splitlines().index("violations contains v if {", 20) + 1
    assert sorted(found) == ["cap", "violations", f"violations@{second_line}"]
    first = found["violations"]
    assert first.title == "Gate closure"
    assert first.description == "No trade may be placed\nafter gate closure."
    assert first.related_resources == ("intent.md#gate-closure",)
    assert first.anchors == ("gate-closure",)
    second = found[f"violations@{second_line}"]
    assert (second.title, second.description, second.anchors) == (
        "Minimum quantity",
        "At least the minimum, in kWh.",
        ("min-quantity",),
    )
    assert found["cap"].title == "Quoted"
    assert found["cap"].related_resources == ("https://example.org/rule",)
    assert found["cap"].anchors == ()
    assert [a.rule for a in rule_annotations(source)] == ["violations", "violations", "cap"]
