"""Contract policy: the second layer, referenced by the payload itself, fail-closed.

DEG energy contracts name their own policy (``research/energy-domain.md`` section 5.1):
``message.contract.contractAttributes.policy = {"url", "sha256", "queryPath"}`` (and
optionally ``"revenueFlowsPath"``). The node fetches the pack (a ``.tar.gz`` built by
``iesnode policy build``) only from configured URL prefixes, checks its SHA-256 against
the reference, compiles and caches it by checksum, and evaluates it on the configured
actions. Any failure — URL not allowed, unreachable, checksum, compile, run time, wrong
shape — refuses the message. ``revenue_flows`` computes settlement flows, which must
sum to zero before the node injects them anywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iesnode.errors import TransportError
from iesnode.interfaces import Clock, Transport
from iesnode.model.envelope import Envelope
from iesnode.policy.decisions import Decision, DecisionLog
from iesnode.policy.engine import violations
from iesnode.policy.errors import PolicyError
from iesnode.policy.network import PolicyViolation, decision_input, refusal
from iesnode.policy.packs import PolicyPack

__all__ = ["ContractPolicy", "checked_flows", "policy_reference"]


def policy_reference(envelope: Envelope) -> dict[str, Any] | None:
    """The contract's policy reference, or None when the payload names none."""
    message = envelope.message or {}
    contract = message.get("contract")
    attributes = contract.get("contractAttributes") if isinstance(contract, dict) else None
    ref = attributes.get("policy") if isinstance(attributes, dict) else None
    return ref if isinstance(ref, dict) else None


def _load_bytes(data: bytes) -> PolicyPack:
    with tempfile.TemporaryDirectory(prefix="iesnode-policy-") as tmp:
        path = Path(tmp) / "pack.tar.gz"
        path.write_bytes(data)
        pack = PolicyPack.load(path)
        pack.compiled  # noqa: B018 - compile now, off the event loop
        return pack


class ContractPolicy:
    """Fetches, verifies, caches and evaluates the policies contracts reference."""

    def __init__(
        self,
        *,
        transport: Transport,
        clock: Clock,
        decisions: DecisionLog,
        allowed_prefixes: Sequence[str],
        actions: Sequence[str],
        role: str,
        timeout: float = 5.0,
        cache_size: int = 32,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self.decisions = decisions
        self._prefixes = tuple(allowed_prefixes)
        self._actions = frozenset(actions)
        self._role = role
        self._timeout = timeout
        self._cache: OrderedDict[str, PolicyPack] = OrderedDict()
        self._cache_size = cache_size

    async def pack_for(self, ref: dict[str, Any]) -> PolicyPack:
        """The referenced pack, fetched once per checksum; raises PolicyError on any failure."""
        url, expected = ref.get("url"), ref.get("sha256")
        if not isinstance(url, str) or not isinstance(expected, str):
            raise PolicyError("POL_REFERENCE", "policy needs a url and a sha256", path="policy")
        if not any(url.startswith(prefix) for prefix in self._prefixes):
            raise PolicyError(
                "POL_URL_NOT_ALLOWED", f"{url} is not under an allowed prefix", path="policy.url"
            )
        cached = self._cache.get(expected.lower())
        if cached is not None:
            self._cache.move_to_end(expected.lower())
            return cached
        try:
            reply = await self._transport.get(url, {}, self._timeout)
        except TransportError as exc:
            raise PolicyError("POL_FETCH", f"{url}: {exc.reason}", path="policy.url") from exc
        if reply.status != 200:
            raise PolicyError("POL_FETCH", f"{url} answered HTTP {reply.status}", path="policy.url")
        actual = hashlib.sha256(reply.body).hexdigest()
        if actual != expected.lower():
            raise PolicyError(
                "POL_PACK_CHECKSUM",
                f"{url} has sha256 {actual}, the contract says {expected}",
                path="policy.sha256",
            )
        pack = await asyncio.to_thread(_load_bytes, reply.body)
        self._cache[actual] = pack
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return pack

    async def check(self, envelope: Envelope, *, direction: str, sender: str) -> Decision | None:
        """Evaluate the contract's policy on a configured action; refuse on violation or failure."""
        ref = policy_reference(envelope)
        if ref is None or envelope.context.action not in self._actions:
            return None
        try:
            pack = await self.pack_for(ref)
            path = ref.get("queryPath")
            if not isinstance(path, str):
                raise PolicyError("POL_REFERENCE", "policy.queryPath is required", path="policy")
            payload = decision_input(
                envelope,
                role=self._role,
                direction="inbound" if direction == "inbound" else "outbound",
                sender=sender,
                now=self._clock.now(),
            )
            found = violations(await asyncio.to_thread(pack.compiled.evaluate, path, payload))
        except PolicyError as exc:
            raise refusal(exc, "contract policy") from exc
        decision = Decision.new(
            pack_id=pack.id,
            revision=pack.revision,
            entrypoint=path,
            input=payload,
            violations=found,
            at=self._clock.now(),
        )
        await self.decisions.record(decision)
        if found:
            raise PolicyViolation(decision)
        return decision

    async def revenue_flows(self, envelope: Envelope, *, sender: str) -> list[dict[str, Any]]:
        """The settlement flows the contract's policy computes; they must sum to zero."""
        ref = policy_reference(envelope)
        if ref is None or not isinstance(ref.get("revenueFlowsPath"), str):
            raise PolicyError("POL_REFERENCE", "no revenueFlowsPath in the policy reference")
        pack = await self.pack_for(ref)
        payload = decision_input(
            envelope, role=self._role, direction="outbound", sender=sender, now=self._clock.now()
        )
        return checked_flows(pack.compiled.evaluate(ref["revenueFlowsPath"], payload))


def checked_flows(flows: Any) -> list[dict[str, Any]]:
    """Settlement flows as a policy computed them, refused unless integer paise summing to 0."""
    if not isinstance(flows, list) or not all(
        isinstance(f, dict) and type(f.get("amount_paise")) is int for f in flows
    ):
        raise PolicyError("POL_SHAPE", "revenue_flows must be a list of integer paise amounts")
    total = sum(f["amount_paise"] for f in flows)
    if total != 0:
        raise PolicyError("POL_REVENUE_IMBALANCE", f"revenue flows sum to {total} paise, not zero")
    return flows
