"""Network policy in the node pipeline: every inbound and outbound message is checked.

The first of the two layers the DEG energy network uses (``research/energy-domain.md``
section 5.1): a pack chosen by the message's networkId (or the default pack) evaluates
its ``network`` entrypoint on the shared decision input; a non-empty set of violations
refuses the message with ``POL_VIOLATION`` (v1.1 code 50000), naming every violated rule
with its title and intent link, and the decision id that the decision log keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from iesnode.errors import ProtocolError, RequestRejected
from iesnode.interfaces import Clock
from iesnode.model.envelope import Envelope
from iesnode.policy.decisions import Decision, DecisionLog
from iesnode.policy.engine import violations
from iesnode.policy.errors import PolicyError
from iesnode.policy.registry import PackRegistry
from iesnode.protocol.dialects import write_envelope

__all__ = ["NetworkPolicy", "PolicyViolation", "decision_input", "refusal"]

log = structlog.get_logger(__name__)
ENTRYPOINT = "network"

Direction = Literal["inbound", "outbound"]


class PolicyViolation(RequestRejected):
    """A message broke network or contract policy (HTTP 400, v1.1 code 50000)."""

    def __init__(self, decision: Decision) -> None:
        listed = "; ".join(
            f"{v.rule}: {v.title} - {v.message} ({v.intent})" for v in decision.violations
        )
        super().__init__(
            "POL_VIOLATION",
            f"policy {decision.pack_id} r{decision.revision} refused the message "
            f"(decision {decision.decision_id}): {listed}",
            path="message",
            legacy_code="50000",
            error_type="POLICY-ERROR",
        )
        self.decision = decision


def refusal(exc: PolicyError, where: str) -> ProtocolError:
    """A policy failure as the NACK it causes (fail closed): the POL_* code and the reason."""
    return ProtocolError(
        exc.code,
        f"{where}: {exc.reason}",
        path=exc.path or "message",
        legacy_code="50000",
        error_type="POLICY-ERROR",
    )


def decision_input(
    envelope: Envelope, *, role: str, direction: Direction, sender: str, now: float
) -> dict[str, Any]:
    """The shared decision input (issue 5's contract between the node and its packs)."""
    ctx = envelope.context
    context = ctx.model_dump(mode="json", exclude={"extra"})
    return {
        "now_ns": int(now * 1_000_000_000),
        "action": ctx.action,
        "role": role,
        "direction": direction,
        "sender": sender,
        "network_id": ctx.network_id,
        "context": context,
        "message": write_envelope(envelope).get("message", {}),
    }


class NetworkPolicy:
    """Evaluates the network pack of a message's network and records every decision."""

    def __init__(
        self, registry: PackRegistry, decisions: DecisionLog, clock: Clock, *, role: str
    ) -> None:
        self.registry = registry
        self.decisions = decisions
        self._clock = clock
        self._role = role

    async def check(
        self, envelope: Envelope, *, direction: Direction, sender: str
    ) -> Decision | None:
        """Raise :class:`PolicyViolation` when the network's pack refuses ``envelope``.

        Fails closed: a pack that errors at run time or answers the wrong shape refuses too.
        Returns the decision, or None when the network has no pack.
        """
        pack = self.registry.for_network(envelope.context.network_id)
        if pack is None:
            return None
        now = self._clock.now()
        payload = decision_input(
            envelope, role=self._role, direction=direction, sender=sender, now=now
        )
        if not pack.is_effective(datetime.fromtimestamp(now, UTC)):
            raise ProtocolError(
                "POL_PACK_NOT_EFFECTIVE",
                f"policy pack {pack.id} r{pack.revision} is not in force now",
                legacy_code="50000",
                error_type="POLICY-ERROR",
            )
        try:
            # a realistic pack takes milliseconds: keep the event loop free (regopy drops the GIL)
            found = violations(await asyncio.to_thread(pack.evaluate, ENTRYPOINT, payload))
        except PolicyError as exc:
            log.error("policy_failed", pack=pack.id, revision=pack.revision, code=exc.code)
            raise refusal(exc, f"policy {pack.id} r{pack.revision} failed") from exc
        decision = Decision.new(
            pack_id=pack.id,
            revision=pack.revision,
            entrypoint=ENTRYPOINT,
            input=payload,
            violations=found,
            at=now,
        )
        await self.decisions.record(decision)
        if found:
            log.info(
                "policy_refused",
                decision_id=decision.decision_id,
                pack=pack.id,
                revision=pack.revision,
                rules=[v.rule for v in found],
                direction=direction,
            )
            raise PolicyViolation(decision)
        return decision

    def installed(self) -> Mapping[str, int]:
        """Active pack revisions by pack id."""
        return {pack_id: pack.revision for pack_id, pack in self.registry.active().items()}
