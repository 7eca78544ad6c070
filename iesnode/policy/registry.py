"""The active policy packs of a node and the network -> pack routing (issue 5, "network policy").

A pack is activated only after it loads, verifies (intent checksum, signature),
compiles and passes its own Rego tests; any failure leaves the previous good pack in
place and raises. Activation replaces one immutable snapshot reference under a lock, so
a reader (a thread or a coroutine) sees either the old or the new revision, never a mix,
and the next evaluation after :meth:`PackRegistry.install` returns uses the new one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import structlog

from iesnode.policy.errors import PolicyError
from iesnode.policy.packs import PolicyPack

__all__ = ["PackRegistry"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    packs: Mapping[str, PolicyPack] = field(default_factory=dict)
    networks: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None


class PackRegistry:
    """Holds the active pack per pack id, plus which pack governs each network id."""

    def __init__(
        self,
        *,
        trusted_keys: Mapping[str, str] | None = None,
        require_signature: bool = False,
        networks: Mapping[str, str] | None = None,
        default: str | None = None,
    ) -> None:
        """``networks`` maps a network id to a pack id; ``default`` is the pack id for the rest."""
        self._trusted_keys = dict(trusted_keys) if trusted_keys is not None else None
        self._require_signature = require_signature
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(networks=dict(networks or {}), default=default)

    def install(self, path: Path) -> PolicyPack:
        """Load, verify, compile and test the pack at ``path``, then make it active.

        Raises :class:`PolicyError` (and keeps the previous pack) when any step fails,
        when the tests fail, or when the revision is older than the active one.
        """
        try:
            pack = PolicyPack.load(
                Path(path),
                trusted_keys=self._trusted_keys,
                require_signature=self._require_signature,
            )
            _ = pack.compiled  # compile now, not on the first message
            report = pack.run_tests()
            if not report.passed:
                failed = ", ".join(r.name for r in report.failures) or "the pack has no tests"
                raise PolicyError("POL_PACK_INVALID", f"pack tests failed: {failed}")
        except PolicyError as exc:
            log.warning(
                "policy.pack.refused",
                path=str(path),
                code=exc.code,
                reason=exc.reason,
                active={k: p.revision for k, p in self._snapshot.packs.items()},
            )
            raise
        with self._lock:
            snapshot = self._snapshot
            active = snapshot.packs.get(pack.id)
            if active is not None and active.digest == pack.digest:
                return active
            if active is not None and pack.revision <= active.revision:
                log.warning(
                    "policy.pack.refused",
                    pack_id=pack.id,
                    revision=pack.revision,
                    active_revision=active.revision,
                    reason="revision does not grow",
                )
                raise PolicyError(
                    "POL_PACK_INVALID",
                    f"pack {pack.id} revision {pack.revision} is not newer than the active "
                    f"revision {active.revision}",
                )
            packs = MappingProxyType({**snapshot.packs, pack.id: pack})
            self._snapshot = _Snapshot(packs, snapshot.networks, snapshot.default)
        log.info(
            "policy.pack.active",
            pack_id=pack.id,
            version=pack.manifest.version,
            revision=pack.revision,
            previous_revision=active.revision if active is not None else None,
            digest=pack.digest,
            signed_by=pack.signed_by,
        )
        return pack

    def route(self, network_id: str, pack_id: str) -> None:
        """Govern ``network_id`` by the pack ``pack_id`` (installed now or later)."""
        with self._lock:
            s = self._snapshot
            self._snapshot = _Snapshot(s.packs, {**s.networks, network_id: pack_id}, s.default)

    def set_default(self, pack_id: str | None) -> None:
        """Govern networks without a route by ``pack_id`` (``None``: no default policy)."""
        with self._lock:
            s = self._snapshot
            self._snapshot = _Snapshot(s.packs, s.networks, pack_id)

    def get(self, pack_id: str) -> PolicyPack | None:
        """The active revision of ``pack_id``, if installed."""
        return self._snapshot.packs.get(pack_id)

    def for_network(self, network_id: str | None) -> PolicyPack | None:
        """The active pack governing ``network_id`` (its route, else the default), if any."""
        snapshot = self._snapshot  # one read: routing and packs from the same snapshot
        pack_id = snapshot.networks.get(network_id or "", snapshot.default)
        return snapshot.packs.get(pack_id) if pack_id is not None else None

    def active(self) -> Mapping[str, PolicyPack]:
        """A read-only view of the active pack per pack id."""
        return MappingProxyType(dict(self._snapshot.packs))
