"""No bad input makes the registry answer 500: property tests, then a regression per bug.

Writes get a valid body with one drawn mutation (field dropped, of another JSON type, empty,
huge, lone surrogate, unknown) or whole-body garbage, signed so it reaches validation: the
answer is a 4xx JSON error with a code and the field's path, and earlier records stay as they
were. Reads get garbage path segments, filters and ``as_on``. Hypothesis and asyncio: ``@given``
drives plain ``def`` tests (pytest-asyncio leaves them alone) against one registry per module on
a private event loop (``Live``), each example running its request with ``run_until_complete``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.integration.test_registry_api as api
from iesnode.clock import FrozenClock
from iesnode.interfaces import Reply
from iesnode.protocol.signing import Signer
from iesnode.registry_serve import start_registry
from iesnode.settings import load_registry_settings
from iesnode.testing import generate_signing_key
from tests.integration.helpers import post

SELF_PRIVATE, SELF_PUBLIC = generate_signing_key()
SELF = Signer.from_base64("self.ies.example", "k1", SELF_PRIVATE)
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCH, DROP = "SCH_VALIDATION_FAILED", object()
WINDOW = {"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2031-01-01T00:00:00Z"}
NS = {"namespace": "ies.example", "registry": "p2p-trading"}
CLOSED_PORT = "http://127.0.0.1:9/beckn"  # a challenge sent there fails fast
MEMBER = api.participant("any.ies.example", subscriber_url=CLOSED_PORT, city="std:080", **WINDOW)
MEMBER |= {"signing_public_key": SELF_PUBLIC, "encr_public_key": api.enc_public()}
INSTITUTION: dict[str, Any] = NS | WINDOW | {"org_id": "inst.ies.example", "role": "DISCOM"}
INSTITUTION |= {"licence_number": "L/1", "scope": ["distribution"], "status": "ACTIVE"}
INSTITUTION |= {"issuing_authority": "kerc.example", "name": "X Ltd"}
REVOCATION = NS | {"credential_id": "urn:uuid:garbage", "issuer": "discom.ies.example"}
REVOCATION |= {"reason": "lost", "purpose": "revocation", "revoked_at": "2027-01-01T00:00:00Z"}
STATUS = {"subscriber_id": "target.ies.example", "key_id": "k1", "status": "SUSPENDED"}
LOOKUP: dict[str, Any] = {"subscriber_id": "kept.ies.example", "unique_key_id": "k1"}
LOOKUP |= {"type": "BPP", "networkId": "ies.example/p2p-trading", "as_on": api.START}
VALID: dict[str, tuple[dict[str, Any], Signer | None]] = {
    "participants": (MEMBER | {"status": "SUBSCRIBED"}, api.PUBLISHER),
    "subscribe": (MEMBER | {"subscriber_id": "self.ies.example"}, SELF),
    "participants/status": (STATUS | {"reason": "audit"}, api.PUBLISHER),
    "institutions": (INSTITUTION, api.PUBLISHER),
    "revocations": (REVOCATION, api.PUBLISHER),
    "lookup": (LOOKUP, None),
}
# The JSON types a field takes: s string, n number, a array of strings, z null; ? optional,
# e the empty string is valid, ~ any string is valid (a lookup filter).
PARTICIPANT = dict.fromkeys(MEMBER, "s") | {"domain": "sa?", "city": "sz?"}
PARTICIPANT |= {"valid_from": "sn?", "valid_until": "sn?"}
FIELDS: dict[str, dict[str, str]] = {
    "participants": PARTICIPANT | {"status": "s?"},
    "subscribe": PARTICIPANT,
    "participants/status": dict.fromkeys(STATUS, "s") | {"reason": "sz?e"},
    "institutions": dict.fromkeys(INSTITUTION, "s") | {"scope": "a", "status": "s?"},
    "revocations": dict.fromkeys(REVOCATION, "s") | {"reason": "sz?e", "purpose": "s?"},
    "lookup": dict.fromkeys(LOOKUP, "sz?~") | {"as_on": "snz?~"},
}
FIELDS["institutions"] |= dict.fromkeys(WINDOW, "sn")
FIELDS["revocations"] |= {"revoked_at": "sn?"}
KEPT = ["lookup/kept.ies.example/k1", "participants/kept.ies.example/k1/history"]
KEPT += ["institutions?orgId=kept.ies.example", "revocations/urn:uuid:kept"]

LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON = st.recursive(LEAF, lambda j: st.lists(j, max_size=3) | st.dictionaries(st.text(), j))
BY_TYPE: dict[str, st.SearchStrategy[Any]] = {"z": st.none(), "b": st.booleans()}
BY_TYPE |= {"n": st.integers() | st.floats(), "s": st.text(), "a": st.lists(JSON, max_size=3)}
BY_TYPE |= {"o": st.dictionaries(st.text(max_size=5), JSON, max_size=3)}
NOT_STRINGS = st.lists(JSON.filter(lambda v: not isinstance(v, str)), min_size=1, max_size=3)
HUGE = st.integers(600, 20_000).map(lambda n: " " + "x" * n)
SURROGATE = st.text(max_size=8).map(lambda s: s + "\udc80")
DEEP = [b"[" * 10**5, b'{"a":' * 10**4, b'{"a": 1' + b"9" * 5000 + b"}"]


@st.composite
def mutation(draw: st.DrawFn, endpoint: str) -> tuple[bytes, str]:
    """The endpoint's valid body with one field (or ``$``, all of it) made bad, and its path."""
    body, fields = dict(VALID[endpoint][0]), FIELDS[endpoint]
    valid = json.dumps(body).encode()
    name = draw(st.sampled_from(["$", *sorted(fields), *(["?"] if endpoint != "lookup" else [])]))
    if name == "$":  # other JSON, cut JSON, bad UTF-8, too deep, an int too long
        at = draw(st.integers(0, len(valid) - 1))
        garbage = JSON.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v))
        bad_utf8 = st.integers(0x80, 0xFF).map(lambda b: valid[:at] + bytes([b]) + valid[at:])
        return draw(garbage.map(str.encode) | st.sampled_from([*DEEP, valid[:at]]) | bad_utf8), name
    name = "x-" + draw(st.text(max_size=8)) if name == "?" else name
    spec = fields.get(name, "?")  # an unknown field takes no value at all
    choices = [st.one_of([s for t, s in BY_TYPE.items() if t not in spec])]
    choices += ([NOT_STRINGS] if "a" in spec else []) + ([] if "?" in spec else [st.just(DROP)])
    if "s" in spec and "~" not in spec:
        choices += [HUGE, SURROGATE] + ([] if "e" in spec else [st.just("")])
    value = draw(st.one_of(choices))
    body.pop(name) if value is DROP else body.update({name: value})
    return json.dumps(body).encode(), name


