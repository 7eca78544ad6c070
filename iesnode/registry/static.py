"""A fixed list of subscribers, from node configuration (closed pilots, tests).

Implements the ``SubscriberDirectory`` seam of ``DESIGN.md`` section 3 without
any registry: every key the node will ever trust is listed up front.
"""

from __future__ import annotations

from collections.abc import Iterable

from iesnode.errors import ConfigError
from iesnode.model.subscriber import Subscriber, SubscriberQuery

__all__ = ["StaticDirectory"]


class StaticDirectory:
    """Subscribers known in advance, looked up by exact ``(subscriber_id, key_id)``.

    Listing the same ``(subscriber_id, key_id)`` twice is a configuration error.
    """

    def __init__(self, subscribers: Iterable[Subscriber]) -> None:
        self._by_key: dict[tuple[str, str], Subscriber] = {}
        for sub in subscribers:
            key = (sub.subscriber_id, sub.key_id)
            if key in self._by_key:
                raise ConfigError(
                    f"subscriber {sub.subscriber_id!r} lists key {sub.key_id!r} more than once"
                )
            self._by_key[key] = sub

    def put(self, subscriber: Subscriber) -> None:
        """Add or replace one key (a pilot operator enrolling a participant, a key rotation)."""
        self._by_key[(subscriber.subscriber_id, subscriber.key_id)] = subscriber

    async def lookup(
        self, subscriber_id: str, key_id: str, *, fresh: bool = False
    ) -> Subscriber | None:
        """Return the listed key, or None; ``fresh`` changes nothing (there is no cache)."""
        return self._by_key.get((subscriber_id, key_id))

    async def find(self, query: SubscriberQuery) -> list[Subscriber]:
        """Return the listed keys matching ``query``, in configuration order."""
        return [sub for sub in self._by_key.values() if query.matches(sub)]
