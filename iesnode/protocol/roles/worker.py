"""The job worker: runs handlers, delivers callbacks with retries, fans out discovery.

Delivery retries follow the Beckn v2 catalog ``DeliveryPolicy`` defaults in spirit
(exponential backoff, capped): a 5xx, 429 or a timeout is retried; a 4xx (400, 401
...) or a NACK is final, because sending the same bytes again cannot succeed. Jobs
stay owned in the outbox until finished, so a crash hands them to another worker;
while a job runs, the worker renews its claim every third of ``claim_after`` (a
heartbeat, as lease-based queues do), so a slow handler is never run twice.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from pydantic import ValidationError

from iesnode.errors import TransportError, UnusableUrl
from iesnode.interfaces import Clock, Outbox, OutboxEntry, Transport
from iesnode.protocol.acks import read_ack
from iesnode.protocol.jobs import DeliverJob, FanoutJob, HandleJob, decode_job, encode_job
from iesnode.protocol.signing import Signer

__all__ = ["DeliveryPolicy", "JobWorker"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry budget for one callback."""

    timeout: float = 5.0
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_claims: int = 5
    """A job handed out this many times (crash loops) is buried instead of retried again."""

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): capped doubling, 50-100 % jitter."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)


class _Permanent(Exception):
    """The peer refused for good; do not retry."""


DeliveryObserver = Callable[[DeliverJob, str, int, float], None]
"""Called with (job, outcome, attempts, seconds since the callback was created)."""


