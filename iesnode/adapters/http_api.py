"""The legacy JSON/HTTP reference adapter (registry name ``"http"``): a CIS and an MDM API.

Calls go through the :class:`~iesnode.interfaces.Transport` seam (``GET`` only). URL
templates in the config take ``{consumer_id}``, ``{meter}``, ``{start}``, ``{end}`` and
``{direction}`` (values percent-encoded); ``fields`` maps the seam's fields to dotted
paths into the JSON answer (``connection.sanctionedLoadKw``, ``data.intervals``; a
numeric segment indexes a list).

Each call gets ``timeout_s``; a timeout, a refused connection or a 5xx is retried
``retries`` times with exponential backoff (``backoff_s``, doubled each time), a 4xx
never. 404 is ``ADP_UNKNOWN_CONSUMER`` / ``ADP_UNKNOWN_METER``; any other failure after
the retries is ``ADP_UNAVAILABLE``; malformed JSON or a missing/invalid field is
``ADP_BAD_DATA`` with the field's path. Intervals the API does not list come back as
``missing``.
"""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator

from iesnode.adapters.base import (
    ADP_BAD_DATA,
    ADP_UNAVAILABLE,
    ADP_UNKNOWN_CONSUMER,
    ADP_UNKNOWN_METER,
    AdapterError,
    Consumer,
    Direction,
    Reading,
)
from iesnode.adapters.legacy import ValueRules, bad_data, fill_gaps
from iesnode.errors import TransportError
from iesnode.http.transport import AiohttpTransport
from iesnode.interfaces import Transport

__all__ = ["HttpApiAdapter", "HttpApiConfig", "HttpFields", "dig"]

log = structlog.get_logger(__name__)

_PLACEHOLDERS = {
    "consumer_url": {"consumer_id"},
    "consumer_by_meter_url": {"meter"},
    "readings_url": {"meter", "start", "end", "direction"},
}


def dig(document: object, path: str) -> object:
    """The value at dotted ``path`` in parsed JSON, or None when any step is absent."""
    node = document
    for step in path.split("."):
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


class HttpFields(BaseModel):
    """Dotted paths of each seam field in the API's JSON; ``None`` = not provided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer_id: str = "consumerId"
    connection_id: str = "connectionId"
    sanctioned_load: str = "sanctionedLoad"
    tariff_category: str = "tariffCategory"
    reference: str | None = None
    meters: str = "meters"
    """A list of meter numbers, or of objects holding one at ``meter_item``."""
    meter_item: str | None = None
    readings: str = "intervals"
    """The list of intervals in the readings answer; the paths below are inside one item."""
    start: str = "start"
    end: str = "end"
    energy: str = "energy"
    quality: str | None = None
    obis: str | None = None


class HttpApiConfig(ValueRules):
    """Configuration of :class:`HttpApiAdapter` (the ``[adapters.http]`` table)."""

    consumer_url: str
    consumer_by_meter_url: str
    readings_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with every call (an API key, ``Accept``)."""
    fields: HttpFields = Field(default_factory=HttpFields)
    timeout_s: float = Field(default=5.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.2, ge=0)

    @model_validator(mode="after")
    def _templates(self) -> HttpApiConfig:
        for name, allowed in _PLACEHOLDERS.items():
            template = getattr(self, name)
            used = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            if not used <= allowed:
                raise ValueError(f"{name} may only use {sorted(allowed)}, not {sorted(used)}")
        return self


