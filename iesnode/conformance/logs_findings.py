"""What one offline check found across the logs, and how that becomes a verdict.

A check looks at every message (or transaction) it applies to and records one of:
a violation (with the offending ``file:line`` as evidence), a pass, or "cannot be
checked" with the reason (no headers logged, body logged as parsed JSON, no key
source). Violations fail the check; a check that could check nothing is skipped with
the reasons; otherwise it passes, saying how many messages it could not check, so a
pass is never claimed for messages that were not examined.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from iesnode.conformance.logs_reader import LoggedMessage
from iesnode.conformance.model import Exchange, Outcome

__all__ = ["MAX_EVIDENCE", "Findings"]

MAX_EVIDENCE = 50
"""Violations kept as evidence per check; the message still counts them all."""


@dataclass(slots=True)
class Findings:
    """Violations, passes and unchecked messages of one check."""

    noun: str = "message"
    violations: list[Exchange] = field(default_factory=list)
    checked: int = 0
    unchecked: Counter[str] = field(default_factory=Counter)

    def ok(self) -> None:
        """One message (or transaction) met the requirement."""
        self.checked += 1

    def fail(self, message: LoggedMessage, note: str) -> None:
        """``message`` breaks the requirement; ``note`` says how."""
        self.checked += 1
        self.violations.append(message.exchange(note))

    def cannot(self, reason: str) -> None:
        """One message could not be checked, for ``reason``."""
        self.unchecked[reason] += 1

    def _reasons(self) -> str:
        return "; ".join(f"{n} {self._plural(n)}: {why}" for why, n in self.unchecked.most_common())

    def _plural(self, n: int) -> str:
        return self.noun if n == 1 else f"{self.noun}s"

    def verdict(self) -> tuple[Outcome, str, list[Exchange]]:
        """(outcome, one-line reason, evidence) for the check's result."""
        if self.violations:
            first = self.violations[0]
            text = (
                f"{len(self.violations)} of {self.checked} {self._plural(self.checked)} "
                f"break the requirement; first at {first.source}: {first.note}"
            )
            return Outcome.FAIL, text, self.violations[:MAX_EVIDENCE]
        if self.checked == 0:
            if self.unchecked:
                return Outcome.SKIP, f"nothing could be checked: {self._reasons()}", []
            return Outcome.SKIP, f"no {self.noun} in the logs that this check applies to", []
        text = f"{self.checked} {self._plural(self.checked)} checked"
        if self.unchecked:
            text += f"; not checked: {self._reasons()}"
        return Outcome.PASS, text, []
