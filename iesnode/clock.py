"""Clocks: the system clock, and a settable one for tests and simulations."""

from __future__ import annotations

import time

__all__ = ["FrozenClock", "SystemClock"]


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        """Return the frozen time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._now += seconds
