"""Reading the bodies of the registry's write requests.

Every write (``subscribe``, ``publish``, ``set_status``, institutions, credential
revocations) carries a JSON object, signed as a whole (:mod:`iesnode.registry.governance`).
Bodies that are not a JSON object, or whose fields do not validate, are rejected with
an ``SCH_`` code and the path of the offending field. A participant body is a Beckn
v1.1.1 ``Subscription`` (``research/beckn-core.md`` section 3.2): the field names
deployed registries use (``unique_key_id``, ``type``, ``domain``, ``encr_public_key``
...) are read as the names of :class:`~iesnode.registry.records.ParticipantRecord`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from iesnode.errors import RequestRejected
from iesnode.registry.records import ParticipantRecord, ParticipantStatus

__all__ = ["json_object", "participant_from", "validation_rejection"]

_V1_FIELDS = {
    "unique_key_id": "key_id",
    "ukId": "key_id",
    "pub_key_id": "key_id",
    "type": "role",
    "domain": "domains",
    "encr_public_key": "encryption_public_key",
}


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``SCH_INVALID_JSON``/``SCH_INVALID_BODY``."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestRejected("SCH_INVALID_JSON", "body is not JSON", path="$") from None
    if not isinstance(doc, dict):
        raise RequestRejected("SCH_INVALID_BODY", "body must be a JSON object", path="$")
    return doc


def validation_rejection(exc: ValidationError) -> RequestRejected:
    """``SCH_VALIDATION_FAILED`` naming the first field that failed to validate."""
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "$"
    return RequestRejected("SCH_VALIDATION_FAILED", f"{path}: {err['msg']}", path=path)


def participant_from(
    doc: dict[str, Any], status: ParticipantStatus, now: datetime
) -> ParticipantRecord:
    """A participant key from a v1 ``Subscription`` body, created and updated at ``now``.

    A missing validity window runs from ``now`` for a year; ``nonce`` is ignored.
    """
    fields = {_V1_FIELDS.get(k, k): v for k, v in doc.items() if k != "nonce"}
    if isinstance(fields.get("domains"), str):
        fields["domains"] = [fields["domains"]]
    fields.setdefault("valid_from", now)
    fields.setdefault("valid_until", now.replace(year=now.year + 1))
    fields.update(status=status, created=now, updated=now)
    try:
        return ParticipantRecord.model_validate(fields)
    except ValidationError as exc:
        raise validation_rejection(exc) from exc
