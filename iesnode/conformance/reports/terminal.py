"""Live progress and the closing summary of a conformance run, in the terminal.

On a terminal a rich progress bar advances as checks finish, and every MUST check that
fails is printed above it as it happens. On anything else (a CI log, a pipe, a file)
there are no control codes: one plain line per finished check instead of the bar.
:meth:`TerminalProgress.summary` prints a table of every result, the counts, and each
MUST failure with its reason (the failures that make ``iesnode conformance`` exit 1).

Text from the target (messages quoting its answers) is printed as
:class:`rich.text.Text`, never interpreted as rich markup, and its control characters
(ESC and friends, which could rewrite the operator's terminal) are shown as ``\\xNN``.
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from iesnode.conformance.model import Check, CheckResult, Level, Outcome, Report

__all__ = ["TerminalProgress"]

_STYLES = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.ERROR: "bold yellow",
    Outcome.SKIP: "dim",
}


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text: str) -> str:
    """``text`` with terminal control characters written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _outcome(outcome: Outcome) -> Text:
    return Text(outcome.value.upper(), style=_STYLES[outcome])


def _is_must_failure(result: CheckResult) -> bool:
    return result.check.level is Level.MUST and result.outcome in (Outcome.FAIL, Outcome.ERROR)


class TerminalProgress:
    """Progress of ``total`` checks on ``console``; use as a context manager."""

    def __init__(self, console: Console, total: int) -> None:
        self._console = console
        self._total = total
        self._done = 0
        self._live = console.is_terminal and not console.is_dumb_terminal
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not self._live,
            transient=True,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        self._progress.start()
        self._task = self._progress.add_task("conformance", total=self._total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def started(self, check: Check) -> None:
        """Show which check is running."""
        if self._task is not None:
            self._progress.update(self._task, description=check.id)

    def finished(self, result: CheckResult) -> None:
        """Advance the bar; print a MUST failure at once (and every result when not a TTY)."""
        self._done += 1
        if self._task is not None:
            self._progress.advance(self._task)
        if _is_must_failure(result):
            self._console.print(
                Text.assemble(
                    _outcome(result.outcome),
                    " MUST ",
                    (result.check.id, "bold"),
                    f": {_safe(result.message)}",
                )
            )
        elif not self._live:
            width = len(str(self._total))
            self._console.print(
                Text.assemble(
                    f"{self._done:>{width}}/{self._total} ",
                    _outcome(result.outcome),
                    f" {result.check.level.value} {result.check.id}",
                )
            )

    def summary(self, report: Report) -> None:
        """Print the results table, the counts and every MUST failure with its reason."""
        table = Table(title=f"Conformance of {report.target_role} {report.target_url}")
        table.add_column("Level")
        table.add_column("Check")
        table.add_column("Outcome")
        table.add_column("ms", justify="right")
        table.add_column("Message")
        for r in report.results:
            table.add_row(
                Text(r.check.level.value),
                Text(r.check.id),
                _outcome(r.outcome),
                Text(f"{r.duration_ms:.0f}"),
                Text(_safe(r.message), style="dim" if r.outcome is Outcome.PASS else ""),
            )
        self._console.print(table)
        counts = report.counts()
        failures = report.must_failures
        self._console.print(
            Text(
                f"{len(report.results)} checks: {counts['pass']} passed, {counts['fail']} "
                f"failed, {counts['error']} errors, {counts['skip']} skipped; "
                f"{len(failures)} MUST failure{'' if len(failures) == 1 else 's'}"
            )
        )
        for r in failures:
            self._console.print(
                Text.assemble(
                    "  ",
                    _outcome(r.outcome),
                    " ",
                    (r.check.id, "bold"),
                    f" ({r.check.spec_ref}): {_safe(r.message)}",
                )
            )
        verdict = (
            Text("NOT CONFORMANT: MUST checks failed", style="bold red")
            if failures
            else Text("CONFORMANT: every MUST check passed", style="bold green")
        )
        self._console.print(verdict)
