"""Policy decisions and the decision log (issue 5; ``research/trust-layer.md`` section 4.3).

Like OPA's decision log, every evaluation is recorded with a fresh decision id, the
pack id and revision it was evaluated against, the entrypoint, a digest of the
input, the outcome and the violated rules; the decision id is what a NACK cites.

The input digest is SHA-256 over the RFC 8785 (JCS) canonical form of the input
(:func:`iesnode.policy.canonical.canonical_json`), so it does not depend on key order
or whitespace. One extension: integers beyond JCS's exact range (±(2**53 - 1), e.g.
``now_ns``) are written as their exact decimal digits instead of failing (JCS would
need them as IEEE doubles, which would lose digits).

:class:`DecisionLog` appends to the ``RecordStore`` seam (kind ``policy-decision``,
key = decision id) or, without a store, keeps the last ``capacity`` decisions in
memory.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785
import structlog

from iesnode.interfaces import RecordStore
from iesnode.policy.canonical import canonical_json
from iesnode.policy.engine import Violation
from iesnode.policy.errors import PolicyError

__all__ = ["DECISION_KIND", "Decision", "DecisionLog", "input_digest"]

log = structlog.get_logger(__name__)

DECISION_KIND = "policy-decision"
"""The ``RecordStore`` kind decisions are stored under."""


def input_digest(value: Any) -> str:
    """Hex SHA-256 of the RFC 8785 canonical JSON of ``value`` (big integers kept exact).

    Raises ``PolicyError(POL_INPUT)`` for values JSON cannot carry (NaN, sets, ...).
    """
    try:
        canonical = canonical_json(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise PolicyError("POL_INPUT", f"input cannot be canonicalised: {exc}") from exc
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class Decision:
    """One policy evaluation, as recorded; ``allowed`` is true when nothing was violated."""

    decision_id: str
    pack_id: str
    revision: int
    entrypoint: str
    input_digest: str
    allowed: bool
    violations: tuple[Violation, ...]
    at: float
    """Epoch seconds of the evaluation (the injected ``Clock``)."""
    result: Any = field(default=None, compare=False)
    """The value of a computing entrypoint (e.g. ``revenue_flows``); None for enforcement."""

    @classmethod
    def new(
        cls,
        *,
        pack_id: str,
        revision: int,
        entrypoint: str,
        input: Mapping[str, Any],
        violations: Sequence[Violation],
        at: float,
        result: Any = None,
    ) -> Decision:
        """A decision with a fresh uuid4 id and the digest of ``input``."""
        return cls(
            decision_id=str(uuid.uuid4()),
            pack_id=pack_id,
            revision=revision,
            entrypoint=entrypoint,
            input_digest=input_digest(input),
            allowed=not violations,
            violations=tuple(violations),
            at=at,
            result=result,
        )

    def to_json(self) -> bytes:
        """The decision as JSON bytes (what the record store keeps)."""
        body = {
            "decision_id": self.decision_id,
            "pack_id": self.pack_id,
            "revision": self.revision,
            "entrypoint": self.entrypoint,
            "input_digest": self.input_digest,
            "allowed": self.allowed,
            "violations": [
                {"rule": v.rule, "title": v.title, "message": v.message, "intent": v.intent}
                for v in self.violations
            ],
            "at": self.at,
            "result": self.result,
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Decision:
        """Read back what :meth:`to_json` wrote."""
        body = json.loads(data)
        return cls(
            decision_id=body["decision_id"],
            pack_id=body["pack_id"],
            revision=int(body["revision"]),
            entrypoint=body["entrypoint"],
            input_digest=body["input_digest"],
            allowed=bool(body["allowed"]),
            violations=tuple(
                Violation(v["rule"], v["title"], v["message"], v["intent"])
                for v in body["violations"]
            ),
            at=float(body["at"]),
            result=body.get("result"),
        )


class DecisionLog:
    """Appends decisions to a ``RecordStore``, or to an in-memory ring when none is given."""

    def __init__(self, store: RecordStore | None = None, *, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError("decision log capacity must be at least 1")
        self._store = store
        self._capacity = capacity
        self._ring: OrderedDict[str, Decision] = OrderedDict()

    async def record(self, decision: Decision) -> None:
        """Append ``decision`` (and log it as a ``policy.decision`` event)."""
        if self._store is not None:
            await self._store.put(
                DECISION_KIND,
                decision.decision_id,
                decision.to_json(),
                actor=f"policy:{decision.pack_id}",
                at=decision.at,
            )
        else:
            self._ring[decision.decision_id] = decision
            while len(self._ring) > self._capacity:
                self._ring.popitem(last=False)
        log.info(
            "policy.decision",
            decision_id=decision.decision_id,
            pack_id=decision.pack_id,
            revision=decision.revision,
            entrypoint=decision.entrypoint,
            allowed=decision.allowed,
            violated=[v.rule for v in decision.violations],
        )

    async def recent(self, limit: int = 50) -> list[Decision]:
        """The latest ``limit`` decisions, newest first.

        With a store this scans every stored decision (an audit view, not a hot path).
        """
        if limit <= 0:
            return []
        if self._store is None:
            return list(reversed(self._ring.values()))[:limit]
        versions = await self._store.scan(DECISION_KIND)
        decisions = [Decision.from_json(version.data) for version in versions]
        decisions.sort(key=lambda decision: decision.at, reverse=True)
        return decisions[:limit]

    async def by_id(self, decision_id: str) -> Decision | None:
        """The decision with ``decision_id``, or None when unknown (or dropped from the ring)."""
        if self._store is None:
            return self._ring.get(decision_id)
        version = await self._store.get(DECISION_KIND, decision_id)
        return None if version is None else Decision.from_json(version.data)
