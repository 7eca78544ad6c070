"""Reading recorded Beckn message logs for the offline conformance mode.

The format (also described in ``conformance/README.md``, section "Offline: logs"):

* ``*.json`` files hold one record each; ``*.jsonl`` and ``*.ndjson`` files hold one
  record per line (blank lines are skipped). Folders are searched recursively, files
  are read in path order; a single log file may be given instead of a folder.
* A record is either a bare Beckn envelope (an object with a ``context``), or an object
  with a ``body`` and optional metadata::

      {"body": "<the raw body, exactly as sent>" | {...parsed envelope...},
       "headers": {"Authorization": "Signature keyId=...", ...},
       "url": "https://bpp.example.com/beckn/select",
       "direction": "in" | "out" | any label,
       "received_at": "2025-01-31T10:15:00.120Z" | 1738318500.12,
       "response": {"status": 200, "headers": {...}, "body": "..."}}

  ``body_base64`` (base64 of the exact body bytes) may replace ``body``. Header names
  are case-insensitive; a header may be a string or a list of strings.

Signatures cover the exact bytes sent (BECKN-006; ``research/beckn-core.md`` §2.2), so
only a ``body`` logged as a string (or ``body_base64``) can have its signature checked;
a body logged as parsed JSON cannot, and the checks say so instead of guessing.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from iesnode.conformance.model import Exchange, clip
from iesnode.model.envelope import utc_timestamp

__all__ = ["LOG_SUFFIXES", "LoggedMessage", "ReadProblem", "read_logs"]

LOG_SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A log record that could not be read at all (not JSON, wrong field types)."""

    source: str
    reason: str


@dataclass(slots=True)
class LoggedMessage:
    """One recorded message: its body as logged plus whatever metadata was recorded."""

    source: str
    """``file:line`` relative to the log folder."""
    order: int
    """Position in reading order, used to break timestamp ties."""
    doc: Any
    """The decoded body; None when the body is not JSON (see ``decode_error``)."""
    raw: bytes | None
    """The exact body bytes, or None when the body was logged as parsed JSON."""
    decode_error: str = ""
    headers: dict[str, list[str]] | None = None
    """Lower-cased header names; None when no headers were logged."""
    url: str | None = None
    direction: str = ""
    received_at: float | None = None
    response: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> list[str]:
        """Every value logged for header ``name`` (case-insensitive)."""
        return [] if self.headers is None else self.headers.get(name.lower(), [])

    def exchange(self, note: str) -> Exchange:
        """This message as report evidence, with ``note`` saying what is wrong with it."""
        if self.raw is not None:
            body = self.raw.decode("utf-8", errors="replace")
        else:
            body = json.dumps(self.doc, ensure_ascii=False, indent=2)
        at = "" if self.received_at is None else utc_timestamp(self.received_at)
        response = self.response
        return Exchange(
            direction=self.direction or "logged",
            method="POST",
            url=self.url or "",
            request_headers={k: ", ".join(v) for k, v in (self.headers or {}).items()},
            request_body=clip(body),
            status=response.get("status") if isinstance(response.get("status"), int) else None,
            response_headers={str(k): str(v) for k, v in response.get("headers", {}).items()},
            response_body=clip(str(response.get("body", ""))),
            at=at,
            note=note,
            source=self.source,
        )


class _BadRecord(ValueError):
    """A record whose fields have the wrong shape."""


def _headers(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise _BadRecord("headers must be an object of name -> value")
    out: dict[str, list[str]] = {}
    for name, v in value.items():
        values = v if isinstance(v, list) else [v]
        if not all(isinstance(x, str) for x in values):
            raise _BadRecord(f"header {name!r} must be a string or a list of strings")
        out.setdefault(str(name).lower(), []).extend(values)
    return out


def _received_at(value: Any) -> float:
    if isinstance(value, bool):
        raise _BadRecord("received_at must be an RFC 3339 time or Unix seconds")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    raise _BadRecord("received_at must be an RFC 3339 time or Unix seconds")


def _body(record: dict[str, Any]) -> tuple[Any, bytes | None, str]:
    """(decoded body, raw bytes or None, decode error) of a record."""
    if "body_base64" in record:
        try:
            raw = base64.b64decode(str(record["body_base64"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _BadRecord("body_base64 is not valid base64") from exc
    elif isinstance(record["body"], str):
        try:
            raw = record["body"].encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError as exc:
            raise _BadRecord("body holds characters UTF-8 cannot carry; use body_base64") from exc
    else:
        return record["body"], None, ""
    try:
        return json.loads(raw), raw, ""
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, raw, f"body is not JSON: {exc}"


def _message(value: Any, source: str, order: int, raw_text: bytes) -> LoggedMessage:
    if not isinstance(value, dict) or ("body" not in value and "body_base64" not in value):
        return LoggedMessage(source, order, doc=value, raw=raw_text)
    doc, raw, error = _body(value)
    response = value.get("response", {})
    if not isinstance(response, dict) or not isinstance(response.get("headers", {}), dict):
        raise _BadRecord("response must be an object with an object of headers")
    url = value.get("url")
    if url is not None and not isinstance(url, str):
        raise _BadRecord("url must be a string")
    received = value.get("received_at")
    return LoggedMessage(
        source,
        order,
        doc=doc,
        raw=raw,
        decode_error=error,
        headers=_headers(value["headers"]) if "headers" in value else None,
        url=url,
        direction=str(value.get("direction", "")),
        received_at=None if received is None else _received_at(received),
        response=response,
    )


def _records(path: Path) -> list[tuple[int, bytes]]:
    """(line number, text) of every record in one file."""
    data = path.read_bytes()
    if path.suffix == ".json":
        return [(1, data)]
    return [(n, line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]


def read_logs(directory: Path) -> tuple[list[LoggedMessage], list[ReadProblem]]:
    """Every message logged under ``directory`` (or in that one file), and unreadable records."""
    messages: list[LoggedMessage] = []
    problems: list[ReadProblem] = []
    if directory.is_file():
        files, base = [directory], directory.parent
    else:
        files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in LOG_SUFFIXES)
        base = directory
    for path in files:
        name = path.relative_to(base).as_posix()
        try:
            records = _records(path)
        except OSError as exc:
            problems.append(ReadProblem(f"{name}:1", f"cannot read the file: {exc}"))
            continue
        for line, text in records:
            source = f"{name}:{line}"
            try:
                value = json.loads(text)
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                problems.append(ReadProblem(source, f"not a JSON record: {exc}"))
                continue
            try:
                messages.append(_message(value, source, len(messages), text.strip()))
            except _BadRecord as exc:
                problems.append(ReadProblem(source, str(exc)))
    return messages, problems