class HttpApiAdapter:
    """``CustomerInformation`` and ``MeterData`` over a legacy JSON/HTTP API."""

    def __init__(self, config: HttpApiConfig, transport: Transport | None = None) -> None:
        self._config = config
        self._own: AiohttpTransport | None = None
        if transport is None:
            self._own = AiohttpTransport()
            transport = self._own
        self._transport = transport

    async def aclose(self) -> None:
        """Close the HTTP connections this adapter opened itself (none when given a transport)."""
        if self._own is not None:
            await self._own.aclose()

    async def consumer(self, consumer_id: str) -> Consumer:
        """The consumer numbered ``consumer_id``."""
        url = self._url("consumer_url", consumer_id=consumer_id)
        doc = await self._get(url, "consumer_url", ADP_UNKNOWN_CONSUMER, "consumer_id")
        return self._consumer(doc)

    async def consumer_by_meter(self, meter: str) -> Consumer:
        """The consumer the meter belongs to."""
        url = self._url("consumer_by_meter_url", meter=meter)
        return self._consumer(await self._get(url, "consumer_by_meter_url", ADP_UNKNOWN_METER))

    async def readings(
        self, meter: str, start: datetime, end: datetime, direction: str = "import"
    ) -> list[Reading]:
        """Readings of ``meter`` covering ``[start, end)``; gaps are ``missing``."""
        if direction not in ("import", "export"):
            raise ValueError(f"direction must be import or export, not {direction!r}")
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        way: Direction = "import" if direction == "import" else "export"
        zone = self._config.zone
        url = self._url(
            "readings_url",
            meter=meter,
            start=start.astimezone(zone).isoformat(),
            end=end.astimezone(zone).isoformat(),
            direction=self._config.direction_values[way],
        )
        doc = await self._get(url, "readings_url", ADP_UNKNOWN_METER)
        f = self._config.fields
        items = dig(doc, f.readings)
        if not isinstance(items, list):
            raise bad_data(f.readings, "expected a list of intervals")
        paths = {"start": f.start, "end": f.end, "energy": f.energy}
        if f.quality is not None:
            paths["quality"] = f.quality
        if f.obis is not None:
            paths["obis"] = f.obis
        found = [
            self._config.reading(
                meter,
                {field: dig(item, path) for field, path in paths.items()},
                {field: f"{f.readings}[{i}].{path}" for field, path in paths.items()},
                way,
            )
            for i, item in enumerate(items)
        ]
        interval = timedelta(seconds=self._config.interval_s)
        out = fill_gaps(meter, found, start, end, way, self._config.obis[way], interval)
        log.debug("adapter.http.readings", meter=meter, items=len(items), total=len(out))
        return out

    def _consumer(self, doc: object) -> Consumer:
        f = self._config.fields
        paths = {
            "consumer_id": f.consumer_id,
            "connection_id": f.connection_id,
            "sanctioned_load": f.sanctioned_load,
            "tariff_category": f.tariff_category,
        }
        if f.reference is not None:
            paths["reference"] = f.reference
        listed = dig(doc, f.meters)
        if not isinstance(listed, list):
            raise bad_data(f.meters, "expected a list of meters")
        meters: list[tuple[object, str]] = []
        for i, item in enumerate(listed):
            if f.meter_item is None:
                meters.append((item, f"{f.meters}[{i}]"))
            else:
                meters.append((dig(item, f.meter_item), f"{f.meters}[{i}].{f.meter_item}"))
        values = {field: dig(doc, path) for field, path in paths.items()}
        return self._config.consumer(values, paths, meters)

    def _url(self, name: str, **values: str) -> str:
        template: str = getattr(self._config, name)
        return template.format_map({k: quote(v, safe="") for k, v in values.items()})

    async def _get(self, url: str, name: str, unknown: str, subject: str = "meter") -> Any:
        """GET with retries; the parsed JSON, or an AdapterError."""
        config = self._config
        headers: Mapping[str, str] = {"Accept": "application/json", **config.headers}
        reason = ""
        for attempt in range(config.retries + 1):
            if attempt:
                await asyncio.sleep(config.backoff_s * 2 ** (attempt - 1))
            try:
                reply = await self._transport.get(url, headers, config.timeout_s)
            except TransportError as exc:
                reason = exc.reason
                log.warning("adapter.http.retry", url=url, attempt=attempt + 1, reason=reason)
                continue
            if reply.status >= 500:
                reason = f"HTTP {reply.status}"
                log.warning("adapter.http.retry", url=url, attempt=attempt + 1, reason=reason)
                continue
            if reply.status == 404:
                raise AdapterError(unknown, f"{url} answered 404", path=subject)
            if reply.status >= 300:
                raise AdapterError(
                    ADP_UNAVAILABLE, f"{url} answered HTTP {reply.status}", path=name
                )
            try:
                return json.loads(reply.body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise AdapterError(
                    ADP_BAD_DATA, f"{url}: malformed JSON: {exc}", path="$"
                ) from None
        log.error("adapter.http.unavailable", url=url, attempts=config.retries + 1, reason=reason)
        raise AdapterError(
            ADP_UNAVAILABLE,
            f"{url}: {reason} after {config.retries + 1} attempt(s)",
            path=name,
        )
