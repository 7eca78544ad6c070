"""Decisions and the decision log: ids, stable input digests, store and ring."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iesnode.policy import (
    DECISION_KIND,
    Decision,
    DecisionLog,
    PolicyError,
    Violation,
    input_digest,
)
from iesnode.storage.records import MemoryRecordStore
from tests.json_values import JSON_VALUES

NOW = 1_767_225_600.0
VIOLATION = Violation("gate-closure", "Gate closure", "now is late", "intent.md#gate-closure")


def _reversed_keys(value: Any) -> Any:
    """The same JSON value with every object's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


def _decision(at: float = NOW, **overrides: Any) -> Decision:
    fields: dict[str, Any] = {
        "pack_id": "p2p-network",
        "revision": 3,
        "entrypoint": "ies/p2p/network/violations",
        "input": {"now_ns": 1_767_225_600_000_000_000, "action": "init"},
        "violations": [],
        "at": at,
    }
    fields.update(overrides)
    return Decision.new(**fields)


@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=6))
def test_digest_is_independent_of_key_order(value: dict[str, Any]) -> None:
    """Reordering keys at any depth leaves the input digest unchanged."""
    assert input_digest(value) == input_digest(_reversed_keys(value))


def test_digest_is_sha256_of_the_jcs_form() -> None:
    """The digest is SHA-256 over RFC 8785 bytes (sorted keys, no whitespace)."""
    expected = hashlib.sha256(b'{"a":[1,2.5,"x"],"b":{"c":null,"d":true}}').hexdigest()
    assert input_digest({"b": {"d": True, "c": None}, "a": [1, 2.5, "x"]}) == expected


def test_big_integers_are_kept_exact() -> None:
    """Integers beyond 2**53 (now_ns) are digested as their exact digits."""
    now_ns = 1_767_225_600_000_000_001
    expected = hashlib.sha256(b'{"now_ns":1767225600000000001}').hexdigest()
    assert input_digest({"now_ns": now_ns}) == expected
    assert input_digest({"now_ns": now_ns}) != input_digest({"now_ns": now_ns + 1})
    assert input_digest({"now_ns": now_ns}) != input_digest({"now_ns": str(now_ns)})


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": {1, 2}}, {"x": object()}])
def test_digest_of_non_json_input_is_pol_input(bad: dict[str, Any]) -> None:
    """Input JSON cannot carry is refused with POL_INPUT."""
    with pytest.raises(PolicyError) as caught:
        input_digest(bad)
    assert caught.value.code == "POL_INPUT"


def test_new_decision_has_uuid4_digest_and_outcome() -> None:
    """Decision.new fills a fresh uuid4, the input digest and allowed = no violations."""
    allowed = _decision()
    denied = _decision(violations=[VIOLATION])
    assert uuid.UUID(allowed.decision_id).version == 4
    assert allowed.decision_id != denied.decision_id
    assert allowed.input_digest == input_digest({"action": "init", "now_ns": 1767225600000000000})
    assert (allowed.allowed, allowed.violations) == (True, ())
    assert (denied.allowed, denied.violations) == (False, (VIOLATION,))


def test_decision_json_round_trip() -> None:
    """to_json/from_json give back an equal decision, result included."""
    decision = _decision(violations=[VIOLATION], result=[{"from": "a", "amount": 1.5}])
    again = Decision.from_json(decision.to_json())
    assert again == decision
    assert again.result == [{"from": "a", "amount": 1.5}]


async def test_log_over_record_store() -> None:
    """Decisions go to the RecordStore; by_id and recent (newest first) read them back."""
    store = MemoryRecordStore()
    log = DecisionLog(store)
    first = _decision(at=NOW, revision=1)
    second = _decision(at=NOW + 1, revision=2, violations=[VIOLATION])
    await log.record(first)
    await log.record(second)
    assert await log.by_id(first.decision_id) == first
    assert await log.by_id(str(uuid.uuid4())) is None
    assert await log.recent(10) == [second, first]
    assert await log.recent(1) == [second]
    assert await log.recent(0) == []
    stored = await store.get(DECISION_KIND, second.decision_id)
    assert stored is not None
    assert (stored.actor, stored.written_at) == ("policy:p2p-network", NOW + 1)


async def test_memory_ring_keeps_the_latest() -> None:
    """Without a store the log keeps the last ``capacity`` decisions."""
    log = DecisionLog(capacity=2)
    decisions = [_decision(at=NOW + index) for index in range(3)]
    for decision in decisions:
        await log.record(decision)
    assert await log.recent(5) == [decisions[2], decisions[1]]
    assert await log.by_id(decisions[0].decision_id) is None
    assert await log.by_id(decisions[2].decision_id) == decisions[2]


def test_ring_capacity_must_be_positive() -> None:
    """A zero-sized ring is a configuration error."""
    with pytest.raises(ValueError, match="capacity"):
        DecisionLog(capacity=0)
