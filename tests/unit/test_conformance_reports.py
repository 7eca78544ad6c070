"""Report formats of a conformance run: JUnit XML, JSON, HTML and the terminal view."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path

from rich.console import Console

from iesnode.conformance.model import Check, CheckResult, Exchange, Level, Outcome, Report
from iesnode.conformance.reports import write_reports
from iesnode.conformance.reports.html import render_html
from iesnode.conformance.reports.json_report import render_json
from iesnode.conformance.reports.junit import render_junit
from iesnode.conformance.reports.terminal import TerminalProgress

HOSTILE = '<script>alert("x")</script>'
TAMPERED = Check(
    id="bpp.sig.tampered-body",
    title="Rejects a tampered body",
    level=Level.MUST,
    spec_ref="BECKN-006 step 4",
    requirement="A body changed after signing is rejected with 401.",
)
RETRY = Check(
    id="bpp.callback.retry",
    title="Retries a callback answered 503",
    level=Level.SHOULD,
    spec_ref="NFH-008 retries",
    requirement="A callback answered 503 is retried with backoff.",
)
ACK = Check(
    id="bpp.ack.select",
    title="ACKs a valid select",
    level=Level.MUST,
    spec_ref="Ack.yaml",
    requirement="A valid select gets an ACK.",
)
TRACK = Check(
    id="bpp.flow.track",
    title="Answers track",
    level=Level.SHOULD,
    spec_ref="transaction.yaml",
    requirement="track is answered by on_track.",
)
UNREACHABLE = Check(
    id="bpp.flow.confirm",
    title="Answers confirm",
    level=Level.MUST,
    spec_ref="transaction.yaml",
    requirement="confirm is answered by on_confirm.",
)


def exchange() -> Exchange:
    """A request the target wrongly accepted, with a hostile response body."""
    return Exchange(
        direction="to-target",
        method="POST",
        url="http://127.0.0.1:9/select",
        request_headers={"Authorization": 'Signature keyId="a|b|ed25519"'},
        request_body='{"context": {"action": "select"}}',
        status=200,
        response_headers={"Content-Type": "text/html", "X-Evil": HOSTILE},
        response_body=HOSTILE,
        elapsed_ms=12.5,
        at="2025-01-31T10:15:00.000Z",
        note="expected 401",
        source="",
    )


def report() -> Report:
    """A run with one result of every outcome; the failure's message quotes rich markup."""
    return Report(
        target_url="http://127.0.0.1:9",
        target_role="bpp",
        started_at="2025-01-31T10:15:00.000Z",
        finished_at="2025-01-31T10:15:02.000Z",
        mode="static",
        results=[
            CheckResult(TAMPERED, Outcome.FAIL, "answered 200 [bold]ACK[/bold]", [exchange()], 15),
            CheckResult(RETRY, Outcome.FAIL, "no retry within 10 s", [], 10_000),
            CheckResult(ACK, Outcome.PASS, "ACK in 3 ms", [], 3),
            CheckResult(TRACK, Outcome.SKIP, "target does not claim track", [], 0),
            CheckResult(UNREACHABLE, Outcome.ERROR, "connection refused \x00\x1b[31m", [], 1),
        ],
    )


def test_junit_counts_match_the_report() -> None:
    """The JUnit XML parses and its suite counts match the report's outcomes."""
    root = ET.fromstring(render_junit(report()))
    (suite,) = root.findall("testsuite")
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "5", "failures": "2", "errors": "1", "skipped": "1"}
    assert root.get("tests") == "5"
    assert suite.get("name") == "conformance.bpp"
    assert suite.get("timestamp") == "2025-01-31T10:15:00"


def test_junit_testcases_carry_level_area_and_verdict() -> None:
    """Each check is a testcase named by id, classed level.area, with failure/error/skipped."""
    suite = ET.fromstring(render_junit(report())).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["bpp.sig.tampered-body"].get("classname") == "MUST.bpp.sig"
    assert cases["bpp.callback.retry"].get("time") == "10.000"
    failure = cases["bpp.sig.tampered-body"].find("failure")
    assert failure is not None
    assert failure.get("message") == "answered 200 [bold]ACK[/bold]"
    assert "BECKN-006 step 4" in (failure.text or "")
    assert "POST http://127.0.0.1:9/select => 200 in 12 ms: expected 401" in (failure.text or "")
    assert cases["bpp.flow.confirm"].find("error") is not None
    assert cases["bpp.flow.track"].find("skipped") is not None
    assert [len(cases["bpp.ack.select"].findall(t)) for t in ("failure", "error")] == [0, 0]


def test_junit_properties_name_the_target() -> None:
    """Suite properties carry the target URL, role and mode."""
    suite = ET.fromstring(render_junit(report())).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["target.url"] == "http://127.0.0.1:9"
    assert (props["target.role"], props["target.mode"]) == ("bpp", "static")


