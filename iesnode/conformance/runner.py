"""Running a suite against a target and building the :class:`~.model.Report`.

The target's role picks its checks from :data:`SUITES`, the one place a role is
mapped to the function listing its checks (``module:function``, imported when that
role runs, so a role whose module is not installed yet is reported as such).
``--only``/``--skip`` select checks by id prefix. Each check is timed, its verdict
becomes a ``CheckResult``, and progress is reported as checks start and finish. The
report's exit code is non-zero when a MUST check failed or could not run.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Protocol

import structlog

from iesnode.conformance.counterpart import Counterpart
from iesnode.conformance.model import Check, CheckResult, Outcome, Report
from iesnode.conformance.options import RunOptions, Trigger
from iesnode.conformance.suite import Session, SuiteCheck
from iesnode.errors import ConfigError
from iesnode.model.envelope import utc_timestamp

__all__ = [
    "SUITES",
    "Progress",
    "SuiteUnavailable",
    "run_checks",
    "run_conformance",
    "select",
    "suite",
    "suite_listing",
]

log = structlog.get_logger(__name__)

SUITES: dict[str, str] = {
    "bpp": "iesnode.conformance.checks_bpp:bpp_checks",
    "bap": "iesnode.conformance.checks_bap:bap_checks",
}
"""Target role -> ``module:function(options) -> list[SuiteCheck]``."""


class SuiteUnavailable(ConfigError):
    """The target's role has no checks installed (yet)."""


class Progress(Protocol):
    """Told about each check as it starts and finishes (the terminal progress bar)."""

    def started(self, check: Check) -> None:
        """A check begins."""

    def finished(self, result: CheckResult) -> None:
        """A check has its verdict."""


Listing = Callable[[RunOptions], list[SuiteCheck]]


def suite_listing(role: str) -> Listing:
    """The function listing a role's checks; SuiteUnavailable when not installed."""
    entry = SUITES.get(role)
    if entry is None:
        raise ConfigError(f"unknown target role {role!r}; expected one of {sorted(SUITES)}")
    module_name, _, function = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        path = module_name.replace(".", "/") + ".py"
        raise SuiteUnavailable(
            f"no checks for {role.upper()} targets yet: they come from {path}, "
            "which this installation does not have"
        ) from exc
    listing: Listing = getattr(module, function)
    return listing


def suite(options: RunOptions) -> list[SuiteCheck]:
    """The selected checks for the target's role, in run order."""
    listing = suite_listing(options.target.role)
    return select(listing(options), options.only, options.skip)


def select(
    checks: Sequence[SuiteCheck], only: Sequence[str], skip: Sequence[str]
) -> list[SuiteCheck]:
    """Checks whose id starts with an ``only`` prefix (all when none) and no ``skip`` one."""
    return [
        c
        for c in checks
        if (not only or any(c.check.id.startswith(p) for p in only))
        and not any(c.check.id.startswith(p) for p in skip)
    ]


async def _judge(session: Session, item: SuiteCheck) -> CheckResult:
    started = time.perf_counter()
    try:
        verdict = await item.run(session)
        outcome, message, evidence = verdict.outcome, verdict.message, list(verdict.evidence)
    except Exception as exc:  # a check must never take the run down with it
        log.exception("check_crashed", check=item.check.id)
        outcome, message, evidence = Outcome.ERROR, f"the check failed to run: {exc!r}", []
    elapsed = (time.perf_counter() - started) * 1000
    return CheckResult(item.check, outcome, message, evidence, elapsed)


async def run_checks(
    session: Session, checks: Sequence[SuiteCheck], progress: Progress | None = None
) -> list[CheckResult]:
    """Run ``checks`` one after another (shared exchanges run once); return their results."""
    results: list[CheckResult] = []
    for item in checks:
        if progress is not None:
            progress.started(item.check)
        result = await _judge(session, item)
        results.append(result)
        if progress is not None:
            progress.finished(result)
    return results


async def run_conformance(
    options: RunOptions,
    progress: Progress | None = None,
    *,
    checks: Sequence[SuiteCheck] | None = None,
    on_ready: Callable[[Counterpart], Awaitable[None]] | None = None,
    trigger: Trigger | None = None,
) -> Report:
    """Start the counterpart, run the role's selected checks, return the report.

    ``on_ready`` runs once the counterpart listens (e.g. to print the static-mode
    listing, or to start a target that needs our registry URL). ``trigger`` (BAP
    targets) is awaited as ``trigger(action, bpp_id, bpp_uri)`` whenever the suite
    needs the target to send ``action`` to our BPP (:mod:`.trigger`).
    """
    if trigger is not None:
        options = replace(options, trigger=trigger)
    selected = list(checks) if checks is not None else suite(options)
    report = Report(
        target_url=options.target.url,
        target_role=options.target.role,
        started_at=utc_timestamp(time.time()),
        mode="static" if options.static else "registry",
    )
    async with await Counterpart.start(options) as counterpart:
        if on_ready is not None:
            await on_ready(counterpart)
        session = Session(counterpart)
        try:
            report.results = await run_checks(session, selected, progress)
        finally:
            await session.aclose()
    report.finished_at = utc_timestamp(time.time())
    log.info("conformance_finished", **report.counts(), must_failures=len(report.must_failures))
    return report
