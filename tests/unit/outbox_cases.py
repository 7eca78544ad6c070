"""Both ``Outbox`` implementations for seam tests, with a way to let claim time pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from iesnode.clock import FrozenClock
from iesnode.storage.outbox import MemoryOutbox, RedisOutbox

__all__ = ["Case", "make_case"]


@dataclass
class Case:
    """One implementation, and how to let ``seconds`` of claim time pass for it."""

    outbox: MemoryOutbox | RedisOutbox
    elapse: Callable[[float], Awaitable[None]]


def make_case(kind: str, redis_client: aioredis.Redis, claim_after: float) -> Case:
    """The ``memory`` outbox on a frozen clock, or the ``redis`` one on real time."""
    if kind == "memory":
        clock = FrozenClock(1_700_000_000.0)

        async def advance(seconds: float) -> None:
            clock.advance(seconds)

        return Case(MemoryOutbox(clock, claim_after=claim_after), advance)
    return Case(RedisOutbox(redis_client, claim_after=claim_after), asyncio.sleep)
