"""The P2P trading network reference pack (issue 5; energy-domain research section 5.2):
a valid wave-2 style ``init`` passes, single mutations violate exactly their rule."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from iesnode.policy.engine import CompiledPolicy, compile_policy
from iesnode.policy.engine import violations as engine_violations

PACK = Path(__file__).resolve().parents[2] / "iesnode" / "policy" / "packs" / "p2p-trading-network"
ENTRYPOINT = "ies/p2p/network/violations"
TEST_NETWORK = "indiaenergystack.in/test-ies-p2p-trading-network"
PRODUCTION_NETWORK = "indiaenergystack.in/ies-p2p-trading-network"
NOW_NS = 1_777_000_000_000_000_000  # 2026-04-24T03:06:40Z
HOUR_NS = 3_600_000_000_000

Json = dict[str, Any]


def rfc3339(ns: int) -> str:
    """An RFC 3339 UTC timestamp (``...Z``) of epoch nanoseconds, to the second."""
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _descriptor(object_type: str, payload_type: str, by: str, **unit: str) -> Json:
    return {"objectType": object_type, "payloadType": payload_type, "insertedBy": by, **unit}


def _customer(meter: str, customer: str, **capacity: float) -> Json:
    return {
        "@type": "EnergyCustomer",
        "meterId": meter,
        "utilityCustomerId": customer,
        **capacity,
    }


def _discom(name: str) -> Json:
    return {
        "@type": "DiscomLedgerProvider",
        "discomId": f"{name}.example.com",
        "ledgerId": f"{name}-ledger.example.com",
        "ledgerUri": f"https://{name}-ledger.example.com/ledger",
    }


def valid_init_message(
    now_ns: int,
    *,
    bap_id: str = "buyer-app.example.com",
    bpp_id: str = "seller-app.example.com",
) -> Json:
    """A valid P2P ``init`` message (Beckn v2 wire form): two 1-hour slots of rooftop solar
    starting at the first full hour at least 5 h after ``now_ns``, buyer 3 kWh/h of a 5 kW
    sanctioned load, seller on a 5 kW plant; test meters for the test network."""
    start = (now_ns // HOUR_NS + 6) * HOUR_NS
    return {
        "contract": {
            "status": {"code": "DRAFT"},
            "commitments": [
                {
                    "id": "commitment-p2p-001",
                    "status": {"descriptor": {"code": "DRAFT"}},
                    "resources": [
                        {
                            "id": "energy-resource-solar-001",
                            "quantity": {"unitCode": "KWH", "unitQuantity": 6.0},
                            "resourceAttributes": {
                                "@type": "EnergyResource",
                                "sourceType": "SOLAR",
                                "meterId": "TEST_METER_SELLER_001",
                            },
                        }
                    ],
                    "offer": {
                        "id": "offer-p2p-001",
                        "resourceIds": ["energy-resource-solar-001"],
                    },
                    "commitmentAttributes": {
                        "@context": "https://schema.nfh.global/BecknTimeSeries/v1.0/context.jsonld",
                        "@type": "TimeSeries",
                        "intervalPeriod": {"start": rfc3339(start), "duration": "PT1H"},
                        "payloadDescriptors": [
                            _descriptor(
                                "EVENT_PAYLOAD_DESCRIPTOR",
                                "PRICE_PER_KWH",
                                "sellerPlatform",
                                currency="INR",
                            ),
                            _descriptor(
                                "EVENT_PAYLOAD_DESCRIPTOR",
                                "AVAILABLE_QTY",
                                "sellerPlatform",
                                units="KWH",
                            ),
                            _descriptor(
                                "EVENT_PAYLOAD_DESCRIPTOR",
                                "REQUESTED_QTY",
                                "buyerPlatform",
                                units="KWH",
                            ),
                        ],
                        "intervals": [
                            {
                                "id": 0,
                                "payloads": [
                                    {"type": "PRICE_PER_KWH", "values": [6.5]},
                                    {"type": "AVAILABLE_QTY", "values": [4.0]},
                                    {"type": "REQUESTED_QTY", "values": [3.0]},
                                ],
                            },
                            {
                                "id": 1,
                                "payloads": [
                                    {"type": "PRICE_PER_KWH", "values": [6.75]},
                                    {"type": "AVAILABLE_QTY", "values": [3.5]},
                                    {"type": "REQUESTED_QTY", "values": [3.0]},
                                ],
                            },
                        ],
                    },
                }
            ],
            "consideration": [
                {
                    "id": "consideration-p2p-001",
                    "status": {"code": "DRAFT"},
                    "price": {"currency": "INR", "value": 39.75},
                    "considerationAttributes": {
                        "@type": "PriceSpecification",
                        "currency": "INR",
                        "totalValue": 39.75,
                        "unitText": "kWh",
                    },
                }
            ],
            "participants": [
                {
                    "id": bap_id,
                    "participantAttributes": _customer(
                        "TEST_METER_BUYER_001", "TEST_CUST_BUYER_001", sanctionedLoadKw=5.0
                    ),
                },
                {
                    "id": bpp_id,
                    "participantAttributes": _customer(
                        "TEST_METER_SELLER_001", "TEST_CUST_SELLER_001", installedCapacityKw=5.0
                    ),
                },
                {"id": "TEST_DISCOM_BUYER", "participantAttributes": _discom("buyer-discom")},
                {"id": "TEST_DISCOM_SELLER", "participantAttributes": _discom("seller-discom")},
            ],
            "settlements": [
                {
                    "id": "settlement-p2p-001",
                    "status": "DRAFT",
                    "settlementAttributes": {
                        "@type": "SettlementTerm",
                        "acceptedPaymentMethods": ["BANK_TRANSFER"],
                        "paymentTrigger": "ON_FULFILLMENT",
                        "settlementStatus": "PENDING",
                    },
                }
            ],
            "contractAttributes": {
                "@type": "DEGContract",
                "roles": [
                    {"role": "buyerPlatform", "participantId": bap_id},
                    {"role": "sellerPlatform", "participantId": bpp_id},
                    {"role": "buyerDiscom", "participantId": "TEST_DISCOM_BUYER"},
                    {"role": "sellerDiscom", "participantId": "TEST_DISCOM_SELLER"},
                ],
            },
        }
    }


def valid_init_input(
    now_ns: int,
    *,
    bap_id: str = "buyer-app.example.com",
    bpp_id: str = "seller-app.example.com",
) -> Json:
    """The decision input the node builds for :func:`valid_init_message` arriving at the BPP."""
    return {
        "now_ns": now_ns,
        "action": "init",
        "role": "bpp",
        "direction": "inbound",
        "sender": bap_id,
        "network_id": TEST_NETWORK,
        "context": {
            "dialect": "2.0",
            "action": "init",
            "version": "2.0.0",
            "network_id": TEST_NETWORK,
            "bap_id": bap_id,
            "bap_uri": f"https://{bap_id}/bap/receiver",
            "bpp_id": bpp_id,
            "bpp_uri": f"https://{bpp_id}/bpp/receiver",
            "transaction_id": "6f1c2a9e-3b1d-4c55-9a51-1d2e8f0c7b11",
            "message_id": "0b8e9d4a-57a2-4f0f-8c3e-2d6a1b9c4e21",
            "timestamp": rfc3339(now_ns),
            "ttl": "PT30S",
        },
        "message": valid_init_message(now_ns, bap_id=bap_id, bpp_id=bpp_id),
    }


def _sources(folder: str) -> dict[str, str]:
    return {f"{folder}/{p.name}": p.read_text() for p in sorted((PACK / folder).glob("*.rego"))}


def _data() -> Json:
    return {p.stem: json.loads(p.read_text()) for p in sorted((PACK / "data").glob("*.json"))}


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    """The pack's modules and data, compiled once for the ``network`` entrypoint."""
    return compile_policy(_sources("policy"), _data(), [ENTRYPOINT])


