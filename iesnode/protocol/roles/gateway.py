"""The discovery gateway role: multicast ``discover`` to matching BPPs, relay ``on_discover``.

Follows BECKN-003 and the reference gateway behaviour summarised in
``research/beckn-core.md`` section 4.1-4.2: ACK first; look up BPPs by network,
domain and location with status SUBSCRIBED; forward the BAP's exact bytes with its
original ``Authorization`` plus our ``X-Gateway-Authorization``, concurrently with a
per-BPP timeout so one slow BPP never holds up the others; relay each
``on_discover`` unaggregated to the BAP, re-signed with our gateway header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from iesnode.errors import RequestRejected, TransportError
from iesnode.interfaces import Clock, SubscriberDirectory, Transport
from iesnode.model.envelope import Envelope
from iesnode.model.subscriber import Role, Subscriber, SubscriberQuery
from iesnode.protocol.acks import read_ack
from iesnode.protocol.jobs import DeliverJob, FanoutJob
from iesnode.protocol.roles.envelopes import join_url
from iesnode.protocol.signing import Signer

__all__ = ["GatewayRole"]

log = structlog.get_logger(__name__)

FanoutObserver = Callable[[str, str, float], None]
"""Called with (bpp subscriber id, outcome, seconds) for each forwarded discover."""


class GatewayRole:
    """What a gateway does with ``discover`` and ``on_discover``."""

    def __init__(
        self,
        *,
        directory: SubscriberDirectory,
        transport: Transport,
        signer: Signer,
        clock: Clock,
        fanout_timeout: float,
        observe: FanoutObserver | None = None,
    ) -> None:
        self._directory = directory
        self._transport = transport
        self._signer = signer
        self._clock = clock
        self._timeout = fanout_timeout
        self._observe = observe

    @staticmethod
    def fanout_job(envelope: Envelope, body: bytes, authorization: str) -> FanoutJob:
        """The job recorded before the gateway ACKs a discover."""
        ctx = envelope.context
        return FanoutJob(
            action=ctx.action,
            body=body.decode("utf-8"),
            authorization=authorization,
            message_id=ctx.message_id,
            transaction_id=ctx.transaction_id,
            network_id=ctx.network_id,
            domain=ctx.domain,
            city=ctx.city,
            country=ctx.country,
        )

    async def targets(self, job: FanoutJob) -> list[Subscriber]:
        """Matching SUBSCRIBED BPPs, one key per subscriber."""
        query = SubscriberQuery(
            role=Role.BPP,
            network_id=job.network_id,
            domain=job.domain,
            city=job.city,
            country=job.country,
        )
        unique: dict[str, Subscriber] = {}
        for sub in await self._directory.find(query):
            unique.setdefault(sub.subscriber_id, sub)
        return list(unique.values())

    async def fanout(self, job: FanoutJob) -> None:
        """Forward the discover to every target concurrently, each with its own timeout."""
        body = job.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Authorization": job.authorization,
            "X-Gateway-Authorization": self._signer.sign(body, int(self._clock.now())),
        }
        bpps = await self.targets(job)
        log.info("fanout_start", bpps=len(bpps), message_id=job.message_id)
        await asyncio.gather(*(self._forward(bpp, job.action, body, headers) for bpp in bpps))

    async def _forward(
        self, bpp: Subscriber, action: str, body: bytes, headers: dict[str, str]
    ) -> None:
        started = self._clock.now()
        url = join_url(bpp.url, action)
        try:
            reply = await self._transport.post(url, body, headers, self._timeout)
            ack = read_ack(reply.body) if reply.body else None
            outcome = "ack" if reply.status < 300 and ack and ack.status == "ACK" else "nack"
            if outcome == "nack":
                log.warning("fanout_nack", bpp_id=bpp.subscriber_id, status=reply.status)
        except TransportError as exc:
            outcome = "timeout" if "no answer" in exc.reason else "unreachable"
            log.warning("fanout_failed", bpp_id=bpp.subscriber_id, reason=exc.reason)
        except ValueError:
            outcome = "nack"
            log.warning("fanout_bad_ack", bpp_id=bpp.subscriber_id)
        if self._observe is not None:
            self._observe(bpp.subscriber_id, outcome, self._clock.now() - started)

    async def relay_job(self, envelope: Envelope, body: bytes, authorization: str) -> DeliverJob:
        """The job relaying an ``on_discover`` to the BAP registered under ``bap_id``."""
        ctx = envelope.context
        baps = await self._directory.find(SubscriberQuery(role=Role.BAP, subscriber_id=ctx.bap_id))
        if not baps:
            raise RequestRejected(
                "CTX_UNKNOWN_BAP",
                f"no SUBSCRIBED BAP {ctx.bap_id!r} to relay this callback to",
                path="context.bapId",
            )
        return DeliverJob(
            url=join_url(baps[0].url, ctx.action),
            action=ctx.action,
            body=body.decode("utf-8"),
            message_id=ctx.message_id,
            transaction_id=ctx.transaction_id,
            sign_as="gateway",
            authorization=authorization,
            created_at=self._clock.now(),
        )
