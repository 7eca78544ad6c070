"""The reference policy packs (issue 5): manifests, Rego tests, and decisions on mutated inputs.

Covers ``discom-contract`` (energy-domain research sections 5.3 and 2.2), ``consumer-onboarding``
(section 2.5) and ``regulatory-reporting`` (section 7, ArrFiling v0.5). Each pack is loaded the way
the shared contract lays it out (``policy/*.rego``, ``data/<stem>.json`` under ``data.<stem>``),
compiled once with strict built-in errors, and queried through its manifest entrypoints.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import regopy  # type: ignore[import-untyped, unused-ignore]

import iesnode

PACKS = Path(iesnode.__file__).resolve().parent / "policy" / "packs"
PACK_IDS = ("discom-contract", "consumer-onboarding", "regulatory-reporting")
NOW_NS = 1_777_600_000_000_000_000  # 2026-05-01T01:46:40Z

Mutation = Callable[[dict[str, Any]], object]  # edits in place; any return is ignored


def manifest(pack_id: str) -> dict[str, Any]:
    """The pack's manifest.json."""
    loaded: dict[str, Any] = json.loads((PACKS / pack_id / "manifest.json").read_text())
    return loaded


def _interpreter(pack_id: str, *, with_tests: bool) -> Any:
    """A strict interpreter holding the pack's modules (and tests) and its data documents."""
    root = PACKS / pack_id
    interp = regopy.Interpreter()
    interp.strict_built_in_errors = True
    folders = ["policy", "tests"] if with_tests else ["policy"]
    for folder in folders:
        for path in sorted((root / folder).glob("*.rego")):
            interp.add_module(f"{folder}/{path.name}", path.read_text())
    data = {path.stem: json.loads(path.read_text()) for path in sorted(root.glob("data/*.json"))}
    interp.add_data(data)
    return interp


@cache
def compiled(pack_id: str) -> tuple[Any, Any]:
    """The pack's interpreter and its bundle, built once for all manifest entrypoints."""
    interp = _interpreter(pack_id, with_tests=False)
    bundle = interp.build(None, list(manifest(pack_id)["entrypoints"].values()))
    return interp, bundle


def evaluate(pack_id: str, entrypoint: str, input_doc: dict[str, Any]) -> Any:
    """The value of a manifest entrypoint for an input, from the compiled bundle."""
    interp, bundle = compiled(pack_id)
    interp.set_input(input_doc)
    output = interp.query_bundle_entrypoint(bundle, manifest(pack_id)["entrypoints"][entrypoint])
    assert output.ok(), f"{pack_id}:{entrypoint} failed to evaluate"
    assert len(output) == 1, f"{pack_id}:{entrypoint} is undefined"
    assert len(output[0].expressions) == 1, f"{pack_id}:{entrypoint} is undefined"
    return output[0][0]


def violated(pack_id: str, input_doc: dict[str, Any]) -> set[str]:
    """The anchors of the rules an input violates, after checking each violation's shape."""
    violations = evaluate(pack_id, "violations", input_doc)
    assert isinstance(violations, list)
    for v in violations:
        assert set(v) == {"rule", "title", "message", "intent"}
        assert v["intent"] == f"intent.md#{v['rule']}"
        assert v["title"]
        assert v["message"]
    return {v["rule"] for v in violations}


def decision_input(action: str, message: dict[str, Any]) -> dict[str, Any]:
    """A decision input as the node builds it (shared contract)."""
    return {
        "now_ns": NOW_NS,
        "action": action,
        "role": "bpp",
        "direction": "inbound",
        "sender": "bap.example.com",
        "network_id": "indiaenergystack.in/test-ies-p2p-trading-network",
        "context": {"action": action, "version": "2.0.0", "timestamp": "2026-05-01T01:46:40Z"},
        "message": message,
    }


# ---------------------------------------------------------------------------------------------
# Valid inputs, one per pack.