def violations(policy: CompiledPolicy, decision_input: Json) -> list[Json]:
    """The ``violations`` set of the pack for ``decision_input``, as plain objects."""
    return [
        dataclasses.asdict(v)
        for v in engine_violations(policy.evaluate(ENTRYPOINT, decision_input))
    ]


def _commitment(inp: Json) -> Json:
    commitment: Json = inp["message"]["contract"]["commitments"][0]
    return commitment


def _series(inp: Json) -> Json:
    series: Json = _commitment(inp)["commitmentAttributes"]
    return series


def _participant(inp: Json, index: int) -> Json:
    attrs: Json = inp["message"]["contract"]["participants"][index]["participantAttributes"]
    return attrs


def _payload(inp: Json, interval: int, kind: str) -> Json:
    payload: Json = next(
        p for p in _series(inp)["intervals"][interval]["payloads"] if p["type"] == kind
    )
    return payload


def _set(path: list[str | int], value: Any) -> Callable[[Json], None]:
    def mutate(inp: Json) -> None:
        target: Any = inp
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _old_version(inp: Json) -> None:
    inp["context"]["version"] = "1.1.0"


def _no_seller_role(inp: Json) -> None:
    roles = inp["message"]["contract"]["contractAttributes"]["roles"]
    roles[:] = [r for r in roles if r["role"] != "sellerPlatform"]


