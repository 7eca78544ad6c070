"""Report formats of a conformance run: JSON, JUnit XML, HTML and the terminal view.

Every file format renders from :meth:`~iesnode.conformance.model.Report.to_dict` data
(or the same :class:`~iesnode.conformance.model.Report`), so the formats never disagree.
"""

from __future__ import annotations

from pathlib import Path

from iesnode.conformance.model import Report
from iesnode.conformance.reports.html import write_html
from iesnode.conformance.reports.json_report import write_json
from iesnode.conformance.reports.junit import write_junit

__all__ = ["write_reports"]


def write_reports(
    report: Report,
    *,
    junit: Path | None = None,
    json: Path | None = None,
    html: Path | None = None,
) -> None:
    """Write each report format whose path is given (parent folders are created)."""
    for path, write in ((junit, write_junit), (json, write_json), (html, write_html)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(report, path)
