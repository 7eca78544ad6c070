"""Registry lookups over HTTP: the Beckn v1 ``POST /lookup`` and the DeDi ``GET /lookup``.

``beckn-v1`` follows the v1 registry API (``registry.yaml``: ``POST /lookup`` with a
``Subscription`` filter, answered by an array of ``Subscription``); the field names
deployed registries use instead are accepted through the aliases of
:class:`~iesnode.model.subscriber.Subscriber` (``research/beckn-core.md`` section 3.2).

``dedi`` follows the DeDi registry integration note (``research/beckn-core.md``
section 3.4): ``GET {base}/lookup/{subscriber_id}/{key_id}``, 404 when unknown, 410
when revoked or suspended. Our assumptions where that note is silent:

* the record may be flat or wrapped as ``{"data": {"details": {...}, ...}}``; scalar
  fields next to ``details`` (e.g. ``valid_until``) fill in what ``details`` lacks, and
  ``subscriber_id``/``key_id`` come from the path when the record omits them;
* a 410 whose body holds a record yields that subscriber with ``status=REVOKED``, so the
  verifier can say "revoked"; a 410 without a usable record yields None (logged as
  ``registry_key_revoked``), as no Subscriber can be built without its key;
* searches are ``GET {base}/lookup?role=..&networkId=..&domain=..`` (plus ``city``,
  ``country``, ``subscriberId``, ``status`` when set) answered by an array of records,
  bare or as ``{"data": [...]}``.

Both APIs: registries may ignore filters, so results are filtered again with
``SubscriberQuery.matches``. No caching here (that is ``LayeredDirectory``). Any other
status, a body that is not the expected JSON, or no answer at all raises
:class:`~iesnode.errors.TransportError`, which callers turn into a NACK.
"""

from __future__ import annotations

import json
from typing import Final, Literal
from urllib.parse import quote, urlencode

import structlog
from pydantic import AliasChoices, ValidationError

from iesnode.errors import ConfigError, TransportError
from iesnode.interfaces import Reply, Transport
from iesnode.model.subscriber import Subscriber, SubscriberQuery, SubscriberStatus

__all__ = ["RegistryApi", "RegistryClient"]

log = structlog.get_logger(__name__)

RegistryApi = Literal["beckn-v1", "dedi"]

_POST_HEADERS: Final = {"Content-Type": "application/json", "Accept": "application/json"}
_GET_HEADERS: Final = {"Accept": "application/json"}
_EXCERPT = 200


def _aliases(field: str) -> tuple[str, ...]:
    """Every input name :class:`Subscriber` accepts for ``field``."""
    alias = Subscriber.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    return (field,)


_SUBSCRIBER_ID_NAMES: Final = _aliases("subscriber_id")
_KEY_ID_NAMES: Final = _aliases("key_id")


class RegistryClient:
    """A ``SubscriberDirectory`` that asks one registry over HTTP on every call."""

    def __init__(
        self,
        transport: Transport,
        base_url: str,
        *,
        api: RegistryApi = "beckn-v1",
        timeout: float = 5.0,
    ) -> None:
        if api not in ("beckn-v1", "dedi"):
            raise ConfigError(f"unknown registry api {api!r}; expected 'beckn-v1' or 'dedi'")
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._api = api
        self._timeout = timeout

    async def lookup(
        self, subscriber_id: str, key_id: str, *, fresh: bool = False
    ) -> Subscriber | None:
        """Ask the registry for one key; None when it does not know it."""
        if self._api == "dedi":
            return await self._dedi_lookup(subscriber_id, key_id)
        url = f"{self._base}/lookup"
        entries = await self._v1_post(
            url, {"subscriber_id": subscriber_id, "unique_key_id": key_id}
        )
        for sub in entries:
            if sub.subscriber_id == subscriber_id and sub.key_id == key_id:
                return sub
        return None

    async def find(self, query: SubscriberQuery) -> list[Subscriber]:
        """Ask the registry for every key matching ``query``."""
        if self._api == "dedi":
            found = await self._dedi_find(query)
        else:
            wanted = {
                "type": query.role,
                "domain": query.domain,
                "city": query.city,
                "country": query.country,
                "subscriber_id": query.subscriber_id,
                "status": query.status,
            }
            body = {name: str(value) for name, value in wanted.items() if value is not None}
            found = await self._v1_post(f"{self._base}/lookup", body)
        return [sub for sub in found if query.matches(sub)]

    async def _v1_post(self, url: str, body: dict[str, str]) -> list[Subscriber]:
        reply = await self._transport.post(
            url, json.dumps(body).encode(), _POST_HEADERS, self._timeout
        )
        _require_success(url, reply)
        payload = _decode(url, reply)
        if not isinstance(payload, list):
            raise TransportError(url, "expected a JSON array of subscriptions", status=reply.status)
        return _parse_all(url, payload)

    async def _dedi_lookup(self, subscriber_id: str, key_id: str) -> Subscriber | None:
        url = f"{self._base}/lookup/{quote(subscriber_id, safe='')}/{quote(key_id, safe='')}"
        reply = await self._transport.get(url, _GET_HEADERS, self._timeout)
        if reply.status == 404:
            return None
        if reply.status == 410:
            return _revoked(url, reply, subscriber_id, key_id)
        _require_success(url, reply)
        payload = _decode(url, reply)
        record = _dedi_record(payload, subscriber_id, key_id)
        if record is None:
            raise TransportError(url, "expected a JSON object record", status=reply.status)
        try:
            sub = Subscriber.model_validate(_normalise(record))
        except ValidationError as exc:
            raise TransportError(url, f"invalid registry record: {_fields(exc)}") from exc
        if (sub.subscriber_id, sub.key_id) != (subscriber_id, key_id):
            raise TransportError(url, "registry answered with a different subscriber or key")
        return sub

    async def _dedi_find(self, query: SubscriberQuery) -> list[Subscriber]:
        wanted = {
            "role": query.role,
            "networkId": query.network_id,
            "domain": query.domain,
            "city": query.city,
            "country": query.country,
            "subscriberId": query.subscriber_id,
            "status": query.status,
        }
        params = {name: str(value) for name, value in wanted.items() if value is not None}
        url = f"{self._base}/lookup"
        if params:
            url = f"{url}?{urlencode(params)}"
        reply = await self._transport.get(url, _GET_HEADERS, self._timeout)
        _require_success(url, reply)
        payload = _decode(url, reply)
        if isinstance(payload, dict):
            payload = payload.get("data")
        if not isinstance(payload, list):
            raise TransportError(url, "expected a JSON array of records", status=reply.status)
        records: list[object] = [_dedi_record(item) or item for item in payload]
        return _parse_all(url, records)


