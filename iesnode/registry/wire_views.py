"""How a stored participant key is answered on the wire: the two lookup shapes.

Lookups answer with :func:`beckn_v1_subscription` (the Beckn v1 ``POST /lookup`` array
entry, a ``Subscription`` of ``research/beckn-core.md`` sections 3.1-3.2) or
:func:`dedi_participant` (the flat DeDi record of section 3.4); both parse back into
the same :class:`~iesnode.model.subscriber.Subscriber` through ``RegistryClient``.

Our choices where the sources are silent: times are ISO 8601 in UTC with a ``Z``;
both shapes carry the network id (``network_id`` in v1, an addition to the v1
``Subscription``) and the lookup ``status`` is the
:class:`~iesnode.model.subscriber.SubscriberStatus` the registry status maps to
(``SUSPENDED`` has none and is answered ``UNSUBSCRIBED``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # records re-exports these views, so it is imported for typing only
    from iesnode.registry.records import ParticipantRecord

__all__ = ["beckn_v1_subscription", "dedi_participant"]


def _time(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; milliseconds unless the value has finer precision."""
    spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
    return value.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def beckn_v1_subscription(record: ParticipantRecord) -> dict[str, object]:
    """The record as a Beckn v1 ``Subscription`` (``POST /lookup`` array entry).

    ``domain`` is a string for one domain, a list for several, and left out for none.
    """
    domains = record.domains
    rendered: dict[str, object] = {
        "subscriber_id": record.subscriber_id,
        "subscriber_url": record.subscriber_url,
        "type": record.role.value,
        "domain": domains[0] if len(domains) == 1 else list(domains),
        "city": record.city,
        "country": record.country,
        "network_id": record.network_id,
        "unique_key_id": record.key_id,
        "signing_public_key": record.signing_public_key,
        "encr_public_key": record.encryption_public_key,
        "valid_from": _time(record.valid_from),
        "valid_until": _time(record.valid_until),
        "status": record.status.to_subscriber_status().value,
        "created": _time(record.created),
        "updated": _time(record.updated),
    }
    if not domains:
        del rendered["domain"]
    return rendered


def dedi_participant(record: ParticipantRecord) -> dict[str, object]:
    """The record as a flat DeDi-style lookup record (``city``/``country`` when set)."""
    rendered: dict[str, object] = {
        "subscriberId": record.subscriber_id,
        "subscriberUrl": record.subscriber_url,
        "role": record.role.value,
        "domain": list(record.domains),
        "networkId": record.network_id,
        "signingPublicKey": record.signing_public_key,
        "encryptionPublicKey": record.encryption_public_key,
        "keyId": record.key_id,
        "validFrom": _time(record.valid_from),
        "validUntil": _time(record.valid_until),
        "status": record.status.to_subscriber_status().value,
        "created": _time(record.created),
        "updated": _time(record.updated),
    }
    if record.city is not None:
        rendered["city"] = record.city
    if record.country is not None:
        rendered["country"] = record.country
    return rendered
