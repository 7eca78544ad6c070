"""Everything one conformance run is configured with (the ``conformance run`` flags).

Timing defaults keep a run against a healthy target short (a few seconds) while
leaving a slow target room: the ACK limit and the callback ttl are generous, and the
only fixed wait is the retry window in which a callback refused with 400 must not
come again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from iesnode.conformance.identities import CounterpartKeys
from iesnode.conformance.target import TargetProfile
from iesnode.model.envelope import Dialect

__all__ = ["DEFAULT_ACTIONS", "RunOptions", "Trigger"]

DEFAULT_ACTIONS: tuple[str, ...] = ("discover", "select", "init", "confirm", "status")

Trigger = Callable[[str, str, str], Awaitable[None]]
"""``trigger(action, bpp_id, bpp_uri)``: make the BAP target send ``action`` to that BPP."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """One run's configuration; canonical (v2) action names throughout."""

    target: TargetProfile
    dialect: Dialect = Dialect.V2
    actions: tuple[str, ...] = DEFAULT_ACTIONS
    """Actions the target claims to serve, in flow order."""
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    network_id: str | None = "ies.example/p2p-trading"
    domain: str | None = "deg:p2p-energy-trading"
    city: str | None = "std:080"
    country: str | None = "IND"
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    public_url: str | None = None
    """Our URL as the target reaches it; default ``http://{host}:{bound port}``."""
    static: bool = False
    """No loopback registry: the operator configured our keys in the target."""
    keys: CounterpartKeys | None = None
    """Our identities; generated for the run when None."""
    ack_timeout: float = 3.0
    """Seconds the target has to answer a request synchronously."""
    callback_timeout: float = 5.0
    """Seconds we wait for a callback; also the ``ttl`` our requests carry."""
    retry_window: float = 3.0
    """Seconds we watch for a retried callback after answering 503 or 400."""
    min_retry_delay: float = 0.1
    """A retry sooner than this after the 503 is not backoff."""
    settle: float = 0.3
    """Seconds we keep listening after the flow, to catch duplicate callbacks."""
    clock_skew: float = 5.0
    """Tolerance when checking the created/expires of the target's signatures."""
    signature_lifetime: int = 60
    """``expires - created`` of our signatures."""
    trigger: Trigger | None = None
    """BAP targets: makes the target send an action (see :mod:`.trigger`)."""
    trigger_command: str | None = None
    """BAP targets: a shell command run once per request the suite needs (``IES_CONFORMANCE_*``
    environment variables say which); takes precedence over ``trigger``."""
    trigger_wait: float = 60.0
    """BAP targets: seconds we wait for the request a trigger asked for."""
    late_wait: float = 10.0
    """BAP targets: the longest request ttl we wait out to send a late callback."""
    only: tuple[str, ...] = ()
    """Run only checks whose id starts with one of these."""
    skip: tuple[str, ...] = ()
    """Leave out checks whose id starts with one of these."""

    @property
    def probe_action(self) -> str:
        """The action the negative and retry checks send (the first one claimed)."""
        return self.actions[0]
