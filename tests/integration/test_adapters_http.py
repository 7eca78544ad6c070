"""HttpApiAdapter against a real aiohttp fake legacy API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from iesnode.adapters.base import AdapterError
from iesnode.adapters.http_api import HttpApiAdapter, HttpApiConfig
from iesnode.http.transport import AiohttpTransport
from tests.redis_server import free_port

T0 = datetime(2026, 5, 4, 3, 30, tzinfo=UTC)  # 09:00 IST

CONSUMER = {
    "account": {"no": "C-1", "connection": {"id": "CONN-1", "loadKw": "3.5"}},
    "tariff": "LT-1",
    "meters": [{"serial": "M-1"}],
}
INTERVALS = {
    "data": {
        "intervals": [
            {"from": "2026-05-04T09:00:00+05:30", "to": "2026-05-04T09:30:00+05:30", "kwh": "4.62"},
            {"from": "2026-05-04T10:00:00+05:30", "to": "2026-05-04T10:30:00+05:30", "kwh": 5},
        ]
    }
}


@dataclass
class FakeLegacy:
    """Serves ``routes[path]`` as a list of (status, body, delay) answers, the last repeated."""

    routes: dict[str, list[tuple[int, bytes, float]]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    queries: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer the next scripted reply for the path, 404 if unscripted."""
        path = request.path
        self.queries.append(dict(request.query))
        n = self.hits.get(path, 0)
        self.hits[path] = n + 1
        script = self.routes.get(path)
        if not script:
            return web.Response(status=404, text="not found")
        status, body, delay = script[min(n, len(script) - 1)]
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
async def legacy() -> AsyncIterator[tuple[FakeLegacy, str]]:
    """A fake legacy API on a free loopback port, and its base URL."""
    fake = FakeLegacy()
    app = web.Application()
    app.router.add_get("/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    """A real aiohttp transport, closed after the test."""
    t = AiohttpTransport()
    try:
        yield t
    finally:
        await t.aclose()


def make(base: str, transport: AiohttpTransport, **extra: Any) -> HttpApiAdapter:
    """An adapter for the fake API's URL layout and field paths."""
    data: dict[str, Any] = {
        "consumer_url": base + "/cis/consumers/{consumer_id}",
        "consumer_by_meter_url": base + "/cis/meters/{meter}/consumer",
        "readings_url": base + "/mdm/{meter}/lp?from={start}&to={end}&dir={direction}",
        "fields": {
            "consumer_id": "account.no",
            "connection_id": "account.connection.id",
            "sanctioned_load": "account.connection.loadKw",
            "tariff_category": "tariff",
            "meters": "meters",
            "meter_item": "serial",
            "readings": "data.intervals",
            "start": "from",
            "end": "to",
            "energy": "kwh",
        },
        "interval_s": 1800,
        "timeout_s": 0.5,
        "retries": 2,
        "backoff_s": 0.01,
    }
    data.update(extra)
    return HttpApiAdapter(HttpApiConfig.model_validate(data), transport)


def ok(body: object) -> tuple[int, bytes, float]:
    """A 200 answer with ``body`` as JSON."""
    return 200, json.dumps(body).encode(), 0.0


async def test_consumer_fields_mapped_by_dotted_paths(
    legacy: tuple[FakeLegacy, str], transport: AiohttpTransport
) -> None:
    """Dotted paths pick the fields; kW text becomes integer W."""
    fake, base = legacy
    fake.routes["/cis/consumers/C 1"] = [ok(CONSUMER)]
    consumer = await make(base, transport).consumer("C 1")
    assert (consumer.consumer_id, consumer.connection_id) == ("C-1", "CONN-1")
    assert (consumer.sanctioned_load_w, consumer.meters) == (3500, ("M-1",))


async def test_readings_gaps_missing_and_query_parameters(
    legacy: tuple[FakeLegacy, str], transport: AiohttpTransport
) -> None:
    """Listed intervals become Wh, the unlisted half-hours missing; the window is sent in IST."""
    fake, base = legacy
    fake.routes["/mdm/M-1/lp"] = [ok(INTERVALS)]
    got = await make(base, transport).readings("M-1", T0, T0 + timedelta(hours=2))
    assert [(r.start - T0, r.wh, r.quality) for r in got] == [
        (timedelta(0), 4620, "actual"),
        (timedelta(minutes=30), None, "missing"),
        (timedelta(minutes=60), 5000, "actual"),
        (timedelta(minutes=90), None, "missing"),
    ]
    assert fake.queries[-1] == {
        "from": "2026-05-04T09:00:00+05:30",
        "to": "2026-05-04T11:00:00+05:30",
        "dir": "import",
    }


async def test_500_twice_then_ok_is_retried(
    legacy: tuple[FakeLegacy, str], transport: AiohttpTransport
) -> None:
    """Two 5xx answers are retried with backoff and the third succeeds."""
    fake, base = legacy
    fake.routes["/cis/meters/M-1/consumer"] = [(500, b"{}", 0.0), (503, b"", 0.0), ok(CONSUMER)]
    consumer = await make(base, transport).consumer_by_meter("M-1")
    assert consumer.consumer_id == "C-1"
    assert fake.hits["/cis/meters/M-1/consumer"] == 3


async def test_404_is_unknown_and_never_retried(
    legacy: tuple[FakeLegacy, str], transport: AiohttpTransport
) -> None:
    """404 means unknown consumer or meter, asked once; another 4xx is not retried either."""
    fake, base = legacy
    adapter = make(base, transport)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-404")
    assert (exc.value.code, exc.value.legacy_code) == ("ADP_UNKNOWN_CONSUMER", "30004")
    with pytest.raises(AdapterError) as exc:
        await adapter.readings("M-404", T0, T0 + timedelta(hours=1))
    assert exc.value.code == "ADP_UNKNOWN_METER"
    assert fake.hits == {"/cis/consumers/C-404": 1, "/mdm/M-404/lp": 1}
    fake.routes["/cis/consumers/C-401"] = [(401, b"{}", 0.0)]
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-401")
    assert exc.value.code == "ADP_UNAVAILABLE"
    assert fake.hits["/cis/consumers/C-401"] == 1


async def test_malformed_json_and_missing_field_are_bad_data(
    legacy: tuple[FakeLegacy, str], transport: AiohttpTransport
) -> None:
    """Broken JSON is ADP_BAD_DATA at ``$``; a missing field names its dotted path."""
    fake, base = legacy
    fake.routes["/cis/consumers/C-1"] = [(200, b"{not json", 0.0)]
    adapter = make(base, transport)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-1")
    assert (exc.value.code, exc.value.path, exc.value.legacy_code) == ("ADP_BAD_DATA", "$", "31001")
    broken = {**CONSUMER, "account": {"no": "C-1", "connection": {"id": "CONN-1"}}}
    fake.routes["/cis/consumers/C-2"] = [ok(broken)]
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-2")
    assert exc.value.path == "account.connection.loadKw"
    bad_interval = {"data": {"intervals": [{"from": "2026-05-04T09:00:00+05:30", "kwh": "1"}]}}
    fake.routes["/mdm/M-1/lp"] = [ok(bad_interval)]
    with pytest.raises(AdapterError) as exc:
        await adapter.readings("M-1", T0, T0 + timedelta(hours=1))
    assert exc.value.path == "data.intervals[0].to"


async def test_slow_api_is_unavailable_after_retries(
    legacy: tuple[FakeLegacy, str], transport: AiohttpTransport
) -> None:
    """An API slower than the timeout on every attempt is ADP_UNAVAILABLE."""
    fake, base = legacy
    fake.routes["/cis/consumers/C-1"] = [(200, b"{}", 0.3)]
    adapter = make(base, transport, timeout_s=0.1, retries=1)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-1")
    assert (exc.value.code, exc.value.legacy_code) == ("ADP_UNAVAILABLE", "31002")
    assert fake.hits["/cis/consumers/C-1"] == 2


async def test_down_api_is_unavailable_after_retries(transport: AiohttpTransport) -> None:
    """Nothing listening on the port: three refused attempts, then ADP_UNAVAILABLE."""
    adapter = make(f"http://127.0.0.1:{free_port()}", transport)
    with pytest.raises(AdapterError) as exc:
        await adapter.consumer("C-1")
    assert exc.value.code == "ADP_UNAVAILABLE"
    assert exc.value.path == "consumer_url"
    assert "3 attempt" in exc.value.message


def test_url_template_placeholders_are_checked() -> None:
    """A template using a placeholder it cannot get is refused at config time."""
    with pytest.raises(ValueError, match="consumer_url"):
        HttpApiConfig.model_validate(
            {
                "consumer_url": "http://x/{meter}",
                "consumer_by_meter_url": "http://x/{meter}",
                "readings_url": "http://x/{meter}",
            }
        )
