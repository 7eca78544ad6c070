"""The JUnit XML report, for CI systems (Jenkins, GitLab, GitHub test reporters).

Layout follows the de-facto JUnit schema those tools read (the Ant ``junitreport``
format): one ``<testsuites>`` root, one ``<testsuite>`` per target role with the
target's URL, role and mode as ``<properties>``, one ``<testcase>`` per check.
A testcase's ``classname`` is ``<level>.<area>`` (``MUST.bpp.sig``), its ``name``
the stable check id, so CI history follows a check across runs. FAIL becomes
``<failure>``, ERROR ``<error>``, SKIP ``<skipped/>``; the body of a failure names
the requirement, its spec section and a one-line summary of each evidence exchange.

Text from the target (bodies, messages) can hold characters XML 1.0 forbids; they are
replaced by ``\\xNN`` escapes so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from iesnode.conformance.model import CheckResult, Exchange, Outcome, Report

__all__ = ["classname", "render_junit", "write_junit"]

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry written as ``\\xNN`` escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _timestamp(text: str) -> str | None:
    """The ``timestamp`` attribute as the JUnit schema types it: UTC, no zone suffix."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def classname(result: CheckResult) -> str:
    """``<level>.<area>``: the check id without its last segment, behind the level."""
    area = result.check.id.rsplit(".", 1)[0] if "." in result.check.id else result.check.id
    return f"{result.check.level.value}.{area}"


def _exchange_line(ex: Exchange) -> str:
    arrow = "<-" if ex.direction == "from-target" else "->"
    status = "no response recorded" if ex.status is None else str(ex.status)
    took = "" if ex.elapsed_ms is None else f" in {ex.elapsed_ms:.0f} ms"
    where = f" [{ex.source}]" if ex.source else ""
    note = f": {ex.note}" if ex.note else ""
    return f"{arrow} {ex.method} {ex.url} => {status}{took}{where}{note}"


def _details(result: CheckResult) -> str:
    lines = [
        result.message,
        "",
        f"Requirement ({result.check.level.value}, {result.check.spec_ref}): "
        f"{result.check.requirement}",
    ]
    if result.evidence:
        lines += ["", "Evidence:"]
        lines += [f"  {_exchange_line(ex)}" for ex in result.evidence]
    return "\n".join(lines)


def _count(results: Iterable[CheckResult], outcome: Outcome) -> int:
    return sum(1 for r in results if r.outcome is outcome)


def _testcase(parent: ET.Element, result: CheckResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=classname(result),
        name=_xml_text(result.check.id),
        time=_seconds(result.duration_ms),
    )
    message = _xml_text(result.message)
    if result.outcome is Outcome.FAIL:
        failure = ET.SubElement(case, "failure", message=message, type=result.check.level.value)
        failure.text = _xml_text(_details(result))
    elif result.outcome is Outcome.ERROR:
        error = ET.SubElement(case, "error", message=message, type="ERROR")
        error.text = _xml_text(_details(result))
    elif result.outcome is Outcome.SKIP:
        ET.SubElement(case, "skipped", message=message)
    out = ET.SubElement(case, "system-out")
    out.text = _xml_text(f"{result.check.title}\n{result.check.spec_ref}\n{result.message}")


def _suite(parent: ET.Element, report: Report, results: list[CheckResult]) -> None:
    suite = ET.SubElement(
        parent,
        "testsuite",
        name=f"conformance.{report.target_role}",
        tests=str(len(results)),
        failures=str(_count(results, Outcome.FAIL)),
        errors=str(_count(results, Outcome.ERROR)),
        skipped=str(_count(results, Outcome.SKIP)),
        time=_seconds(sum(r.duration_ms for r in results)),
    )
    stamp = _timestamp(report.started_at)
    if stamp is not None:
        suite.set("timestamp", stamp)
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("target.url", report.target_url),
        ("target.role", report.target_role),
        ("target.mode", report.mode),
        ("must_failures", str(len(report.must_failures))),
    ):
        ET.SubElement(props, "property", name=name, value=_xml_text(value))
    for result in results:
        _testcase(suite, result)


def render_junit(report: Report) -> bytes:
    """The report as a UTF-8 JUnit XML document (with its XML declaration)."""
    root = ET.Element(
        "testsuites",
        name="iesnode conformance",
        tests=str(len(report.results)),
        failures=str(_count(report.results, Outcome.FAIL)),
        errors=str(_count(report.results, Outcome.ERROR)),
        skipped=str(_count(report.results, Outcome.SKIP)),
        time=_seconds(sum(r.duration_ms for r in report.results)),
    )
    _suite(root, report, report.results)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write_junit(report: Report, path: Path) -> None:
    """Write the JUnit XML report to ``path``."""
    path.write_bytes(render_junit(report))
