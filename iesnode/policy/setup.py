"""Policy objects from the node's ``[policy]`` settings (used by ``iesnode.node.build``)."""

from __future__ import annotations

from iesnode.errors import ConfigError
from iesnode.interfaces import Clock, Transport
from iesnode.policy.contract import ContractPolicy
from iesnode.policy.decisions import DecisionLog
from iesnode.policy.errors import PolicyError
from iesnode.policy.network import NetworkPolicy
from iesnode.policy.registry import PackRegistry
from iesnode.settings import PolicySettings

__all__ = ["contract_policy", "network_policy"]


def network_policy(settings: PolicySettings, *, role: str, clock: Clock) -> NetworkPolicy | None:
    """Install the configured packs (verified, compiled, tested) and route networks to them."""
    if not settings.packs:
        return None
    registry = PackRegistry(
        trusted_keys=dict(settings.trusted_keys),
        require_signature=settings.require_signature,
        networks=dict(settings.networks),
        default=settings.default_pack,
    )
    try:
        for path in settings.packs:
            registry.install(path)
    except PolicyError as exc:
        raise ConfigError(f"policy pack: {exc.code}: {exc.reason}") from exc
    return NetworkPolicy(registry, DecisionLog(), clock, role=role)


def contract_policy(
    settings: PolicySettings, *, role: str, clock: Clock, transport: Transport
) -> ContractPolicy | None:
    """Contract policies, when URL prefixes to fetch them from are configured."""
    if not settings.contract_url_prefixes:
        return None
    return ContractPolicy(
        transport=transport,
        clock=clock,
        decisions=DecisionLog(),
        allowed_prefixes=settings.contract_url_prefixes,
        actions=settings.contract_actions,
        role=role,
    )