def contract_message() -> dict[str, Any]:
    """A settled P2P contract between BESCOM-KA (buyer side) and HESCOM-KA (seller side)."""

    def interval(i: int, price: float, requested: float, final: float) -> dict[str, Any]:
        return {
            "id": i,
            "payloads": [
                {"type": "PRICE_PER_KWH", "values": [price]},
                {"type": "REQUESTED_QTY", "values": [requested]},
                {"type": "FINAL_ALLOC", "values": [final]},
            ],
        }

    def charge(kind: str, rate: float, **extra: str) -> dict[str, Any]:
        attributes = {"@type": kind, "ratePerKwh": rate, "currency": "INR", **extra}
        return {"id": kind.lower(), "considerationAttributes": attributes}

    roles = {
        "buyerPlatform": "buyerapp.example.com",
        "sellerPlatform": "sellerapp.example.com",
        "buyerDiscom": "BESCOM-KA",
        "sellerDiscom": "HESCOM-KA",
    }
    return {
        "contract": {
            "id": "contract-001",
            "commitments": [
                {
                    "id": "commitment-001",
                    "commitmentAttributes": {
                        "@type": "TimeSeries",
                        "payloadDescriptors": [
                            {"payloadType": "PRICE_PER_KWH", "currency": "INR"},
                            {"payloadType": "REQUESTED_QTY", "units": "KWH"},
                            {"payloadType": "FINAL_ALLOC", "units": "KWH"},
                        ],
                        "intervals": [
                            interval(0, 12.5, 20.5, 18.25),
                            interval(1, 11.0, 10.0, 10.0),
                            interval(2, 9.99, 3.333, 3.333),
                        ],
                    },
                }
            ],
            "consideration": [
                charge("WheelingCharge", 0.45, role="buyerDiscom"),
                charge("ShortfallPenalty", 1.5),
                charge("PlatformCharge", 0.25, role="buyerPlatform"),
            ],
            "contractAttributes": {
                "@type": "DEGContract",
                "roles": [{"role": r, "participantId": p} for r, p in roles.items()],
            },
        }
    }


def enrollment_message() -> dict[str, Any]:
    """An enrollment confirm for the Karnataka P2P programme with one eligible meter."""
    return {
        "order": {
            "orderAttributes": {
                "@type": "EnergyProgramEnrollment",
                "programId": "ka-p2p-trading-2026",
                "meters": [
                    {
                        "meterId": "umid-ka-000101",
                        "meterNumber": "SM-000101",
                        "connectionType": "LT_DOMESTIC",
                        "sanctionedLoad": 5,
                    }
                ],
                "consents": [
                    {"type": "DATA_COLLECTION", "granted": True},
                    {"type": "CROSS_UTILITY_SHARING", "granted": True},
                    {"type": "DER_CONTROL", "granted": False},
                ],
            }
        }
    }


def filing_message() -> dict[str, Any]:
    """An on_status carrying an MYT ArrFiling v0.5 inline in a dataset resource."""

    def year(label: str, basis: str, network: float, supply: float) -> dict[str, Any]:
        arr = round(network + supply - 12.5, 2)
        return {
            "fiscalYear": label,
            "yearType": "CONTROL_PERIOD",
            "amountBasis": basis,
            "lineItems": [
                {"lineItemId": "network-cost", "category": "FIXED", "head": "N", "amount": network},
                {
                    "lineItemId": "supply-cost",
                    "category": "VARIABLE",
                    "head": "S",
                    "amount": supply,
                },
                {"lineItemId": "non-tariff", "category": "INCOME", "head": "I", "amount": -12.5},
                {"lineItemId": "aggregate-arr", "category": "ARR", "head": "ARR", "amount": arr},
            ],
        }

    filing = {
        "objectType": "ARR_FILING",
        "@type": "ArrFiling",
        "filingId": "KERC/ARR/BESCOM/MYT/2026-29",
        "filingDate": "2026-03-15",
        "filingType": "MYT",
        "licensee": "Bangalore Electricity Supply Company Limited",
        "licenseeCode": "BESCOM",
        "regulatoryCommission": "KERC",
        "controlPeriodStart": "FY 2026-27",
        "controlPeriodEnd": "FY 2028-29",
        "currency": "INR",
        "unitScale": "CRORE",
        "status": "SUBMITTED",
        "fiscalYears": [
            year("FY 2026-27", "PROPOSED", 4000.0, 18000.0),
            year("FY 2027-28", "PROPOSED", 4200.0, 19000.0),
            year("FY 2028-29", "PROPOSED", 4400.0, 20500.25),
        ],
    }
    resource = {
        "id": "arr-bescom-myt",
        "resourceAttributes": {"@type": "DatasetItem", "data": filing},
    }
    return {"contract": {"commitments": [{"id": "c1", "resources": [resource]}]}}


VALID: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "discom-contract": ("on_status", contract_message),
    "consumer-onboarding": ("confirm", enrollment_message),
    "regulatory-reporting": ("on_status", filing_message),
}