class Live:
    """The registry of ``test_registry_api`` on a private event loop, driven synchronously."""

    def __init__(self, data_dir: Path, clock: FrozenClock) -> None:
        admins = [{"key_id": "root", "public_key": api.ADMIN_PUBLIC}]
        namespaces = [{"name": "ies.example", "publishers": ["discom.ies.example"]}]
        config = {"port": 0, "data_dir": str(data_dir), "admins": admins, "namespaces": namespaces}
        self.loop, self.kept = asyncio.new_event_loop(), [b""]
        started = start_registry(load_registry_settings(config), clock=clock)
        self.rig = api.Rig(self.loop.run_until_complete(started), clock)
        publisher = api.participant("discom.ies.example", registry="registry", type="BAP")
        publisher["signing_public_key"] = api.PUBLISHER_PUBLIC
        assert self.post("participants", json.dumps(publisher).encode(), api.ADMIN).status == 200

    def close(self) -> None:
        """Stop the registry and close the loop."""
        self.loop.run_until_complete(self.rig.transport.aclose())
        self.loop.run_until_complete(self.rig.registry.aclose())
        self.loop.close()

    def post(self, path: str, body: bytes, signer: Signer | None) -> Reply:
        """POST raw ``body`` signed by ``signer``."""
        headers = {"Content-Type": "application/json"}
        if signer is not None:
            headers["Authorization"] = signer.sign(body, int(self.rig.clock.now()))
        url = f"{self.rig.registry.url}/{path}"
        return self.loop.run_until_complete(self.rig.transport.post(url, body, headers, 10.0))

    def get(self, path: str) -> Reply:
        """GET a registry path."""
        return self.loop.run_until_complete(self.rig.get(path))

    def snapshot(self) -> list[bytes]:
        """How the records written before the garbage read now."""
        return [self.get(path).body for path in KEPT]


