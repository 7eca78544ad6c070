"""Reading the bodies of the registry's write requests.

Every write (``subscribe``, ``publish``, ``set_status``, institutions, credential
revocations) carries a JSON object, signed as a whole (:mod:`iesnode.registry.governance`).
Bodies that are not a JSON object, or whose fields do not validate, are rejected with
an ``SCH_`` code and the path of the offending field, named as the body names it. A
participant body is a Beckn v1.1.1 ``Subscription`` (``research/beckn-core.md`` section
3.2): the field names deployed registries use (``unique_key_id``, ``type``, ``domain``,
``encr_public_key`` ...) are read as the names of
:class:`~iesnode.registry.records.ParticipantRecord`. A status change
(:class:`StatusChange`) names the key, its new status and optionally why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from iesnode.errors import RequestRejected
from iesnode.protocol.ijson import lone_surrogate_path
from iesnode.registry.records import Ident, ParticipantRecord, ParticipantStatus

__all__ = [
    "StatusChange",
    "json_object",
    "participant_from",
    "status_change",
    "validation_rejection",
    "years_after",
]

_V1_FIELDS = {
    "unique_key_id": "key_id",
    "ukId": "key_id",
    "pub_key_id": "key_id",
    "type": "role",
    "domain": "domains",
    "encr_public_key": "encryption_public_key",
}
_V1_NAMES = {
    "key_id": "unique_key_id",
    "role": "type",
    "domains": "domain",
    "encryption_public_key": "encr_public_key",
}
"""The v1 name a record field is reported under when the body does not name it."""


class StatusChange(BaseModel):
    """A ``POST /participants/status`` body: which key, its new status, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscriber_id: Ident
    key_id: Ident
    status: ParticipantStatus
    reason: Annotated[str, StringConstraints(max_length=512)] | None = None


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (I-JSON), or ``SCH_INVALID_JSON``/``SCH_INVALID_BODY``."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestRejected("SCH_INVALID_JSON", "body is not JSON", path="$") from None
    if not isinstance(doc, dict):
        raise RequestRejected("SCH_INVALID_BODY", "body must be a JSON object", path="$")
    if (where := lone_surrogate_path(body, doc)) is not None:
        raise RequestRejected(
            "SCH_INVALID_JSON", f"{where} escapes a lone UTF-16 surrogate", path=where
        )
    return doc


def validation_rejection(
    exc: ValidationError, names: Mapping[str, str] | None = None
) -> RequestRejected:
    """``SCH_VALIDATION_FAILED`` naming the first field that failed to validate.

    ``names`` maps model field names to the names the body used for them.
    """
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    if loc and names:
        loc[0] = names.get(loc[0], loc[0])
    path = ".".join(loc) or "$"
    return RequestRejected("SCH_VALIDATION_FAILED", f"{path}: {err['msg']}", path=path)


def years_after(moment: datetime, years: int) -> datetime:
    """The same day and time ``years`` later; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def participant_from(
    doc: dict[str, Any], status: ParticipantStatus, now: datetime
) -> ParticipantRecord:
    """A participant key from a v1 ``Subscription`` body, created and updated at ``now``.

    A missing validity window runs from ``now`` for a year; ``nonce`` is ignored.
    """
    fields = {_V1_FIELDS.get(k, k): v for k, v in doc.items() if k != "nonce"}
    names = _V1_NAMES | {_V1_FIELDS[k]: k for k in doc if k in _V1_FIELDS}
    if isinstance(fields.get("domains"), str):
        fields["domains"] = [fields["domains"]]
    fields.setdefault("valid_from", now)
    fields.setdefault("valid_until", years_after(now, 1))
    fields.update(status=status, created=now, updated=now)
    try:
        return ParticipantRecord.model_validate(fields)
    except ValidationError as exc:
        raise validation_rejection(exc, names) from exc


def status_change(doc: dict[str, Any]) -> StatusChange:
    """The status change a ``set_status`` body asks for; ``nonce`` is ignored."""
    try:
        return StatusChange.model_validate({k: v for k, v in doc.items() if k != "nonce"})
    except ValidationError as exc:
        raise validation_rejection(exc) from exc
