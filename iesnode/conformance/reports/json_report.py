"""The JSON report: :meth:`Report.to_dict` as UTF-8 JSON.

Keys keep the order :meth:`~iesnode.conformance.model.Report.to_dict` builds them in
(target, times, summary, results; each result's fields in a fixed order), indented by
two spaces and ending with a newline, so two runs with the same outcome produce the
same file apart from times and target-controlled evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

from iesnode.conformance.model import Report

__all__ = ["render_json", "write_json"]


def render_json(report: Report) -> str:
    """The report as JSON text (non-ASCII characters kept as they are)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def write_json(report: Report, path: Path) -> None:
    """Write the JSON report to ``path`` as UTF-8.

    Lone surrogates (bytes a target sent that were not UTF-8) are written as ``\\uXXXX``
    escapes, which JSON readers accept, rather than failing the whole report.
    """
    path.write_bytes(render_json(report).encode("utf-8", errors="backslashreplace"))
