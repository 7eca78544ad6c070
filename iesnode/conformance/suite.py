"""What a check is made of: its :class:`~iesnode.conformance.model.Check` and an async run.

A :class:`SuiteCheck` pairs the requirement (id, level, spec section) with the coroutine
that judges the target against it and returns a :class:`Verdict` (outcome, reason,
evidence); the runner times it and turns it into a ``CheckResult``. Checks that judge
one shared exchange (a flow's callbacks are judged for arrival, signature, correlation
and schema) get it from :meth:`Session.shared`, which runs it once per run however many
checks ask for it and whichever of them is selected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from iesnode.conformance.counterpart import Counterpart
from iesnode.conformance.model import Check, Exchange, Outcome
from iesnode.conformance.options import RunOptions

__all__ = ["CheckRun", "Session", "SuiteCheck", "Verdict", "failed", "passed", "skipped"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check with its reason and evidence."""

    outcome: Outcome
    message: str
    evidence: Sequence[Exchange] = ()


def passed(message: str, evidence: Sequence[Exchange] = ()) -> Verdict:
    """The target meets the requirement."""
    return Verdict(Outcome.PASS, message, evidence)


def failed(message: str, evidence: Sequence[Exchange] = ()) -> Verdict:
    """The target breaks the requirement."""
    return Verdict(Outcome.FAIL, message, evidence)


def skipped(message: str, evidence: Sequence[Exchange] = ()) -> Verdict:
    """Not applicable, or nothing to judge (the check it depends on says why)."""
    return Verdict(Outcome.SKIP, message, evidence)


@dataclass
class Session:
    """One run: its options, the started counterpart, and exchanges shared by checks."""

    counterpart: Counterpart
    _shared: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    @property
    def options(self) -> RunOptions:
        """The run's options."""
        return self.counterpart.options

    async def shared(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        """The result of ``make()``, run once per ``key`` for the whole run."""
        result: T = await asyncio.shield(self.start(key, make))
        return result

    def start(self, key: str, make: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Start ``make()`` once per ``key`` without waiting; it is cancelled with the run."""
        task = self._shared.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._shared[key] = task
        return task

    async def aclose(self) -> None:
        """Cancel shared exchanges still running (a check was skipped or crashed)."""
        for task in self._shared.values():
            task.cancel()
        await asyncio.gather(*self._shared.values(), return_exceptions=True)


CheckRun = Callable[[Session], Awaitable[Verdict]]


@dataclass(frozen=True, slots=True)
class SuiteCheck:
    """A requirement and the coroutine that judges the target against it."""

    check: Check
    run: CheckRun