def test_junit_escapes_characters_xml_forbids() -> None:
    """NUL and ESC from a target's answer become visible escapes, keeping the XML parseable."""
    suite = ET.fromstring(render_junit(report())).find("testsuite")
    assert suite is not None
    error = suite.find("testcase[@name='bpp.flow.confirm']/error")
    assert error is not None
    assert error.get("message") == "connection refused \\x00\\x1b[31m"


def test_json_report_is_to_dict_with_two_space_indent(tmp_path: Path) -> None:
    """The JSON file is Report.to_dict() as UTF-8, indented by two spaces."""
    path = tmp_path / "r.json"
    write_reports(report(), json=path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == report().to_dict()
    assert text.splitlines()[1].startswith('  "target"')
    assert render_json(report()) == text


def test_json_report_keeps_non_ascii_as_utf8() -> None:
    """Non-ASCII text is written as UTF-8 characters, not \\u escapes."""
    r = report()
    r.results[2].message = "ACK in 3 ms — ₹"
    assert "ACK in 3 ms — ₹" in render_json(r)


def test_html_escapes_target_bodies_and_headers() -> None:
    """A response body or header holding <script> is shown escaped, never as markup."""
    page = render_html(report())
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1
    assert "connection refused \\x00\\x1b[31m" in page


def test_html_shows_failed_check_evidence() -> None:
    """Each failed check shows requirement, spec section, request, response and timing."""
    page = render_html(report())
    for text in (
        "A body changed after signing is rejected with 401.",
        "BECKN-006 step 4",
        "POST http://127.0.0.1:9/select",
        "Signature keyId=&quot;a|b|ed25519&quot;",
        "status <code>200</code>",
        "12.5 ms",
        'id="check-bpp.callback.retry"',
    ):
        assert text in page
    assert 'id="check-bpp.ack.select"' not in page


def test_html_is_self_contained() -> None:
    """No external asset is referenced and the CSP allows only the inline script's hash."""
    page = render_html(report())
    assert not re.search(r"<link|\ssrc=|@import|url\(", page)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src &#x27;sha256-{digest}&#x27;" in page
    assert "default-src &#x27;none&#x27;" in page


def test_write_reports_writes_each_requested_file(tmp_path: Path) -> None:
    """write_reports creates parent folders and writes every format given a path."""
    paths = {k: tmp_path / "out" / k / f"report.{k}" for k in ("junit", "json", "html")}
    write_reports(report(), junit=paths["junit"], json=paths["json"], html=paths["html"])
    assert all(p.stat().st_size > 0 for p in paths.values())
    ET.parse(paths["junit"])


def test_write_reports_writes_only_what_is_asked(tmp_path: Path) -> None:
    """Formats without a path are not written."""
    write_reports(report(), html=tmp_path / "r.html")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def _run_progress(console: Console) -> None:
    r = report()
    with TerminalProgress(console, total=len(r.results)) as progress:
        for result in r.results:
            progress.started(result.check)
            progress.finished(result)
    progress.summary(r)


def test_terminal_without_tty_writes_plain_lines() -> None:
    """On a non-terminal console: no control codes, one line per check, MUST failures shown."""
    out = StringIO()
    _run_progress(Console(file=out, width=120))
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "ERROR MUST bpp.flow.confirm: connection refused \\x00\\x1b[31m" in text
    assert "FAIL MUST bpp.sig.tampered-body: answered 200 [bold]ACK[/bold]" in text
    assert "3/5 PASS MUST bpp.ack.select" in text
    assert "2/5 FAIL SHOULD bpp.callback.retry" in text


def test_terminal_summary_counts_and_must_failures() -> None:
    """The summary has a row per check, the counts and each MUST failure with its reason."""
    out = StringIO()
    _run_progress(Console(file=out, width=160))
    text = out.getvalue()
    assert "5 checks: 1 passed, 2 failed, 1 errors, 1 skipped; 2 MUST failures" in text
    assert "FAIL bpp.sig.tampered-body (BECKN-006 step 4): answered 200" in text
    assert "NOT CONFORMANT" in text
    assert all(c in text for c in ("bpp.flow.track", "bpp.flow.confirm", "bpp.ack.select"))


def test_terminal_with_tty_prints_must_failures_as_they_happen() -> None:
    """On a terminal the bar runs; MUST failures are printed when they finish, passes are not."""
    out = StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    r = report()
    with TerminalProgress(console, total=len(r.results)) as progress:
        progress.started(r.results[0].check)
        progress.finished(r.results[0])
        assert "bpp.sig.tampered-body" in out.getvalue()
        for result in r.results[1:]:
            progress.started(result.check)
            progress.finished(result)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "FAIL MUST bpp.sig.tampered-body" in plain
    assert "PASS" not in plain
