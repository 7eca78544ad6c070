"""Policies fail closed: imbalanced or malformed revenue flows, engine-crashing forms, and
every shipped reference pack passes its own Rego tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from iesnode.policy.contract import checked_flows
from iesnode.policy.engine import compile_policy
from iesnode.policy.errors import PolicyError
from iesnode.policy.packs import PolicyPack

PACKS = Path(__file__).resolve().parents[2] / "iesnode" / "policy" / "packs"


def test_revenue_flows_that_do_not_sum_to_zero_are_refused() -> None:
    """A policy whose flows leave 5 paise unaccounted for is refused (POL_REVENUE_IMBALANCE)."""
    flows = [{"from": "buyer", "to": "seller", "amount_paise": 100}, {"amount_paise": -95}]
    with pytest.raises(PolicyError) as caught:
        checked_flows(flows)
    assert caught.value.code == "POL_REVENUE_IMBALANCE"


@pytest.mark.parametrize(
    "flows", [None, {"a": 1}, [{"amount_paise": 1.5}], [{"amount_paise": True}]]
)
def test_malformed_revenue_flows_are_refused(flows: object) -> None:
    """Anything but a list of integer paise amounts is a shape error."""
    with pytest.raises(PolicyError) as caught:
        checked_flows(flows)
    assert caught.value.code == "POL_SHAPE"


def test_balanced_flows_pass() -> None:
    """Debits and credits that cancel are returned unchanged."""
    flows = [{"amount_paise": -250}, {"amount_paise": 250}]
    assert checked_flows(flows) == flows


def test_whole_input_override_is_refused_before_it_reaches_the_engine() -> None:
    """'with input as' would abort the process in regopy 1.5.2: refused at compile, with line."""
    source = "package t\n\nx if {\n\ty with input as {}\n}\n\ny if input.a\n"
    with pytest.raises(PolicyError) as caught:
        compile_policy({"t.rego": source}, {}, ["t/x"])
    assert (caught.value.code, caught.value.line) == ("POL_COMPILE", 4)


@pytest.mark.parametrize(
    "pack",
    ["p2p-trading-network", "discom-contract", "consumer-onboarding", "regulatory-reporting"],
)
def test_reference_pack_passes_its_own_tests(pack: str) -> None:
    """What `iesnode policy test` checks: every Rego test of the shipped pack is true."""
    report = PolicyPack.load(PACKS / pack).run_tests()
    assert report.passed, report