# ---------------------------------------------------------------------------------------------
# Single mutations of the valid inputs, with the anchor each must trip.


def _roles(m: dict[str, Any]) -> list[dict[str, Any]]:
    roles: list[dict[str, Any]] = m["contract"]["contractAttributes"]["roles"]
    return roles


def _charge(m: dict[str, Any], i: int) -> dict[str, Any]:
    attributes: dict[str, Any] = m["contract"]["consideration"][i]["considerationAttributes"]
    return attributes


def _enrollment(m: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = m["order"]["orderAttributes"]
    return attributes


def _filing(m: dict[str, Any]) -> dict[str, Any]:
    resources = m["contract"]["commitments"][0]["resources"]
    filing: dict[str, Any] = resources[0]["resourceAttributes"]["data"]
    return filing


MUTATIONS: list[tuple[str, str, Mutation, str]] = [
    (
        "discom-contract",
        "unknown seller DISCOM",
        lambda m: _roles(m)[3].update(participantId="TPDDL-DL"),
        "counterpart-discom-allowed",
    ),
    (
        "discom-contract",
        "buyer DISCOM role missing",
        lambda m: _roles(m).pop(2),
        "discom-roles-present",
    ),
    (
        "discom-contract",
        "price in USD",
        lambda m: m["contract"]["commitments"][0]["commitmentAttributes"]["payloadDescriptors"][
            0
        ].update(currency="USD"),
        "currency-allowed",
    ),
    (
        "discom-contract",
        "wheeling rate not as configured",
        lambda m: _charge(m, 0).update(ratePerKwh=0.4),
        "wheeling-charge-matches",
    ),
    (
        "discom-contract",
        "penalty rate not as configured",
        lambda m: _charge(m, 1).update(ratePerKwh=2),
        "shortfall-penalty-matches",
    ),
    (
        "discom-contract",
        "platform charge above cap",
        lambda m: _charge(m, 2).update(ratePerKwh=0.51),
        "platform-charge-cap",
    ),
    (
        "consumer-onboarding",
        "unknown programme",
        lambda m: _enrollment(m).update(programId="tn-p2p"),
        "programme-known",
    ),
    (
        "consumer-onboarding",
        "no meters",
        lambda m: _enrollment(m).update(meters=[]),
        "meters-present",
    ),
    (
        "consumer-onboarding",
        "HT connection",
        lambda m: _enrollment(m)["meters"][0].update(connectionType="HT_INDUSTRIAL"),
        "connection-type-eligible",
    ),
    (
        "consumer-onboarding",
        "load above limit",
        lambda m: _enrollment(m)["meters"][0].update(sanctionedLoad=12.5),
        "sanctioned-load-limit",
    ),
    (
        "consumer-onboarding",
        "load missing",
        lambda m: _enrollment(m)["meters"][0].pop("sanctionedLoad"),
        "sanctioned-load-limit",
    ),
    (
        "consumer-onboarding",
        "meter enrolled (data)",
        lambda m: _enrollment(m)["meters"][0].update(meterId="umid-ka-000042"),
        "meter-not-already-enrolled",
    ),
    (
        "consumer-onboarding",
        "meter enrolled (input)",
        lambda m: _enrollment(m).update(
            conflictCheck={
                "hasConflict": True,
                "conflictingEnrollments": [
                    {"conflictType": "METER_ALREADY_ENROLLED", "meterId": "umid-ka-000101"}
                ],
            }
        ),
        "meter-not-already-enrolled",
    ),
    (
        "consumer-onboarding",
        "consent not granted",
        lambda m: _enrollment(m)["consents"][0].update(granted=False),
        "required-consents-granted",
    ),
    (
        "consumer-onboarding",
        "consent missing",
        lambda m: _enrollment(m)["consents"].pop(1),
        "required-consents-granted",
    ),
    (
        "regulatory-reporting",
        "licensee missing",
        lambda m: _filing(m).pop("licensee"),
        "required-fields",
    ),
    (
        "regulatory-reporting",
        "unit scale unknown",
        lambda m: _filing(m).update(unitScale="MILLION"),
        "enumerated-values",
    ),
    (
        "regulatory-reporting",
        "filing id malformed",
        lambda m: _filing(m).update(filingId="KERC-ARR-2026"),
        "filing-id-format",
    ),
    (
        "regulatory-reporting",
        "filing id other licensee",
        lambda m: _filing(m).update(filingId="KERC/ARR/HESCOM/MYT/2026-29"),
        "filing-id-format",
    ),
    (
        "regulatory-reporting",
        "fiscal year malformed",
        lambda m: _filing(m)["fiscalYears"][1].update(fiscalYear="FY 2027-29"),
        "fiscal-year-format",
    ),
    (
        "regulatory-reporting",
        "control period too long",
        lambda m: _filing(m).update(controlPeriodEnd="FY 2032-33"),
        "control-period",
    ),
    (
        "regulatory-reporting",
        "two ARR lines",
        lambda m: _filing(m)["fiscalYears"][0]["lineItems"].append(
            {"lineItemId": "arr-2", "category": "ARR", "head": "ARR", "amount": 1.0}
        ),
        "single-arr-line",
    ),
    (
        "regulatory-reporting",
        "positive income",
        lambda m: _filing(m)["fiscalYears"][0]["lineItems"][2].update(amount=12.5),
        "income-non-positive",
    ),
    (
        "regulatory-reporting",
        "ARR jumps 30%",
        lambda m: _filing(m)["fiscalYears"][2]["lineItems"][3].update(amount=30000.0),
        "arr-growth-threshold",
    ),
    (
        "regulatory-reporting",
        "filed in the future",
        lambda m: _filing(m).update(filingDate="2026-06-01"),
        "filing-date",
    ),
]


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_valid_input_has_no_violations(pack_id: str) -> None:
    """Each pack's valid input passes every rule."""
    action, message = VALID[pack_id]
    assert violated(pack_id, decision_input(action, message())) == set()


@pytest.mark.parametrize(
    ("pack_id", "case", "mutate", "anchor"), MUTATIONS, ids=[f"{m[0]}:{m[1]}" for m in MUTATIONS]
)
def test_single_mutation_violates_its_rule(
    pack_id: str, case: str, mutate: Mutation, anchor: str
) -> None:
    """One change to a valid input trips exactly the expected rule."""
    action, message = VALID[pack_id]
    mutated = copy.deepcopy(message())
    mutate(mutated)
    assert violated(pack_id, decision_input(action, mutated)) == {anchor}, case


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_pack_has_at_least_three_mutations(pack_id: str) -> None:
    """The mutation table covers at least three distinct rules per pack."""
    assert len({m[3] for m in MUTATIONS if m[0] == pack_id}) >= 3


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_rules_are_out_of_scope_on_other_actions(pack_id: str) -> None:
    """A broken payload on an action the pack does not govern yields no violations."""
    assert violated(pack_id, decision_input("discover", {"contract": {}, "order": {}})) == set()


# ---------------------------------------------------------------------------------------------
# discom-contract: the computing entrypoint.


def test_revenue_flows_sum_to_zero_in_integer_paise() -> None:
    """Settlement postings are integers, balance to zero and carry the agreed shape."""
    flows = evaluate("discom-contract", "revenue_flows", decision_input(*_valid("discom-contract")))
    assert flows
    assert all(set(f) == {"from", "to", "amount_paise", "reason"} for f in flows)
    assert all(isinstance(f["amount_paise"], int) for f in flows)
    assert sum(f["amount_paise"] for f in flows) == 0


def test_revenue_flows_amounts() -> None:
    """Each transfer is charged per interval from Wh and paise, rounded half away from zero."""
    flows = evaluate("discom-contract", "revenue_flows", decision_input(*_valid("discom-contract")))
    credits = {
        (f["from"], f["to"], f["reason"]): f["amount_paise"] for f in flows if f["amount_paise"] > 0
    }
    # intervals: 18.25 kWh @ 12.50, 10 kWh @ 11.00, 3.333 kWh @ 9.99; shortfall 2.25 kWh
    assert credits == {
        ("buyer", "seller", "energy_payment"): 22813 + 11000 + 3330,
        ("buyer", "buyerDiscom", "wheeling_charge"): 821 + 450 + 150,
        ("seller", "sellerDiscom", "wheeling_charge"): 639 + 350 + 117,
        ("seller", "buyerDiscom", "shortfall_penalty"): 338,
        ("buyer", "buyerPlatform", "platform_charge"): 456 + 250 + 83,
    }


def test_revenue_flows_balance_for_many_shapes() -> None:
    """Zero-sum holds across prices, quantities and charges, including fractional ones."""
    for price, final in [(0.01, 0.001), (7.77, 1.005), (15.0, 99.999), (3.33, 0.0)]:
        action, message = _valid("discom-contract")
        intervals = message["contract"]["commitments"][0]["commitmentAttributes"]["intervals"]
        intervals[0]["payloads"][0]["values"] = [price]
        intervals[0]["payloads"][2]["values"] = [final]
        flows = evaluate("discom-contract", "revenue_flows", decision_input(action, message))
        assert sum(f["amount_paise"] for f in flows) == 0, (price, final)


def test_revenue_flows_empty_before_settlement() -> None:
    """Without FINAL_ALLOC no interval is settled, so no flows are emitted."""
    action, message = _valid("discom-contract")
    for interval in message["contract"]["commitments"][0]["commitmentAttributes"]["intervals"]:
        interval["payloads"] = interval["payloads"][:2]
    assert evaluate("discom-contract", "revenue_flows", decision_input(action, message)) == []


def _valid(pack_id: str) -> tuple[str, dict[str, Any]]:
    action, message = VALID[pack_id]
    return action, message()


# ---------------------------------------------------------------------------------------------
# Pack structure: Rego tests, manifests, intent documents and annotations.


def _rego_tests(pack_id: str) -> list[tuple[str, str]]:
    """(package, rule) for every ``test_*`` rule in the pack's tests folder."""
    found: list[tuple[str, str]] = []
    for path in sorted((PACKS / pack_id / "tests").glob("*_test.rego")):
        source = path.read_text()
        package = re.search(r"^package (\S+)", source, re.MULTILINE)
        assert package, path
        names = dict.fromkeys(re.findall(r"^(test_\w+)\b", source, re.MULTILINE))
        found += [(package.group(1), name) for name in names]
    return found


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_rego_tests_pass(pack_id: str) -> None:
    """Every ``test_*`` rule of the pack is true."""
    tests = _rego_tests(pack_id)
    assert len(tests) >= 2 * len(_anchors(pack_id))
    interp = _interpreter(pack_id, with_tests=True)
    interp.set_input({})
    paths = {name: f"{package.replace('.', '/')}/{name}" for package, name in tests}
    assert all(package.endswith("_test") for package, _ in tests)
    bundle = interp.build(None, list(paths.values()))  # one compile: a query each is ~1 s
    failed = []
    for name, path in paths.items():
        output = interp.query_bundle_entrypoint(bundle, path)
        if not (output.ok() and len(output) == 1 and output[0].expressions == [True]):
            failed.append(name)
    assert failed == []


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_manifest_fields_and_intent_checksum(pack_id: str) -> None:
    """The manifest follows the shared contract and pins the intent document's sha256."""
    m = manifest(pack_id)
    assert m["id"] == pack_id
    assert re.fullmatch(r"\d+\.\d+\.\d+", m["version"])
    assert isinstance(m["revision"], int)
    assert m["revision"] >= 1
    assert m["jurisdiction"]
    assert m["approved_by"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", m["effective_from"])
    intent = PACKS / pack_id / m["intent"]["path"]
    assert m["intent"]["sha256"] == hashlib.sha256(intent.read_bytes()).hexdigest()
    assert m["intent"]["url"].startswith("https://")
    assert "violations" in m["entrypoints"]


def _anchors(pack_id: str) -> set[str]:
    """Anchors the policy modules' METADATA link to."""
    anchors: set[str] = set()
    for path in (PACKS / pack_id / "policy").glob("*.rego"):
        anchors |= set(re.findall(r"ref: intent\.md#([a-z0-9-]+)", path.read_text()))
    return anchors


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_rule_links_to_an_intent_section(pack_id: str) -> None:
    """Each violation rule has METADATA, and each linked anchor is a ``##`` heading of intent.md."""
    headings = set(
        re.findall(r"^## ([a-z0-9-]+)\s*$", (PACKS / pack_id / "intent.md").read_text(), re.M)
    )
    anchors = _anchors(pack_id)
    assert anchors
    assert anchors <= headings
    for path in (PACKS / pack_id / "policy").glob("*.rego"):
        source = path.read_text()
        blocks = source.split("violations contains")[1:]
        preceding = source.split("violations contains")[:-1]
        for before, _ in zip(preceding, blocks, strict=True):
            tail = before.rstrip().splitlines()[-5:]
            assert any("ref: intent.md#" in line for line in tail), path.name
            assert any("# title:" in line for line in before.splitlines()[-6:]), path.name


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_violation_anchors_are_annotated(pack_id: str) -> None:
    """Every anchor a mutation trips is one the policy annotates."""
    tripped = {m[3] for m in MUTATIONS if m[0] == pack_id}
    assert tripped <= _anchors(pack_id)
