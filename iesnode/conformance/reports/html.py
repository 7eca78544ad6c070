"""The HTML report: one self-contained file a participant can open or attach to a ticket.

Everything is inline (CSS, one small script to open or close all evidence panels); a
``Content-Security-Policy`` meta tag forbids loading anything from the network and
allows only that script, by hash. Every piece of text is passed through
:func:`html.escape`: bodies, headers and messages come from the target under test and
must never become markup. The page shows the summary, a table of every check (level,
id, title, outcome, spec section) and, for each failed or errored check, the
requirement it comes from and its evidence: each exchange's request (method, URL,
headers, body), response (status, headers, body) and timing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from pathlib import Path

from iesnode.conformance.model import CheckResult, Exchange, Outcome, Report

__all__ = ["render_html", "write_html"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1f23;background:#fafafa}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.2rem;margin:2rem 0 .5rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d8dbe0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f3}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-all;background:#f3f4f6;padding:.5rem;margin:.2rem 0}
.pass{color:#176f2c}.fail{color:#b3261e;font-weight:600}.error{color:#9a4d00;font-weight:600}
.skip{color:#6b7280}.verdict{font-size:1.1rem;font-weight:700}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:1rem;margin-right:.4rem;
background:#eef0f3}
details{background:#fff;border:1px solid #d8dbe0;margin:.6rem 0;padding:.4rem .8rem}
summary{cursor:pointer;font-weight:600}.exchange{border-top:1px dashed #d8dbe0;margin-top:.6rem}
.meta{color:#4b5563}
"""
_SCRIPT = (
    "document.addEventListener('DOMContentLoaded',function(){"
    "document.querySelectorAll('button[data-open]').forEach(function(b){"
    "b.addEventListener('click',function(){var open=b.dataset.open==='1';"
    "document.querySelectorAll('details').forEach(function(d){d.open=open;});});});});"
)
"""Open or close every evidence panel; inline handlers would need ``'unsafe-hashes'``."""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'"


_NO_EVIDENCE = '<p class="meta">no exchanges recorded</p>'


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _e(text: object) -> str:
    """HTML-escaped text, control characters shown as ``\\xNN``."""
    plain = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return escape(plain, quote=True)


def _anchor(result: CheckResult) -> str:
    return "check-" + _e(result.check.id)


def _summary(report: Report) -> str:
    counts = report.counts()
    verdict = (
        '<span class="fail">FAILED: at least one MUST check did not pass</span>'
        if report.must_failures
        else '<span class="pass">PASSED: every MUST check passed</span>'
    )
    badges = "".join(
        f'<span class="badge {_e(o.value)}">{_e(o.value.upper())} {counts[o.value]}</span>'
        for o in Outcome
    )
    return (
        f'<p class="meta">Target <code>{_e(report.target_url)}</code> '
        f"as <b>{_e(report.target_role)}</b>, mode <b>{_e(report.mode)}</b>; "
        f"started {_e(report.started_at)}, finished {_e(report.finished_at)}</p>"
        f'<p class="verdict">{verdict}</p><p>{badges}'
        f'<span class="badge fail">MUST failures {len(report.must_failures)}</span></p>'
    )


def _table(report: Report) -> str:
    rows = []
    for n, r in enumerate(report.results, 1):
        ident = _e(r.check.id)
        if r.outcome in (Outcome.FAIL, Outcome.ERROR):
            ident = f'<a href="#{_anchor(r)}">{ident}</a>'
        rows.append(
            f"<tr><td>{n}</td><td>{_e(r.check.level.value)}</td><td><code>{ident}</code></td>"
            f"<td>{_e(r.check.title)}</td>"
            f'<td class="{_e(r.outcome.value)}">{_e(r.outcome.value.upper())}</td>'
            f"<td>{_e(r.check.spec_ref)}</td><td>{_e(r.message)}</td></tr>"
        )
    head = (
        "<tr><th>#</th><th>Level</th><th>Check</th><th>Title</th><th>Outcome</th>"
        "<th>Spec</th><th>Message</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _headers(headers: dict[str, str]) -> str:
    if not headers:
        return '<p class="meta">no headers</p>'
    rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td><code>{_e(v)}</code></td></tr>"
        for k, v in headers.items()
    )
    return f"<table>{rows}</table>"


def _body(body: str) -> str:
    return f"<pre>{_e(body)}</pre>" if body else '<p class="meta">empty body</p>'


def _exchange(n: int, ex: Exchange) -> str:
    status = "none recorded" if ex.status is None else _e(ex.status)
    timing = "" if ex.elapsed_ms is None else f", {ex.elapsed_ms:.1f} ms"
    source = f", recorded at <code>{_e(ex.source)}</code>" if ex.source else ""
    note = f"<p><b>Note:</b> {_e(ex.note)}</p>" if ex.note else ""
    return (
        f'<div class="exchange"><p><b>Exchange {n}</b> ({_e(ex.direction)}), '
        f"at {_e(ex.at or 'unknown time')}{timing}{source}</p>{note}"
        f"<p><b>Request</b> <code>{_e(ex.method)} {_e(ex.url)}</code></p>"
        f"{_headers(ex.request_headers)}{_body(ex.request_body)}"
        f"<p><b>Response</b> status <code>{status}</code></p>"
        f"{_headers(ex.response_headers)}{_body(ex.response_body)}</div>"
    )


def _failure(r: CheckResult) -> str:
    evidence = "".join(_exchange(n, ex) for n, ex in enumerate(r.evidence, 1))
    return (
        f'<details id="{_anchor(r)}" open><summary><span class="{_e(r.outcome.value)}">'
        f"{_e(r.outcome.value.upper())}</span> {_e(r.check.level.value)} "
        f"<code>{_e(r.check.id)}</code>: {_e(r.check.title)}</summary>"
        f"<p><b>Requirement</b> ({_e(r.check.level.value)}, {_e(r.check.spec_ref)}): "
        f"{_e(r.check.requirement)}</p>"
        f"<p><b>Result</b>: {_e(r.message)} ({r.duration_ms:.1f} ms)</p>"
        f"{evidence or _NO_EVIDENCE}</details>"
    )


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    failed = [r for r in report.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    failures = "".join(_failure(r) for r in failed) or "<p>No check failed.</p>"
    title = f"iesnode conformance: {report.target_role} {report.target_url}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head>"
        f"<body><h1>iesnode conformance report</h1>{_summary(report)}"
        f"<h2>Checks</h2>{_table(report)}"
        '<h2>Failed checks and their evidence</h2><p><button data-open="1">'
        'Expand all</button> <button data-open="0">Collapse all</button></p>'
        f"{failures}</body></html>\n"
    )


def write_html(report: Report, path: Path) -> None:
    """Write the HTML report to ``path`` as UTF-8."""
    path.write_bytes(render_html(report).encode("utf-8", errors="backslashreplace"))
