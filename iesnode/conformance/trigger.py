"""Making a BAP target send a request, and receiving that request at our BPP.

A BAP sends only when its user or application makes it (it is the initiating side of
every Beckn action, ``research/beckn-core.md`` section 1.1), so for each request the
suite needs it asks the operator's *trigger*, then waits for the request to arrive at
our BPP (``POST {public}/bpp/{action}``, or ``/gateway/discover``). One of three ways:

* ``--trigger-command CMD``: the command runs through the shell once per request, with
  the environment variables of :data:`TRIGGER_ENV`; it may exit once the BAP has sent
  (or keep running); one still running when the run ends is stopped;
* Python: ``run_conformance(..., trigger=fn)``, awaited as ``fn(action, bpp_id, bpp_uri)``;
* neither: the suite logs what to send and waits ``--trigger-wait`` seconds for the
  operator to make the BAP send it.

A trigger that fails (raises, or the command exits non-zero) is not a verdict by
itself: a BAP refused with 400 may well fail. It only shortens the wait for a request
that is then unlikely to come, and its output is kept as evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from iesnode.conformance.bap_wire import REQUEST_PATHS, TargetRequest
from iesnode.conformance.messages import request_message
from iesnode.conformance.model import Exchange, clip
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.suite import Session
from iesnode.model.envelope import Dialect, utc_timestamp
from iesnode.protocol.actions import canonical, wire_name

__all__ = ["TRIGGER_ENV", "Asked", "TriggerRun", "ask"]

log = structlog.get_logger(__name__)

TRIGGER_ENV: dict[str, str] = {
    "IES_CONFORMANCE_ACTION": "the action to send, canonical (v2) name: discover, select, ...",
    "IES_CONFORMANCE_WIRE_ACTION": "the same in --dialect (search for discover in v1.1)",
    "IES_CONFORMANCE_DIALECT": "v2 or v1.1 (--dialect)",
    "IES_CONFORMANCE_BPP_ID": "our BPP's subscriber id (the request's bppId)",
    "IES_CONFORMANCE_BPP_URI": "our BPP's URI: POST the request to {this}/{action}",
    "IES_CONFORMANCE_GATEWAY_URI": "our gateway's URI, for a BAP that sends discover via one",
    "IES_CONFORMANCE_REGISTRY_URL": "our loopback registry (empty in static mode)",
    "IES_CONFORMANCE_MESSAGE": "a minimal valid message for the action, as JSON",
    "IES_CONFORMANCE_PURPOSE": "why: flow, late, retry-503 or retry-400",
}
"""The environment of ``--trigger-command`` (added to the suite's own)."""

_DIALECT_NAMES = {Dialect.V2: "v2", Dialect.V1: "v1.1", Dialect.V09: "v0.9"}
_OUTPUT_LIMIT = 4096
_STOP_GRACE = 2.0


@dataclass(slots=True)
class TriggerRun:
    """One use of the trigger and how it ended (so far)."""

    action: str
    purpose: str
    description: str
    started_at: float
    finished: bool = False
    failure: str | None = None
    exit_code: int | None = None
    output: str = ""

    def exchange(self) -> Exchange:
        """The trigger as report evidence."""
        state = "still running" if not self.finished else (self.failure or "done")
        return Exchange(
            direction="trigger",
            method="RUN",
            url=self.description,
            status=self.exit_code,
            response_body=clip(self.output, _OUTPUT_LIMIT),
            at=utc_timestamp(self.started_at),
            note=f"asked the BAP to send {self.action} ({self.purpose}): {state}",
        )


@dataclass(frozen=True, slots=True)
class Asked:
    """A request the suite asked the target for, and the request that came (if any)."""

    run: TriggerRun
    request: TargetRequest | None
    fired: asyncio.Future[None] | None = None
    """The trigger still at work, if any (None by hand)."""

    async def settled(self, timeout: float) -> None:
        """Give the trigger up to ``timeout`` s to finish, so its evidence is complete."""
        if self.fired is not None and not self.fired.done():
            await asyncio.wait({self.fired}, timeout=timeout)

    @property
    def evidence(self) -> list[Exchange]:
        """The trigger, then the request as received."""
        found = [] if self.request is None else [self.request.received.exchange("request")]
        return [self.run.exchange(), *found]


@dataclass
class _Claims:
    """Requests already handed to a check, so a late retry is never taken for a new one."""

    taken: set[tuple[str, str]] = field(default_factory=set)
    """(path action, messageId) of each request handed out."""
    count: int = 0


def _claim_key(cb: ReceivedCallback) -> tuple[str, str]:
    return cb.action, cb.message_id or str(id(cb))


async def _claims() -> _Claims:
    return _Claims()


def _environment(session: Session, action: str, purpose: str) -> dict[str, str]:
    cp, opts = session.counterpart, session.options
    return {
        "IES_CONFORMANCE_ACTION": action,
        "IES_CONFORMANCE_WIRE_ACTION": wire_name(action, opts.dialect),
        "IES_CONFORMANCE_DIALECT": _DIALECT_NAMES[opts.dialect],
        "IES_CONFORMANCE_BPP_ID": cp.keys.bpp.subscriber_id,
        "IES_CONFORMANCE_BPP_URI": cp.url_of(cp.keys.bpp),
        "IES_CONFORMANCE_GATEWAY_URI": cp.url_of(cp.keys.gateway),
        "IES_CONFORMANCE_REGISTRY_URL": cp.registry_url or "",
        "IES_CONFORMANCE_MESSAGE": json.dumps(
            request_message(action, opts.dialect, templates=opts.templates)
        ),
        "IES_CONFORMANCE_PURPOSE": purpose,
    }


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Stop the command's whole process group: TERM, then KILL after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(process.wait(), _STOP_GRACE)
            return
        except TimeoutError:
            continue


async def _run_command(command: str, env: dict[str, str], run: TriggerRun) -> None:
    process = await asyncio.create_subprocess_shell(
        command,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stopping it stops its children
    )
    try:
        output, _ = await process.communicate()
    except asyncio.CancelledError:
        await _stop(process)
        run.failure = "stopped at the end of the run"
        raise
    run.output = output.decode("utf-8", errors="replace")
    run.exit_code = process.returncode
    if process.returncode != 0:
        run.failure = f"exit code {process.returncode}"


async def _fire(session: Session, run: TriggerRun) -> None:
    """Run the trigger to its end; never raises but for cancellation."""
    cp, opts = session.counterpart, session.options
    try:
        if opts.trigger_command:
            env = _environment(session, run.action, run.purpose)
            await _run_command(opts.trigger_command, env, run)
        elif opts.trigger is not None:
            await opts.trigger(run.action, cp.keys.bpp.subscriber_id, cp.url_of(cp.keys.bpp))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the trigger is the operator's code: keep its failure as evidence
        run.failure = f"the trigger raised {exc!r}"
    finally:
        run.finished = True


async def ask(session: Session, action: str, purpose: str) -> Asked:
    """Make the target send canonical ``action`` to our BPP; wait for that request."""
    cp, opts = session.counterpart, session.options
    claims = await session.shared("bap.claims", _claims)
    claims.count += 1
    bpp_uri = cp.url_of(cp.keys.bpp)
    description = opts.trigger_command or (
        f"trigger({action!r}, {cp.keys.bpp.subscriber_id!r}, {bpp_uri!r})"
        if opts.trigger is not None
        else "by hand"
    )
    run = TriggerRun(action, purpose, description, time.time())

    def arrived(cb: ReceivedCallback) -> bool:
        return (
            cb.via in REQUEST_PATHS
            and canonical(cb.action) == action
            and cb.received_at >= run.started_at
            and _claim_key(cb) not in claims.taken
        )

    waiting = asyncio.ensure_future(cp.receiver.wait_for(arrived, opts.trigger_wait))
    fired: asyncio.Future[None] | None = None
    if opts.trigger_command or opts.trigger is not None:
        fired = session.start(f"bap.trigger.{claims.count}", lambda: _fire(session, run))
        either: set[asyncio.Future[Any]] = {waiting, fired}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done() and run.failure is not None:
            done, _ = await asyncio.wait({waiting}, timeout=opts.ack_timeout)
            if not done:  # the trigger failed and nothing came: do not wait any longer
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
                return Asked(run, None, fired)
    else:
        run.finished = True
        log.warning(
            "conformance_waiting_for_bap",
            action=action,
            bpp_id=cp.keys.bpp.subscriber_id,
            bpp_uri=bpp_uri,
            seconds=opts.trigger_wait,
        )
    found = await waiting
    if not found:
        return Asked(run, None, fired)
    claims.taken.add(_claim_key(found[0]))
    return Asked(run, TargetRequest(found[0]), fired)
