"""The registry's half of joining: ``subscribe`` and its ``on_subscribe`` challenge.

Beckn v1.1.1 registry API (the subscriber's half is :mod:`iesnode.registry.subscribe`):
the ``subscribe`` body is signed with the key it registers, which proves possession;
the registry then sends the subscriber's ``/on_subscribe`` an X25519 + AES-256-ECB
challenge (:mod:`iesnode.protocol.challenge`) signed with its own key, and records the
key ``SUBSCRIBED`` only when the answer matches. Nothing is written when any step fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from iesnode.errors import AuthError, RequestRejected, TransportError
from iesnode.interfaces import Clock, Transport
from iesnode.protocol.challenge import check_answer, issue_challenge
from iesnode.protocol.roles.envelopes import join_url
from iesnode.protocol.signing import Signer
from iesnode.registry.governance import Governance
from iesnode.registry.participants import ParticipantDirectory
from iesnode.registry.records import ParticipantRecord, ParticipantStatus
from iesnode.registry.write_requests import json_object, participant_from

__all__ = ["SubscriptionFlow"]

log = structlog.get_logger(__name__)


class SubscriptionFlow:
    """Handles ``subscribe``: verify, challenge the subscriber, record SUBSCRIBED."""

    def __init__(
        self,
        *,
        directory: ParticipantDirectory,
        governance: Governance,
        signer: Signer,
        encryption_private_key: str,
        transport: Transport,
        clock: Clock,
        challenge_timeout: float,
    ) -> None:
        self._directory = directory
        self._governance = governance
        self._signer = signer
        self._encryption_private_key = encryption_private_key
        self._transport = transport
        self._clock = clock
        self._timeout = challenge_timeout

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    async def subscribe(self, body: bytes, authorization: Sequence[str]) -> ParticipantRecord:
        """Verify the signed request, challenge the subscriber, record SUBSCRIBED."""
        record = participant_from(json_object(body), ParticipantStatus.SUBSCRIBED, self._now())
        proposed = (record.subscriber_id, record.key_id, record.signing_public_key)
        writer = await self._governance.authenticate(
            body, authorization, self._directory.participant_key, proposed_key=proposed
        )
        self._governance.require_self_or_publisher(
            writer, record.namespace, record.registry, record.subscriber_id
        )
        record = await self._directory.check_replacement(record)
        await self._challenge(record)
        await self._directory.write(record, writer.actor)
        log.info("subscribed", subscriber_id=record.subscriber_id, key_id=record.key_id)
        return record

    async def _challenge(self, record: ParticipantRecord) -> None:
        """Send ``on_subscribe`` a challenge; raise unless it answers it correctly."""
        plaintext, challenge = issue_challenge(
            registry_encryption_private_key=self._encryption_private_key,
            subscriber_encryption_public_key=record.encryption_public_key,
        )
        body = json.dumps(
            {
                "subscriber_id": record.subscriber_id,
                "unique_key_id": record.key_id,
                "challenge": challenge,
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": self._signer.sign(body, int(self._clock.now())),
        }
        url = join_url(record.subscriber_url, "on_subscribe")
        try:
            reply = await self._transport.post(url, body, headers, self._timeout)
        except TransportError as exc:
            raise RequestRejected(
                "REG_SUBSCRIBER_UNREACHABLE",
                f"on_subscribe at {url} failed: {exc.reason}",
                path="subscriber_url",
            ) from exc
        try:
            answer = json.loads(reply.body).get("answer") if reply.status == 200 else None
        except (ValueError, AttributeError):
            answer = None
        if not check_answer(plaintext, answer):
            raise AuthError(
                "AUT_CHALLENGE_FAILED",
                f"{url} did not answer the on_subscribe challenge (HTTP {reply.status})",
                path="encr_public_key",
            )