def _require_success(url: str, reply: Reply) -> None:
    """Raise ``TransportError`` unless the registry answered 2xx."""
    if not 200 <= reply.status < 300:
        excerpt = reply.body[:_EXCERPT].decode("utf-8", errors="replace")
        raise TransportError(
            url, f"registry answered HTTP {reply.status}: {excerpt!r}", status=reply.status
        )


def _decode(url: str, reply: Reply) -> object:
    """Parse the reply body as JSON, or raise ``TransportError``."""
    try:
        payload: object = json.loads(reply.body)
    except ValueError as exc:
        raise TransportError(
            url, f"registry answer is not JSON: {exc}", status=reply.status
        ) from exc
    return payload


def _fields(exc: ValidationError) -> str:
    """The failing field names of a validation error, without their values."""
    return ", ".join(
        sorted({".".join(str(p) for p in err["loc"]) or "record" for err in exc.errors()})
    )


def _normalise(record: dict[str, object]) -> dict[str, object]:
    """Accept the v1 shapes the model does not: a single ``domain`` string, a ``location``."""
    out = dict(record)
    if isinstance(out.get("domain"), str):
        out["domain"] = [out["domain"]]
    location = out.get("location")
    if isinstance(location, dict):
        for part in ("city", "country"):
            value = location.get(part)
            code = value.get("code") if isinstance(value, dict) else value
            if isinstance(code, str) and part not in out:
                out[part] = code
    return out


def _parse_all(url: str, entries: list[object]) -> list[Subscriber]:
    """Validate every entry; skip (and log) the ones that do not validate."""
    subscribers: list[Subscriber] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            log.warning("registry_entry_invalid", url=url, index=index, fields="not an object")
            continue
        try:
            subscribers.append(Subscriber.model_validate(_normalise(entry)))
        except ValidationError as exc:
            sid = next(
                (entry[n] for n in _SUBSCRIBER_ID_NAMES if isinstance(entry.get(n), str)), None
            )
            log.warning(
                "registry_entry_invalid",
                url=url,
                index=index,
                subscriber_id=sid,
                fields=_fields(exc),
            )
    return subscribers


def _dedi_record(
    payload: object, subscriber_id: str | None = None, key_id: str | None = None
) -> dict[str, object] | None:
    """Unwrap a DeDi record (flat, or ``{"data": {"details": {...}}}``); fill ids from the path."""
    if not isinstance(payload, dict):
        return None
    data = payload.get("data", payload)
    if not isinstance(data, dict):
        return None
    details = data.get("details")
    if isinstance(details, dict):
        record = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
        record.update(details)
    else:
        record = dict(data)
    if subscriber_id is not None and not any(n in record for n in _SUBSCRIBER_ID_NAMES):
        record["subscriber_id"] = subscriber_id
    if key_id is not None and not any(n in record for n in _KEY_ID_NAMES):
        record["key_id"] = key_id
    return record


def _revoked(url: str, reply: Reply, subscriber_id: str, key_id: str) -> Subscriber | None:
    """Turn a 410 into a REVOKED subscriber when the body holds a record, else None."""
    try:
        payload: object = json.loads(reply.body)
    except ValueError:
        payload = None
    record = _dedi_record(payload, subscriber_id, key_id)
    if record is not None:
        record = _normalise(record)
        record["status"] = SubscriberStatus.REVOKED.value
        try:
            sub = Subscriber.model_validate(record)
        except ValidationError:
            pass
        else:
            if (sub.subscriber_id, sub.key_id) == (subscriber_id, key_id):
                log.info("registry_key_revoked", subscriber_id=subscriber_id, key_id=key_id)
                return sub
    log.warning(
        "registry_key_revoked", subscriber_id=subscriber_id, key_id=key_id, url=url, record=False
    )
    return None
