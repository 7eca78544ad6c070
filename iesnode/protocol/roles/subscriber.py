"""The subscriber side of registry subscription: answering ``POST /on_subscribe``.

Beckn v1.1.1 registry API (``registry.yaml``) and the deployed registries summarised
in ``research/beckn-core.md`` section 3: after a ``subscribe``, the registry calls the
subscriber's ``/on_subscribe`` with ``{"subscriber_id", "challenge"}``, signed with the
registry's own key. The challenge is encrypted with AES-256-ECB under the X25519
secret shared by the registry's and our encryption keys; we answer the plaintext.
The registry's keys come from the directory (it lists itself with role ``BREG``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from iesnode.errors import AuthError, RequestRejected, ServiceUnavailable, TransportError
from iesnode.interfaces import Clock, SubscriberDirectory
from iesnode.model.subscriber import Role, SubscriberStatus
from iesnode.protocol.challenge import answer_challenge
from iesnode.protocol.signing import (
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = ["OnSubscribeResponder"]


class OnSubscribeResponder:
    """Verifies the registry's signed challenge and returns ``{"answer": ...}``."""

    def __init__(
        self,
        *,
        subscriber_id: str,
        encryption_private_key: str | None,
        directory: SubscriberDirectory,
        clock: Clock,
        clock_skew: float = 5.0,
    ) -> None:
        self._subscriber_id = subscriber_id
        self._private_key = encryption_private_key
        self._directory = directory
        self._clock = clock
        self._skew = clock_skew

    async def answer(self, body: bytes, authorization: Sequence[str]) -> bytes:
        """The JSON answer body; raise a ProtocolError naming what is wrong."""
        if len(authorization) != 1:
            raise AuthError(
                "AUT_SIGNATURE_MISSING" if not authorization else "AUT_SIGNATURE_MALFORMED",
                "on_subscribe must carry exactly one registry signature",
            )
        header = parse_authorization(authorization[0])
        verify_times(header, self._clock.now(), self._skew)
        try:
            registry = await self._directory.lookup(header.subscriber_id, header.key_id)
        except TransportError as exc:
            raise ServiceUnavailable(
                "NET_REGISTRY_UNAVAILABLE", f"cannot look up the registry's key: {exc.reason}"
            ) from exc
        if registry is None or registry.status is not SubscriberStatus.SUBSCRIBED:
            raise AuthError("AUT_KEY_NOT_FOUND", f"unknown registry key {header.key_id!r}")
        if registry.role is not Role.REGISTRY:
            raise AuthError(
                "AUT_NOT_A_REGISTRY", f"{registry.subscriber_id!r} is not registered as a registry"
            )
        verify_signature(body, header, load_verify_key(registry.signing_public_key))
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise RequestRejected("SCH_INVALID_JSON", "body is not JSON", path="$") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("challenge"), str):
            raise RequestRejected(
                "SCH_VALIDATION_FAILED", "challenge must be a string", path="challenge"
            )
        if doc.get("subscriber_id", self._subscriber_id) != self._subscriber_id:
            raise RequestRejected(
                "CTX_WRONG_SUBSCRIBER",
                f"challenge is for {doc.get('subscriber_id')!r}, not {self._subscriber_id!r}",
                path="subscriber_id",
            )
        if self._private_key is None or registry.encryption_public_key is None:
            raise RequestRejected(
                "CTX_NO_ENCRYPTION_KEY",
                "an encryption key pair is needed on both sides to answer the challenge",
                path="challenge",
            )
        try:
            answer = answer_challenge(
                doc["challenge"],
                own_encryption_private_key=self._private_key,
                registry_encryption_public_key=registry.encryption_public_key,
            )
        except ValueError as exc:  # ChallengeError, or an unusable key on either side
            raise RequestRejected(
                "SCH_BAD_CHALLENGE", f"cannot decrypt the challenge: {exc}", path="challenge"
            ) from exc
        return json.dumps({"answer": answer}).encode("utf-8")