def answer(reply: Any) -> tuple[int, str, str | None]:
    """(status, code, path) of a 4xx in the registry's JSON error shape; fails on others."""
    assert 400 <= reply.status < 500, f"{reply.status}: {reply.body[:300]!r}"
    error = json.loads(reply.body)["error"]
    assert str(error["code"]).startswith(("SCH_", "CTX_", "REG_", "AUT_", "POL_")), error
    return reply.status, error["code"], error["path"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One registry for the module, with kept records and every valid body checked once."""
    live = Live(tmp_path_factory.mktemp("registry"), FrozenClock(api.START))
    names = ["kept.ies.example", "target.ies.example"]
    writes = [("participants", MEMBER | {"subscriber_id": name}) for name in names]
    writes += [("institutions", INSTITUTION | {"org_id": "kept.ies.example"})]
    writes += [("revocations", REVOCATION | {"credential_id": "urn:uuid:kept"})]
    writes += [(path, body) for path, (body, _) in VALID.items() if path != "subscribe"]
    try:
        for path, doc in writes:
            signer = None if path == "lookup" else api.PUBLISHER
            assert live.post(path, json.dumps(doc).encode(), signer).status == 200, path
        unreachable = live.post("subscribe", json.dumps(VALID["subscribe"][0]).encode(), SELF)
        assert answer(unreachable)[1] == "REG_SUBSCRIBER_UNREACHABLE"
        live.kept = live.snapshot()
        yield live
    finally:
        live.close()


@pytest.mark.parametrize("endpoint", sorted(FIELDS))
@PROPERTY
@given(data=st.data())
def test_one_bad_field_is_refused_naming_it(live: Live, endpoint: str, data: Any) -> None:
    """One bad field (or body ``$``): a 4xx JSON error at its path; earlier records unchanged."""
    body, field = data.draw(mutation(endpoint))
    _, code, path = answer(live.post(endpoint, body, VALID[endpoint][1]))
    assert path == field or str(path).startswith(f"{field}.")
    assert field != "$" or code in ("SCH_INVALID_JSON", "SCH_INVALID_BODY")
    assert live.snapshot() == live.kept


@pytest.mark.parametrize("endpoint", sorted(FIELDS))
@PROPERTY
@given(data=st.data())
def test_any_json_in_any_field_is_no_server_error(live: Live, endpoint: str, data: Any) -> None:
    """Any JSON value in any field, known or not: a 200, or a 4xx error naming a path."""
    body = dict(VALID[endpoint][0])
    body[data.draw(st.sampled_from([*FIELDS[endpoint], "x-extra"]))] = data.draw(JSON)
    reply = live.post(endpoint, json.dumps(body).encode(), VALID[endpoint][1])
    assert reply.status == 200 or answer(reply)[2]
    assert live.snapshot() == live.kept


SEGMENT = st.text(max_size=100).map(lambda s: quote(s, safe=""))
SEGMENT |= st.binary(max_size=12).map(lambda raw: "".join(f"%{b:02X}" for b in raw))
READS = ["lookup/{}/{}", "dedi/lookup/{}/{}", "participants/{}/{}/history", "revocations/{}"]
QUERY = st.dictionaries(st.sampled_from(["role", "orgId", "as_on"]) | st.text(), st.text())


@PROPERTY
@given(st.sampled_from([*READS, "lookup", "institutions"]), st.lists(SEGMENT, min_size=2), QUERY)
def test_garbage_reads_are_answered(live: Live, read: str, segments: Any, query: Any) -> None:
    """Any path segments and query: JSON, found (200/410), 404, or 400 at a garbage as_on."""
    reply = live.get(f"{read.format(*segments)}?{urlencode(query)}")
    assert reply.status in (200, 400, 404, 410), (reply.status, reply.body[:200])
    assert reply.status != 400 or answer(reply)[2] == "as_on"
    assert answer(reply) if reply.status == 404 else json.loads(reply.body) is not None


AS_ON_READS = ["lookup/kept.ies.example/k1?", "dedi/lookup/kept.ies.example/k1?", "lookup?"]
AS_ON_READS += ["institutions?role=DISCOM&", "revocations/urn:uuid:kept?", "POST lookup"]
NO_MOMENT = st.from_regex(r"\A[A-Za-z]{1,12}\Z") | st.floats(min_value=2.6e11).map(repr)
NO_MOMENT |= st.floats(max_value=-6.3e10).map(repr) | st.sampled_from(["nan", "2026-13-01"])
NO_MOMENT |= st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
NO_MOMENT |= st.datetimes(max_value=datetime(9999, 12, 30)).map(str)  # no offset: whose time?
MOMENT = st.floats(-6.2e10, 2.5e11).map(repr) | st.integers(-62 * 10**9, 250 * 10**9).map(str)
MOMENT |= st.datetimes(max_value=datetime(9999, 12, 30), timezones=st.just(UTC)).map(str)
AS_ON = MOMENT.map(lambda m: (m, True)) | NO_MOMENT.map(lambda m: (m, False))


def read_as_on(live: Live, read: str, as_on: object) -> Reply:
    """A read of ``read`` as on ``as_on`` (in the body of a v1 ``POST /lookup``)."""
    if read == "POST lookup":
        return live.post("lookup", json.dumps({"as_on": as_on}).encode(), None)
    return live.get(f"{read}as_on={quote(str(as_on), safe='')}")


@PROPERTY
@given(read=st.sampled_from(AS_ON_READS), as_on=AS_ON)
def test_as_on_is_answered_if_a_moment_else_refused(live: Live, read: str, as_on: Any) -> None:
    """``as_on``: a moment in the years 1-9999 (negative too) is answered; else 400 at as_on."""
    reply = read_as_on(live, read, as_on[0])
    assert reply.status in (200, 404, 410) if as_on[1] else answer(reply) == (400, SCH, "as_on")


# as_on inputs that were 500s (1e20, inf, 1e300), a 404 "unknown key" (nan), epoch 1 (true)
OLD_AS_ON = [("lookup?", "1e20"), ("institutions?", "inf"), ("POST lookup", 1e300)]
OLD_AS_ON += [("lookup/kept.ies.example/k1?", "nan"), ("POST lookup", True)]
OLD_AS_ON += [("lookup?", "2026-03-01T10:00:00")]  # was read in the server's time zone


@pytest.mark.parametrize(("read", "as_on"), OLD_AS_ON)
def test_an_as_on_that_is_no_moment_is_a_schema_error(live: Live, read: str, as_on: Any) -> None:
    """``as_on`` beyond the calendar, NaN, infinite, boolean or without offset: 400 at as_on."""
    assert answer(read_as_on(live, read, as_on)) == (400, SCH, "as_on")


def test_a_v1_lookup_filter_that_is_no_string_is_refused(live: Live) -> None:
    """``{"subscriber_id": 5}``: 400 at subscriber_id (was a 200 with no match)."""
    reply = live.post("lookup", b'{"subscriber_id": 5}', None)
    assert answer(reply) == (400, SCH, "subscriber_id")


@pytest.mark.parametrize("change", [{"subscriber_id": None}, {"key_id": 5}, {"by": ["x"]}])
def test_a_status_change_that_does_not_validate_changes_nothing(live: Live, change: Any) -> None:
    """A missing, mistyped or unknown field: 400 there (was REG_NOT_FOUND at key_id, or a 200)."""
    kept = STATUS | {"subscriber_id": "kept.ies.example"} | change
    body = json.dumps({k: v for k, v in kept.items() if v is not None}).encode()
    assert answer(live.post("participants/status", body, api.PUBLISHER)) == (400, SCH, *change)
    assert live.snapshot() == live.kept


@pytest.mark.parametrize("field", ["domain", "type", "encr_public_key", "unique_key_id"])
def test_a_participant_error_names_the_field_as_sent(live: Live, field: str) -> None:
    """A bad v1 field is named as sent (was domains, role, encryption_public_key, key_id)."""
    body, signer = VALID["participants"]
    reply = live.post("participants", json.dumps(body | {field: None}).encode(), signer)
    assert answer(reply) == (400, SCH, field)


@pytest.mark.parametrize(("path", "status"), [("lookup//k1", 404), ("participants", 405)])
def test_no_such_route_or_method_is_a_json_error(live: Live, path: str, status: int) -> None:
    """``GET`` of no route (404) or a write-only route (405): CTX_UNKNOWN_ACTION as JSON."""
    assert answer(live.get(path)) == (status, "CTX_UNKNOWN_ACTION", "$path")


def test_a_body_over_the_limit_is_a_json_error(live: Live) -> None:
    """A body over 1 MiB: a 413 SCH_PAYLOAD_TOO_LARGE JSON error (was text/plain)."""

    async def send() -> Any:
        async with aiohttp.ClientSession() as session:
            url = f"{live.rig.registry.url}/revocations"
            return await post(session, url, b" " * 1_100_000, {}, chunked=True)

    assert answer(live.loop.run_until_complete(send())) == (413, "SCH_PAYLOAD_TOO_LARGE", "$")


def test_a_record_published_on_29_february_runs_for_a_year(tmp_path: Path) -> None:
    """On 29 February the registry starts, and a record runs to 28 February (was a 500)."""
    leap = Live(tmp_path, FrozenClock(datetime(2028, 2, 29, tzinfo=UTC).timestamp()))
    try:
        body = json.dumps(api.participant("bpp.ies.example")).encode()
        reply = leap.post("participants", body, api.PUBLISHER)
    finally:
        leap.close()
    assert (reply.status, json.loads(reply.body)["validUntil"][:10]) == (200, "2029-02-28")
