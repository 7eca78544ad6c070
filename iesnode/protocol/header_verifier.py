"""One signature header checked against the signer's registered key (BECKN-006 steps 4-5).

Used by :class:`~iesnode.protocol.inbound.InboundVerifier` for ``Authorization`` and
for the gateway's ``X-Gateway-Authorization``: parse the header, check its
``created``/``expires`` window, look the key up in the subscriber directory, check
the key's status and validity period, then verify Ed25519 over BLAKE2b-512 of the
raw bytes. When the signature fails against a cached key, the key is looked up once
more bypassing the caches, so a peer that rotated its key is not refused until our
cache expires. Every failure is an :class:`~iesnode.errors.AuthError` naming the
header (``path``) and whether it was the gateway's.
"""

from __future__ import annotations

from functools import lru_cache

from nacl.signing import VerifyKey

from iesnode.errors import AuthError, ServiceUnavailable, TransportError
from iesnode.interfaces import Clock, SubscriberDirectory
from iesnode.model.subscriber import Subscriber, SubscriberStatus
from iesnode.protocol.signing import (
    SignatureHeader,
    load_verify_key,
    parse_authorization,
    verify_signature,
    verify_times,
)

__all__ = ["HeaderVerifier"]


@lru_cache(maxsize=4096)
def _verify_key(public_key: str) -> VerifyKey:
    return load_verify_key(public_key)


class HeaderVerifier:
    """Verifies one signature header over a body; returns the header and its signer."""

    def __init__(self, *, directory: SubscriberDirectory, clock: Clock, clock_skew: float) -> None:
        self._directory = directory
        self._clock = clock
        self._clock_skew = clock_skew

    async def verify(
        self, value: str, body: bytes, name: str, *, gateway: bool
    ) -> tuple[SignatureHeader, Subscriber]:
        """Verify header ``name`` (its ``value``) over ``body``; raise AuthError on failure."""
        header = parse_authorization(value, header_name=name, gateway=gateway)
        now = self._clock.now()
        verify_times(header, now, self._clock_skew, gateway=gateway)
        sub = await self._lookup(header, fresh=False)
        if sub is None:
            raise AuthError(
                "AUT_KEY_NOT_FOUND",
                f"the registry knows no key {header.key_id!r} for subscriber "
                f"{header.subscriber_id!r}",
                path=name,
                gateway=gateway,
            )
        self._check_key(sub, header, now, name, gateway)
        try:
            verify_signature(body, header, _verify_key(sub.signing_public_key), gateway=gateway)
        except AuthError:
            fresh = await self._lookup(header, fresh=True)
            if fresh is None or fresh.signing_public_key == sub.signing_public_key:
                raise
            self._check_key(fresh, header, now, name, gateway)
            verify_signature(body, header, _verify_key(fresh.signing_public_key), gateway=gateway)
            sub = fresh
        return header, sub

    async def _lookup(self, header: SignatureHeader, fresh: bool) -> Subscriber | None:
        try:
            return await self._directory.lookup(header.subscriber_id, header.key_id, fresh=fresh)
        except TransportError as exc:
            raise ServiceUnavailable(
                "NET_REGISTRY_UNAVAILABLE",
                f"cannot look up key {header.key_id} of {header.subscriber_id}: {exc.reason}",
                path="Authorization",
            ) from exc

    def _check_key(
        self, sub: Subscriber, header: SignatureHeader, now: float, name: str, gateway: bool
    ) -> None:
        def fail(code: str, why: str) -> AuthError:
            return AuthError(code, why, path=name, gateway=gateway)

        who = f"key {sub.key_id!r} of {sub.subscriber_id!r}"
        if sub.status in (SubscriberStatus.REVOKED, SubscriberStatus.UNSUBSCRIBED):
            raise fail("AUT_KEY_REVOKED", f"{who} is {sub.status.value}")
        if sub.status is not SubscriberStatus.SUBSCRIBED:
            raise fail("AUT_KEY_INACTIVE", f"{who} is {sub.status.value}, not SUBSCRIBED")
        if sub.valid_from is not None and sub.valid_from.timestamp() > now + self._clock_skew:
            raise fail("AUT_KEY_NOT_YET_VALID", f"{who} is valid from {sub.valid_from.isoformat()}")
        if sub.valid_until is not None:
            until = sub.valid_until.timestamp()
            if until < now:
                raise fail("AUT_KEY_EXPIRED", f"{who} expired at {sub.valid_until.isoformat()}")
            if header.expires > until:
                raise fail(
                    "AUT_SIGNATURE_OUTLIVES_KEY",
                    f"signature expires={header.expires} is after the key's valid_until "
                    f"{sub.valid_until.isoformat()}",
                )
