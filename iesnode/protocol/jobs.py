"""Durable jobs in the outbox: what a node still owes the network after it ACKed.

A job is written before the ACK is sent, so a process that dies between ACK and
callback leaves the job for the next worker (``DESIGN.md`` section 5).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = ["DeliverJob", "FanoutJob", "HandleJob", "Job", "decode_job", "encode_job"]


class _Job(BaseModel):
    model_config = ConfigDict(frozen=True)


class HandleJob(_Job):
    """Run the BPP handler for a verified request, then deliver its callback."""

    kind: Literal["handle"] = "handle"
    action: str
    body: str
    sender: str
    reply_to: str
    """Base URL the callback goes to: the BAP's ``bapUri``, or the gateway that forwarded it."""
    received_at: float


class DeliverJob(_Job):
    """POST a callback (or a relayed message) to a peer, signing it at each attempt."""

    kind: Literal["deliver"] = "deliver"
    url: str
    action: str
    body: str
    message_id: str
    transaction_id: str
    sign_as: Literal["authorization", "gateway"] = "authorization"
    authorization: str | None = None
    """An original ``Authorization`` to keep when we sign as a gateway."""
    created_at: float = 0.0


class FanoutJob(_Job):
    """Gateway: forward a discover to every matching BPP."""

    kind: Literal["fanout"] = "fanout"
    action: str
    body: str
    authorization: str
    message_id: str
    transaction_id: str
    network_id: str | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None


Job = Annotated[HandleJob | DeliverJob | FanoutJob, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[HandleJob | DeliverJob | FanoutJob] = TypeAdapter(Job)


def encode_job(job: HandleJob | DeliverJob | FanoutJob) -> bytes:
    """Serialise a job for the outbox."""
    return job.model_dump_json().encode("utf-8")


def decode_job(raw: bytes) -> HandleJob | DeliverJob | FanoutJob:
    """Read a job back; raises pydantic ``ValidationError`` on a corrupt entry."""
    return _ADAPTER.validate_json(raw)