def _usd_price(inp: Json) -> None:
    inp["message"]["contract"]["consideration"][0]["price"]["currency"] = "USD"


def _kw_quantity(inp: Json) -> None:
    _commitment(inp)["resources"][0]["quantity"]["unitCode"] = "KW"


def _self_trade(inp: Json) -> None:
    _participant(inp, 0)["meterId"] = "TEST_METER_SELLER_001"


def _grid_source(inp: Json) -> None:
    _commitment(inp)["resources"][0]["resourceAttributes"]["sourceType"] = "GRID"


def _foreign_bpp(inp: Json) -> None:
    inp["context"]["bpp_id"] = "other-seller-app.example.com"


def _undeclared_payload(inp: Json) -> None:
    _series(inp)["intervals"][0]["payloads"].append({"type": "CARBON_INTENSITY", "values": [0.1]})


def _offer_attributes(inp: Json) -> None:
    _commitment(inp)["offer"]["offerAttributes"] = {"@type": "EnergyTradeOffer"}


def _production_network(inp: Json) -> None:
    inp["network_id"] = inp["context"]["network_id"] = PRODUCTION_NETWORK


def _real_meter_on_test_network(inp: Json) -> None:
    _participant(inp, 0)["meterId"] = "der://meter/98765456"


def _inside_gate(inp: Json) -> None:
    _series(inp)["intervalPeriod"]["start"] = rfc3339(NOW_NS + 2 * HOUR_NS)


def _over_sanctioned_load(inp: Json) -> None:
    _participant(inp, 0)["sanctionedLoadKw"] = 2.5


def _over_installed_capacity(inp: Json) -> None:
    _participant(inp, 1)["installedCapacityKw"] = 3.0


def _unknown_duration(inp: Json) -> None:
    _series(inp)["intervalPeriod"]["duration"] = "PT2H"


def _below_minimum(inp: Json) -> None:
    _payload(inp, 1, "REQUESTED_QTY")["values"] = [0.5]


