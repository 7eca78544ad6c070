"""Admission control: stop ACKing when this process's callbacks fall too far behind.

An ACK obliges a callback. A node that ACKs faster than its worker can run handlers
and deliver callbacks builds an ever-growing outbox (``bench/RESULTS.md`` measured a
BPP ACKing four times faster than it delivered under full load). Past ``limit``
outstanding jobs the node answers 503 ``NET_OVERLOADED`` instead, which senders retry
with backoff, so load is shed before the promise is made rather than after.
"""

from __future__ import annotations

from iesnode.errors import ServiceUnavailable

__all__ = ["Backlog"]


class Backlog:
    """Counts jobs this process recorded and has not yet seen finished.

    The count is per process and approximate when processes share an outbox (a job
    may finish in another process); it is clamped at zero and only ever used to shed
    load, never to decide whether a job exists.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0

    def admit(self) -> None:
        """Count one more job, or raise ServiceUnavailable (HTTP 503) when full."""
        if self.limit and self.size >= self.limit:
            raise ServiceUnavailable(
                "NET_OVERLOADED",
                f"{self.size} callbacks are still owed; retry later",
                path="$",
            )
        self.size += 1

    def settle(self) -> None:
        """One job finished for good (delivered, refused, given up or buried)."""
        self.size = max(0, self.size - 1)