class JobWorker:
    """Consumes the outbox with bounded concurrency until stopped."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        transport: Transport,
        signer: Signer,
        clock: Clock,
        policy: DeliveryPolicy,
        consumer: str,
        run_handler: Callable[[HandleJob], Awaitable[DeliverJob]],
        run_fanout: Callable[[FanoutJob], Awaitable[None]],
        concurrency: int = 32,
        observe: DeliveryObserver | None = None,
        on_settled: Callable[[], None] | None = None,
    ) -> None:
        self._outbox = outbox
        self._transport = transport
        self._signer = signer
        self._clock = clock
        self._policy = policy
        self._consumer = consumer
        self._run_handler = run_handler
        self._run_fanout = run_fanout
        self._concurrency = concurrency
        self._slot_freed = asyncio.Event()
        self._observe = observe
        self._on_settled = on_settled or (lambda: None)
        self._tasks: dict[asyncio.Task[None], str] = {}
        """Jobs in flight: their task and outbox entry id."""

    async def run(self) -> None:
        """Take jobs until cancelled; each job runs in its own task, kept claimed meanwhile.

        A cancellation that lands inside a blocking Redis read can be absorbed by the
        client library (redis-py finishes the read to keep the connection usable), so
        the loop also checks ``Task.cancelling()`` after every take.
        """
        me = asyncio.current_task()
        heartbeat = asyncio.create_task(self._heartbeat(), name="iesnode-outbox-heartbeat")
        try:
            while True:
                if me is not None and me.cancelling():
                    raise asyncio.CancelledError
                while len(self._tasks) >= self._concurrency:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                free = self._concurrency - len(self._tasks)
                for entry in await self._outbox.take(self._consumer, free, block=1.0):
                    if entry.entry_id in self._tasks.values():  # renewed too late: reclaimed
                        log.warning("outbox_job_already_running", entry_id=entry.entry_id)
                        continue
                    task = asyncio.create_task(self._process(entry))
                    self._tasks[task] = entry.entry_id
                    task.add_done_callback(self._finished)
        finally:
            heartbeat.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(heartbeat, *self._tasks, return_exceptions=True)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._slot_freed.set()

    async def _heartbeat(self) -> None:
        """Renew the claim on every job in flight, three times per ``claim_after``.

        A worker that dies stops renewing, so its jobs are reclaimed as before; a
        renewal that finds a job gone to another consumer (this process stalled for
        longer than ``claim_after``) is logged, since that job may now run twice.
        """
        every = max(self._outbox.claim_after / 3, 0.01)
        while True:
            await asyncio.sleep(every)
            held = list(self._tasks.values())
            if not held:
                continue
            try:
                kept = set(await self._outbox.touch(self._consumer, held))
            except Exception as exc:  # e.g. Redis unreachable: try again at the next beat
                log.warning("outbox_touch_failed", error=str(exc), jobs=len(held))
                continue
            in_flight = set(self._tasks.values())
            for entry_id in held:
                if entry_id not in kept and entry_id in in_flight:
                    log.warning("outbox_claim_lost", entry_id=entry_id, consumer=self._consumer)

    async def _process(self, entry: OutboxEntry) -> None:
        try:
            job = decode_job(entry.job)
        except ValidationError:
            log.error("job_corrupt", entry_id=entry.entry_id)
            await self._outbox.bury(entry.entry_id, entry.job, "corrupt job")
            self._on_settled()
            return
        if entry.deliveries > self._policy.max_claims:
            await self._outbox.bury(entry.entry_id, entry.job, "handed out too many times")
            self._on_settled()
            return
        structlog.contextvars.bind_contextvars(entry_id=entry.entry_id, job=job.kind)
        try:
            if isinstance(job, HandleJob):
                follow_up = await self._run_handler(job)
                await self._outbox.complete(entry.entry_id, encode_job(follow_up))
            elif isinstance(job, FanoutJob):
                await self._run_fanout(job)
                await self._outbox.complete(entry.entry_id)
                self._on_settled()
            else:
                await self._deliver(entry, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job_failed", kind=job.kind)
        finally:
            structlog.contextvars.unbind_contextvars("entry_id", "job")

    def _headers(self, job: DeliverJob, body: bytes) -> dict[str, str]:
        header = self._signer.sign(body, int(self._clock.now()))
        headers = {"Content-Type": "application/json"}
        if job.sign_as == "gateway":
            headers["Authorization"] = job.authorization or ""
            headers["X-Gateway-Authorization"] = header
        else:
            headers["Authorization"] = header
        return headers

    async def _attempt(self, job: DeliverJob, body: bytes) -> None:
        try:
            reply = await self._transport.post(
                job.url, body, self._headers(job, body), self._policy.timeout
            )
        except UnusableUrl as exc:  # the HTTP client refuses the URL itself (user:pw@host ...)
            raise _Permanent(f"unusable callback URL: {exc.reason}") from exc
        if reply.status == 429 or reply.status >= 500:
            raise TransportError(job.url, f"HTTP {reply.status}", status=reply.status)
        if reply.status >= 300:
            raise _Permanent(f"HTTP {reply.status}: {reply.body[:200]!r}")
        try:
            ack = read_ack(reply.body)
        except (ValueError, json.JSONDecodeError):
            return  # 2xx without an ACK body: accepted
        if ack.status == "NACK":
            detail = ack.error.code if ack.error else "no error given"
            raise _Permanent(f"NACK {detail}: {ack.error.message if ack.error else ''}")

    async def _deliver(self, entry: OutboxEntry, job: DeliverJob) -> None:
        body = job.body.encode("utf-8")
        policy = self._policy
        for attempt in range(1, policy.max_attempts + 1):
            try:
                await self._attempt(job, body)
            except TransportError as exc:
                log.warning("callback_retry", url=job.url, attempt=attempt, reason=exc.reason)
                if attempt == policy.max_attempts:
                    await self._finish(entry, job, "gave_up", attempt, exc.reason)
                    return
                await asyncio.sleep(policy.backoff(attempt))
            except _Permanent as exc:
                log.warning("callback_refused", url=job.url, reason=str(exc))
                await self._finish(entry, job, "refused", attempt, str(exc))
                return
            else:
                await self._finish(entry, job, "delivered", attempt, None)
                return

    async def _finish(
        self, entry: OutboxEntry, job: DeliverJob, outcome: str, attempts: int, why: str | None
    ) -> None:
        if why is None:
            await self._outbox.complete(entry.entry_id)
        else:
            await self._outbox.bury(entry.entry_id, entry.job, f"{outcome}: {why}")
        self._on_settled()
        log.info("callback_" + outcome, url=job.url, action=job.action, attempts=attempts)
        if self._observe is not None:
            self._observe(job, outcome, attempts, self._clock.now() - job.created_at)
