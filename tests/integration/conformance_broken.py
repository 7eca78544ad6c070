"""What the broken conformance targets and their tests share: serving, answering, judging.

Both :class:`~tests.integration.conformance_targets.BrokenBpp` and
:class:`~tests.integration.conformance_bap_targets.BrokenBap` serve ``POST /{action}``
on a free 127.0.0.1 port, answer with a Beckn ``Ack``/NACK body in the dialect of the
body they got (v2 when it cannot be read), answer an ``AuthError`` with 401 and any other
``ProtocolError`` with its HTTP status, and check a signature's created/expires against
the clock (BECKN-006 verification step 5, ``research/beckn-core.md`` section 2.3). Their
tests compare the checks a report failed with those a flaw should fail; the eight
signature refusals (401) are named alike in the BPP and the BAP suite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from iesnode.conformance.model import Outcome, Report
from iesnode.errors import AuthError, ProtocolError
from iesnode.model.envelope import Dialect
from iesnode.protocol.acks import ack_body
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.signing import SignatureHeader

__all__ = [
    "SKEW",
    "ack_response",
    "check_times",
    "compact_json",
    "failures",
    "guarded",
    "serve",
    "signature_401",
]

SKEW = 5.0
"""Seconds a signature's ``created`` may lie in the future."""

Accept = Callable[[web.Request, bytes], Awaitable[web.Response]]
Answer = Callable[[bytes, ProtocolError | None, int], web.Response]


def compact_json(doc: Any) -> bytes:
    """``doc`` as compact UTF-8 JSON, the bytes a target signs and sends."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


async def serve(
    endpoint: Callable[[web.Request], Awaitable[web.Response]],
) -> tuple[web.AppRunner, str]:
    """Serve ``POST /{action}`` on a free loopback port: the runner and its base URL."""
    app = web.Application()
    app.router.add_post("/{action}", endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def ack_response(
    body: bytes, error: ProtocolError | None, status: int, headers: dict[str, str]
) -> web.Response:
    """An ACK (``error`` None) or NACK answering ``body``, in its dialect."""
    try:
        dialect = detect_dialect(json.loads(body))
    except (ValueError, ProtocolError):
        dialect = Dialect.V2
    return web.Response(
        status=status,
        body=ack_body(dialect, error=error),
        content_type="application/json",
        headers=headers,
    )


async def guarded(request: web.Request, accept: Accept, answer: Answer) -> web.Response:
    """``accept`` the request; a refusal it raises is answered 401 or its HTTP status."""
    body = await request.read()
    try:
        return await accept(request, body)
    except AuthError as exc:
        return answer(body, exc, 401)
    except ProtocolError as exc:
        return answer(body, exc, exc.http_status)


def check_times(header: SignatureHeader, *, accepts_expired: bool = False) -> None:
    """Refuse a signature created in the future, or expired unless ``accepts_expired``."""
    now = time.time()
    if header.created > now + SKEW:
        raise AuthError("AUT_SIGNATURE_NOT_YET_VALID", "created in the future")
    if now > header.expires and not accepts_expired:
        raise AuthError("AUT_SIGNATURE_EXPIRED", "expired")


def failures(report: Report) -> set[str]:
    """Ids of checks that failed or could not run."""
    return {r.check.id for r in report.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)}


def signature_401(prefix: str) -> set[str]:
    """Ids of the eight checks refusing a bad signature with 401, under ``prefix``."""
    return {
        f"{prefix}.{name}"
        for name in (
            "tampered-body",
            "equivalent-body",
            "other-key",
            "missing",
            "garbled",
            "expired",
            "future",
            "sender-mismatch",
        )
    }
