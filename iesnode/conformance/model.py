"""What a conformance run produces: checks, their outcomes and the evidence behind them.

A :class:`Check` is one requirement of the protocol (Beckn core v1.1.1 / v2.0.0, BECKN-006
signing), tagged MUST or SHOULD after RFC 2119 and naming the spec section it comes from
(see ``research/beckn-core.md`` §7 for the checklist these are drawn from). Running a check
against a target yields a :class:`CheckResult` carrying every HTTP exchange it made
(:class:`Exchange`), so a failed check can be shown with its request, response, headers and
timing. A :class:`Report` is the whole run; every report format renders from
:meth:`Report.to_dict` so they never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Check", "CheckResult", "Exchange", "Level", "Outcome", "Report"]

EVIDENCE_BODY_LIMIT = 16_384
"""Bodies kept as evidence are cut at this many characters (the cut is marked)."""


class Level(StrEnum):
    """RFC 2119 requirement level of a check."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Outcome(StrEnum):
    """How a check ended against the target."""

    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    FAIL = "fail"
    SKIP = "skip"
    """Not applicable: the target does not claim the action the check needs."""
    ERROR = "error"
    """The check could not run to a verdict (e.g. the target was unreachable)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One requirement: ``id`` is stable (``bpp.sig.tampered-body``) and used in every report."""

    id: str
    title: str
    level: Level
    spec_ref: str
    """Where the requirement comes from, e.g. ``BECKN-006 §5.2 (verification)``."""
    requirement: str
    """The requirement in one or two sentences (our words), shown next to a failure."""
    target_roles: tuple[str, ...] = ("bpp",)


def clip(text: str, limit: int = EVIDENCE_BODY_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"


@dataclass(slots=True)
class Exchange:
    """One HTTP exchange with the target (either direction), kept as evidence."""

    direction: str
    """``to-target`` (we sent a request) or ``from-target`` (the target called us)."""
    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    elapsed_ms: float | None = None
    at: str = ""
    """RFC 3339 time the exchange started."""
    note: str = ""
    source: str = ""
    """Where the exchange was recorded (``file:line`` of a message log), empty when live."""


@dataclass(slots=True)
class CheckResult:
    """The verdict of one check with its reason and evidence."""

    check: Check
    outcome: Outcome
    message: str
    evidence: list[Exchange] = field(default_factory=list)
    duration_ms: float = 0.0


@dataclass(slots=True)
class Report:
    """A whole run against one target."""

    target_url: str
    target_role: str
    started_at: str
    finished_at: str = ""
    mode: str = "registry"
    """``registry`` (target looks our keys up in our loopback registry), ``static``, or ``logs``."""
    results: list[CheckResult] = field(default_factory=list)

    @property
    def must_failures(self) -> list[CheckResult]:
        """MUST checks that failed or could not run: each makes the exit code non-zero."""
        return [
            r
            for r in self.results
            if r.check.level is Level.MUST and r.outcome in (Outcome.FAIL, Outcome.ERROR)
        ]

    def counts(self) -> dict[str, int]:
        """Number of results per outcome (every outcome present, zero included)."""
        counts = {o.value: 0 for o in Outcome}
        for r in self.results:
            counts[r.outcome.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 when no MUST check failed, 1 otherwise."""
        return 1 if self.must_failures else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the JSON report format, and the source of the others)."""
        return {
            "target": {"url": self.target_url, "role": self.target_role, "mode": self.mode},
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "summary": {**self.counts(), "must_failures": len(self.must_failures)},
            "results": [
                {
                    "id": r.check.id,
                    "title": r.check.title,
                    "level": r.check.level.value,
                    "spec_ref": r.check.spec_ref,
                    "requirement": r.check.requirement,
                    "outcome": r.outcome.value,
                    "message": r.message,
                    "duration_ms": round(r.duration_ms, 1),
                    "evidence": [asdict(e) for e in r.evidence],
                }
                for r in self.results
            ],
        }