def _over_allocation(inp: Json) -> None:
    series = _series(inp)
    for kind in ("BUYER_DISCOM_ALLOC", "SELLER_DISCOM_ALLOC", "FINAL_ALLOC"):
        series["payloadDescriptors"].append(
            {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": kind, "units": "KWH"}
        )
    series["intervals"][0]["payloads"] += [
        {"type": "BUYER_DISCOM_ALLOC", "values": [3.0]},
        {"type": "SELLER_DISCOM_ALLOC", "values": [2.5]},
        {"type": "FINAL_ALLOC", "values": [2.75]},
    ]


MUTATIONS: dict[str, tuple[Callable[[Json], None], str, str]] = {
    "version 1.1.0": (_old_version, "protocol-version", "1.1.0"),
    "no seller role": (_no_seller_role, "required-roles", "sellerPlatform"),
    "price in USD": (_usd_price, "units", "USD"),
    "quantity in kW": (_kw_quantity, "units", "KW"),
    "buyer on seller meter": (_self_trade, "no-self-trade", "TEST_METER_SELLER_001"),
    "grid source": (_grid_source, "no-grid-source", "GRID"),
    "bpp not a participant": (_foreign_bpp, "bap-bpp-participants", "other-seller-app"),
    "undeclared payload": (_undeclared_payload, "payload-types-declared", "CARBON_INTENSITY"),
    "offer attributes": (_offer_attributes, "payload-types-declared", "offerAttributes"),
    "test ids on production": (
        _production_network,
        "test-production-separation",
        "TEST_METER_BUYER_001",
    ),
    "real meter on test network": (
        _real_meter_on_test_network,
        "test-production-separation",
        "der://meter/98765456",
    ),
    "inside gate closure": (_inside_gate, "gate-closure", "2 h from now"),
    "over sanctioned load": (_over_sanctioned_load, "per-hour-cap", "sanctionedLoadKw 2.5"),
    "over installed capacity": (_over_installed_capacity, "per-hour-cap", "installedCapacityKw 3"),
    "unknown duration": (_unknown_duration, "per-hour-cap", "PT2H"),
    "below 1 kWh": (_below_minimum, "minimum-quantity", "0.5"),
    "final above min alloc": (_over_allocation, "allocation-within-min", "2.75"),
}


def test_valid_init_has_no_violations(policy: CompiledPolicy) -> None:
    """The valid P2P init passes every rule."""
    assert violations(policy, valid_init_input(NOW_NS)) == []


def test_valid_init_passes_at_any_time(policy: CompiledPolicy) -> None:
    """The builder keeps the delivery window outside the gate for any ``now_ns``."""
    for now in (NOW_NS + 59 * 60 * 1_000_000_000, 1_800_000_000_000_000_000):
        assert violations(policy, valid_init_input(now)) == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_single_mutation_violates_its_rule(policy: CompiledPolicy, name: str) -> None:
    """Each single mutation of the valid init yields exactly its rule, naming the value."""
    mutate, anchor, needle = MUTATIONS[name]
    decision_input = copy.deepcopy(valid_init_input(NOW_NS))
    mutate(decision_input)
    found = violations(policy, decision_input)
    assert {v["rule"] for v in found} == {anchor}, found
    assert any(needle in v["message"] for v in found), found
    for v in found:
        assert v["intent"] == f"intent.md#{anchor}"
        assert v["title"]


def test_messages_without_contract_are_only_version_checked(policy: CompiledPolicy) -> None:
    """A discover and a status by contract id pass; a v1.1 discover or no context fails."""
    base = valid_init_input(NOW_NS)
    discover = {**base, "action": "discover", "message": {"intent": {"textSearch": "solar"}}}
    status = {**base, "action": "status", "message": {"contract": {"id": "contract-1"}}}
    assert violations(policy, discover) == []
    assert violations(policy, status) == []
    old = {**discover, "context": {**base["context"], "version": "1.1.0"}}
    assert [v["rule"] for v in violations(policy, old)] == ["protocol-version"]
    no_context = {k: v for k, v in base.items() if k != "context"}
    assert {v["rule"] for v in violations(policy, no_context)} == {
        "protocol-version",
        "bap-bpp-participants",
    }


def _test_paths() -> list[str]:
    paths = []
    for source in _sources("tests").values():
        package = re.search(r"^package\s+([\w.]+)", source, re.MULTILINE)
        assert package is not None
        prefix = package.group(1).replace(".", "/")
        paths += [f"{prefix}/{name}" for name in re.findall(r"^(test_\w+)\b", source, re.MULTILINE)]
    return paths


def test_rego_tests_all_pass() -> None:
    """Every ``test_*`` rule of the pack's Rego tests is true (as ``iesnode policy test``)."""
    paths = _test_paths()
    assert len(paths) >= 2 * 12
    compiled = compile_policy({**_sources("policy"), **_sources("tests")}, _data(), paths)
    failed = [path for path in paths if compiled.evaluate(path, {}) is not True]
    assert failed == []


def test_manifest_matches_intent_and_rules() -> None:
    """The manifest's intent checksum matches intent.md, and every violation anchor in the
    Rego has a METADATA link and a ``## <anchor>`` section of intent.md."""
    manifest = json.loads((PACK / "manifest.json").read_text())
    intent = (PACK / "intent.md").read_bytes()
    assert manifest["intent"]["sha256"] == hashlib.sha256(intent).hexdigest()
    assert manifest["entrypoints"] == {"network": "ies/p2p/network/violations"}
    headings = set(re.findall(r"^## (\S+)$", intent.decode(), re.MULTILINE))
    source = "\n".join(p.read_text() for p in (PACK / "policy").glob("*.rego"))
    produced = set(re.findall(r'violations contains violation\("([a-z-]+)"', source))
    linked = set(re.findall(r"- ref: intent\.md#([a-z-]+)", source))
    assert produced == linked == headings
    bodies = source.count("violations contains")
    assert source.count("# METADATA") == bodies
