"""The P2P trading network pack, rewritten for speed, decides exactly as it was first written.

Revision 1 of ``p2p-trading-network`` was rewritten for regopy's cost model (about 3x
faster a decision, ``bench/RESULTS.md``) without a new revision, so every decision must
stay the same. ``EXPECTED`` holds, per input, the SHA-256 of the canonical violations (or
the error code) that the rules as first written (commit 0978ce9) gave; the inputs are the
valid ``init``, the rule mutations of ``test_pack_p2p_trading`` and edge cases aimed at
each rewritten helper (ids compared as numbers, duplicates, values of the wrong type,
missing fields, production networks, allocations).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from iesnode.policy.engine import CompiledPolicy, compile_policy
from iesnode.policy.errors import PolicyError
from tests.unit.test_pack_p2p_trading import (
    HOUR_NS,
    MUTATIONS,
    NOW_NS,
    PRODUCTION_NETWORK,
    rfc3339,
    valid_init_input,
)

PACK = Path(__file__).resolve().parents[2] / "iesnode" / "policy" / "packs" / "p2p-trading-network"
ENTRYPOINT = "ies/p2p/network/violations"

Json = dict[str, Any]
Op = tuple[str, tuple[str | int, ...], Any]


def _apply(inp: Json, ops: list[Op]) -> Json:
    """``inp`` with ``("set" | "del" | "add" | "insert", path, value)`` operations applied."""
    out = copy.deepcopy(inp)
    for op, path, value in ops:
        parent: Any = out
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if op == "set":
            parent[last] = value
        elif op == "del":
            del parent[last]
        elif op == "add":
            parent[last].append(value)
        else:
            assert isinstance(last, int)
            parent.insert(last, value)
    return out


C = ("message", "contract")
P0 = (*C, "participants", 0)
R0 = (*C, "contractAttributes", "roles", 0)
M0 = (*C, "commitments", 0)
S0 = (*M0, "commitmentAttributes")
RES0 = (*M0, "resources", 0)

EDGES: dict[str, list[Op]] = {
    "ids int and float": [("set", (*P0, "id"), 1), ("set", (*R0, "participantId"), 1.0)],
    "bap id a number": [("set", (*P0, "id"), 1.0), ("set", ("context", "bap_id"), 1)],
    "participant twice": [("add", (*C, "participants"), {"id": "buyer-app.example.com"})],
    "role twice": [("add", (*C, "contractAttributes", "roles"), {"role": "buyerPlatform"})],
    "role naming two": [
        ("add", (*C, "participants"), {"id": "buyer-app.example.com", "participantAttributes": {}})
    ],
    "participant an array": [("insert", (*C, "participants", 0), ["x"])],
    "participant a string": [("insert", (*C, "participants", 1), "x")],
    "offer a list": [("set", (*M0, "offer"), ["a", {"bAttributes": 1}])],
    "series a string": [("set", S0, "x")],
    "series a list": [("set", S0, [1, 2])],
    "commitment a list": [("add", (*C, "commitments"), [1])],
    "commitment id false": [("set", (*M0, "id"), False)],
    "commitment id null": [
        ("set", (*M0, "id"), None),
        ("set", (*RES0, "quantity", "unitQuantity"), 0.5),
    ],
    "commitment without id": [
        ("del", (*M0, "id"), None),
        ("set", (*M0, "quantity"), {"unitCode": "KW"}),
    ],
    "interval ids 0 and 0.0": [
        ("set", (*S0, "intervals", 0, "id"), 0.0),
        ("set", (*S0, "intervals", 1, "id"), 0),
    ],
    "payload type false": [
        ("add", (*S0, "intervals", 0, "payloads"), {"type": False, "values": [1]}),
        ("add", (*S0, "payloadDescriptors"), {"payloadType": False}),
    ],
    "payload type a number": [("set", (*S0, "payloadDescriptors", 0, "payloadType"), 5)],
    "start not a date": [("set", (*S0, "intervalPeriod", "start"), "2026-13-45T99:00:00Z")],
    "duration a number": [("set", (*S0, "intervalPeriod", "duration"), 1)],
    "duration null": [("set", (*S0, "intervalPeriod", "duration"), None)],
    "capacity a string": [("set", (*P0, "participantAttributes", "sanctionedLoadKw"), "5")],
    "attributes a string": [("set", (*P0, "participantAttributes"), "x")],
    "attributes a list": [("set", (*P0, "participantAttributes"), ["meterId"])],
    "production network": [
        ("set", ("network_id",), PRODUCTION_NETWORK),
        ("set", ("context", "network_id"), PRODUCTION_NETWORK),
    ],
    "production, ids false": [
        ("set", ("context", "network_id"), PRODUCTION_NETWORK),
        ("set", (*P0, "id"), False),
        ("set", (*R0, "participantId"), False),
    ],
    "network id a number": [("set", ("context", "network_id"), 5)],
    "currency false and null": [
        ("set", (*C, "consideration", 0, "price", "currency"), False),
        ("set", (*C, "consideration", 0, "considerationAttributes", "currency"), None),
    ],
    "revenue flows": [
        (
            "set",
            (*C, "consideration", 0, "considerationAttributes", "revenueFlows"),
            [{"currency": "INR"}, {"currency": "USD"}, 3],
        )
    ],
    "role false": [("set", (*R0, "role"), False)],
    "role null, no participant id": [
        ("set", (*R0, "role"), None),
        ("del", (*C, "contractAttributes", "roles", 1, "participantId"), None),
    ],
    "source and type false": [
        ("set", (*RES0, "resourceAttributes", "sourceType"), False),
        ("set", (*RES0, "resourceAttributes", "@type"), False),
    ],
    "grid by type": [("set", (*RES0, "resourceAttributes", "type"), "grid")],
    "resource on the buyer meter": [
        ("set", (*RES0, "resourceAttributes", "meterId"), "TEST_METER_BUYER_001")
    ],
    "unknown bundles": [
        ("set", (*C, "fooAttributes"), False),
        ("set", (*C, "barAttributes"), {"@type": False}),
    ],
    "settlements mixed": [
        (
            "set",
            (*C, "settlements"),
            [{"settlementAttributes": {"@type": "SettlementTerm"}}, {"settlementAttributes": 1}, 3],
        )
    ],
    "performance an object": [("set", (*C, "performance"), {"a": {"performanceAttributes": 1}})],
    "no now_ns": [("del", ("now_ns",), None)],
    "now_ns a string": [("set", ("now_ns",), "x")],
    "on_status": [("set", ("action",), "on_status")],
    "update": [("set", ("action",), "update")],
    "contract a list": [("set", C, [1])],
    "no contract": [("set", ("message",), {"intent": {}})],
    "no context": [("del", ("context",), None)],
    "quantities at the minimum": [
        ("set", (*S0, "intervals", 0, "payloads", 2, "values"), [1]),
        ("set", (*RES0, "quantity", "unitQuantity"), 1.0),
    ],
    "rate at the cap": [("set", (*P0, "participantAttributes", "sanctionedLoadKw"), 3)],
    "rate over the cap": [
        ("set", (*P0, "participantAttributes", "sanctionedLoadKw"), 1.5),
        ("set", (*S0, "intervalPeriod", "duration"), "PT30M"),
        ("set", (*S0, "intervals", 1, "payloads", 2, "values"), [0.75]),
    ],
    "start at the gate": [
        ("set", (*S0, "intervalPeriod", "start"), rfc3339(NOW_NS + 4 * HOUR_NS)),
    ],
    "start a second inside the gate": [
        ("set", (*S0, "intervalPeriod", "start"), rfc3339(NOW_NS + 4 * HOUR_NS - 10**9)),
    ],
}

ALLOCATION = [("add", (*S0, "payloadDescriptors"), {"payloadType": t, "units": "KWH"}) for t in (
    "BUYER_DISCOM_ALLOC", "SELLER_DISCOM_ALLOC", "FINAL_ALLOC"
)]  # fmt: skip
for seller in (3.0, 2.5, 2.75, 3.5):
    EDGES[f"allocation, seller {seller}"] = [
        *ALLOCATION,
        (
            "add",
            (*S0, "intervals", 0, "payloads"),
            {"type": "BUYER_DISCOM_ALLOC", "values": [3.0, 1]},
        ),
        (
            "add",
            (*S0, "intervals", 0, "payloads"),
            {"type": "SELLER_DISCOM_ALLOC", "values": [seller]},
        ),
        ("add", (*S0, "intervals", 0, "payloads"), {"type": "FINAL_ALLOC", "values": [2.75, 1.0]}),
        ("add", (*S0, "intervals", 1, "payloads"), {"type": "FINAL_ALLOC", "values": [1]}),
    ]


def cases() -> dict[str, Json]:
    """Every input the equivalence is checked on, by name."""
    base = valid_init_input(NOW_NS)
    found: dict[str, Json] = {"valid init": base}
    for name, (mutate, _, _) in MUTATIONS.items():
        mutated: Json = copy.deepcopy(base)
        mutate(mutated)
        found[f"mutation: {name}"] = mutated
    found.update({f"edge: {name}": _apply(base, ops) for name, ops in EDGES.items()})
    return found


def outcome(policy: CompiledPolicy, inp: Json) -> str:
    """SHA-256 (first 128 bits) of the violations as canonical JSON, or ``error:<code>``."""
    try:
        result = policy.evaluate(ENTRYPOINT, inp)
    except PolicyError as exc:
        return f"error:{exc.code}"
    text = json.dumps(result, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


EXPECTED: dict[str, str] = {
    "edge: allocation, seller 2.5": "fda5b2e0278ce8ab70f1d31e0bd042ae",
    "edge: allocation, seller 2.75": "a3e018cc9c61f7a1c49d50a3956bcda1",
    "edge: allocation, seller 3.0": "a3e018cc9c61f7a1c49d50a3956bcda1",
    "edge: allocation, seller 3.5": "a3e018cc9c61f7a1c49d50a3956bcda1",
    "edge: attributes a list": "33475c95ef5dd9b08981a77906a221ce",
    "edge: attributes a string": "33475c95ef5dd9b08981a77906a221ce",
    "edge: bap id a number": "33d98454c9cc86ed4adf2f0fea16ac29",
    "edge: capacity a string": "2c63900a810259039b13995b8c9441f1",
    "edge: commitment a list": "f46d5821de74ba1550f98432c7e42b46",
    "edge: commitment id false": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: commitment id null": "53ba76e94f99ce7ee8e8d15df0b109fd",
    "edge: commitment without id": "799214a2baae39ce2ec3fb1ea28a672d",
    "edge: contract a list": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: currency false and null": "023cd836faebbfbb988f18c002269d8d",
    "edge: duration a number": "861d9d0e27ead848d573a1f67acd2de5",
    "edge: duration null": "56327550101ae1692c74cefda70ea706",
    "edge: grid by type": "8cde64d1ccd5c0d10334e63860832d51",
    "edge: ids int and float": "3f875270d69d0e88fb0cb19fe1beef81",
    "edge: interval ids 0 and 0.0": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: network id a number": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: no context": "0da4df413b491c7a2dae4c4301836ac2",
    "edge: no contract": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: no now_ns": "041964c71feecb2b64034eb3587de4dd",
    "edge: now_ns a string": "0e123878e8508a193bb052a4176e248e",
    "edge: offer a list": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: on_status": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: participant a string": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: participant an array": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: participant twice": "af216ec5da570a4864567590dfa72cb4",
    "edge: payload type a number": "error:POL_RUNTIME",
    "edge: payload type false": "error:POL_RUNTIME",
    "edge: performance an object": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: production network": "5c2128c6735ee85a770b08ea9d049cce",
    "edge: production, ids false": "bab28d4e910dc29c76f817c103d697c6",
    "edge: quantities at the minimum": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: rate at the cap": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: rate over the cap": "1f536fa257641d67b1daef877e7bcdcd",
    "edge: resource on the buyer meter": "50a4ae07f8be5b45e531a860328f34f0",
    "edge: revenue flows": "3faf591692dad9e9553b8a2f9de9e60f",
    "edge: role false": "51162aa2494d3aa72c5372e1534818ce",
    "edge: role naming two": "49c8fc954b57bd1caebb3661635397b3",
    "edge: role null, no participant id": "71495642fceed268ef19f6a8afdf56fd",
    "edge: role twice": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: series a list": "f4278cf904b46a08fbf0a0e47384b07b",
    "edge: series a string": "f4278cf904b46a08fbf0a0e47384b07b",
    "edge: settlements mixed": "cb77556d430ad3bb727085fc0f463dbd",
    "edge: source and type false": "8eedc5f655d7b3cb81ba8df764dd6317",
    "edge: start a second inside the gate": "e87977b909c4c4fd482576ca95c80d74",
    "edge: start at the gate": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "edge: start not a date": "error:POL_RUNTIME",
    "edge: unknown bundles": "b4a352ba8c38e89214c80daff1273918",
    "edge: update": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
    "mutation: below 1 kWh": "874fdd4f6528ab77f8d6281f39be145c",
    "mutation: bpp not a participant": "99c0c78a7a1c2f84c70fc65db9ba1885",
    "mutation: buyer on seller meter": "89b4ebe1c6c062ee49a92cced5feb289",
    "mutation: final above min alloc": "91ff54ce75ae8a502d0b9d4796a2db11",
    "mutation: grid source": "ca27cb3a536ce26e4f3ac47d9f5adc82",
    "mutation: inside gate closure": "03eee24b8df31482d5b4417ccab80a9d",
    "mutation: no seller role": "6afb5895e4d59260cd1efceebbfa23f8",
    "mutation: offer attributes": "520519ddc2e5e495736775c52e18d994",
    "mutation: over installed capacity": "15cb1908152d203fa477bb964d436fe8",
    "mutation: over sanctioned load": "34fa65ffdc23fa53556ada5131767901",
    "mutation: price in USD": "3397b2926e2395d8225d0c45e0d0864d",
    "mutation: quantity in kW": "03b4111586de413a42f4b525002d7bae",
    "mutation: real meter on test network": "675278911e102c531494a4c43b88620d",
    "mutation: test ids on production": "5c2128c6735ee85a770b08ea9d049cce",
    "mutation: undeclared payload": "a60003505a664d128bcf8bd6bf38eaae",
    "mutation: unknown duration": "4f269bf04f26a3776b87d78a62ccfc27",
    "mutation: version 1.1.0": "8f007ce51a59a030011fbce39b48ec03",
    "valid init": "4f53cda18c2baa0c0354bb5f9a3ecbe5",
}

CASES = cases()


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    """The pack's rules and data, compiled for the network entrypoint."""
    modules = {f"policy/{p.name}": p.read_text() for p in sorted((PACK / "policy").glob("*.rego"))}
    data = {p.stem: json.loads(p.read_text()) for p in sorted((PACK / "data").glob("*.json"))}
    return compile_policy(modules, data, [ENTRYPOINT])


def test_every_case_has_an_expected_outcome() -> None:
    """The golden outcomes cover exactly the generated inputs."""
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_decision_is_unchanged(policy: CompiledPolicy, name: str) -> None:
    """The pack's violations for the input are those the original rules gave."""
    assert outcome(policy, CASES[name]) == EXPECTED[name]
