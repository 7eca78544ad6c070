"""No signed request or callback, however malformed, makes a node answer 500.

Mutations, one per example, of three valid bodies: a v2 select and a v1.1 select to a BPP
node, and a v2 on_select to a BAP node answering a select it really has pending. Every JSON
path of each body (context fields, the nested location and requestDigest, message fields,
an unknown key in context and message) gets every generic mutation (dropped; null, true,
-1, 0, 2.5; raw ``1e400``, ``-1e400``, ``NaN``, ``-Infinity``, 400- and 5000-digit integers;
``""``, ``[]``, ``{}``, a nested array; a 70 kB string; emoji, RTL, NUL) and those its name
calls for (timestamps and ttls of every bad kind, actions, versions, URLs, ids, digests):
about 2,200 bodies, each signed properly with a fresh timestamp so it reaches the later
pipeline steps (``fuzz_mutations``). Whole garbage bodies, spoilt signature headers and
garbage sent to the node's other endpoints follow, then one regression test per bug found.

The list is deterministic and exhaustive rather than drawn by hypothesis: the bugs live in
particular (field, value) pairs, which a few dozen random draws per run find only by luck,
while sending all of them takes a few seconds. Hypothesis adds what a list cannot, any JSON
value at any path (:func:`test_any_json_anywhere`). Tests are plain ``def`` functions
driving two Redis-backed nodes on a private event loop (``fuzz_rig.Live``), as ``@given``
needs.

Each answer is an ACK, or a 4xx NACK in the caller's dialect with a code and a path (for
a context or schema error, the mutated field's path, or one inside or above it); nothing is
logged at error level (``request_failed``, ``handler_failed``, ``job_failed``) even after
the ACK; what was ACKed is settled (its callback delivered or refused); and the node ACKs
a valid body afterwards, whose callback reaches the BAP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iesnode.protocol.challenge import encrypt_challenge, shared_secret
from iesnode.protocol.schema import dotted_path
from tests.integration.fuzz_mutations import (
    ACTION_NAMES,
    DROP,
    PURPOSES,
    RAW,
    SUBSCRIBE_BODIES,
    Path,
    garbage_bodies,
    mutate,
    mutations,
    paths,
    signature_headers,
)
from tests.integration.fuzz_rig import TEMPLATES, Live, Sent
from tests.integration.helpers import encode, signed_headers

EXTRA: list[Path] = [("context", "x-extra"), ("message", "x-extra")]
CASES = [(v, p) for v, doc in TEMPLATES.items() for p in [*paths(doc), *EXTRA]]
FIELD_CODES = {"CTX_MISSING_FIELD", "CTX_INVALID_FIELD", "SCH_VALIDATION_FAILED"}
FIELD_CODES |= {"SCH_INVALID_JSON", "30000"}  # 30000: any v1.1 context or schema error
DIALECT_KEYS = {"version", "transactionId", "messageId", "core_version"}
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def live(redis_url: str) -> Iterator[Live]:
    """One BPP node and one BAP node for the module (Redis-backed), on a private loop."""
    live = Live(redis_url)
    try:
        yield live
    finally:
        live.close()


def _related(a: str, b: str) -> bool:
    """``a`` is ``b``, or one lies inside the other."""
    return any(x == y or x.startswith((f"{y}.", f"{y}[")) for x, y in ((a, b), (b, a)))


def _nack(doc: Any, v1: bool) -> tuple[str, str | None]:
    """(code, path) of a NACK body in the v1.1 or the v2 shape; fails on another shape."""
    if v1:
        assert doc["message"] == {"ack": {"status": "NACK"}}, doc
        assert "status" not in doc, doc
        assert str(doc["error"]["code"]).isdigit(), doc
    else:
        assert doc["status"] == "NACK", doc
    assert doc["error"]["message"], doc
    return doc["error"]["code"], doc["error"].get("paths" if v1 else "path")


def problems(sent: Sent, variant: str, path: Path | None) -> list[str]:
    """What is wrong with a node's answer to a body mutated at ``path`` (None: anywhere)."""
    found = list(sent.failures) + ([] if sent.settled else ["ACKed but never settled"])
    reply = sent.answer
    free = path is None or path == ("context",) or (len(path) == 2 and path[1] in DIALECT_KEYS)
    try:
        doc = reply.json()
        v1 = isinstance(doc.get("message"), dict)
        if not free and v1 != (variant == "v1"):
            found.append(f"answered in the other dialect: {doc}")
        if reply.status == 200:
            assert (doc["message"]["ack"]["status"] if v1 else doc["status"]) == "ACK", doc
            return found
        assert 400 <= reply.status < 500, f"HTTP {reply.status}"
        assert reply.headers["Content-Type"].startswith("application/json")
        code, where = _nack(doc, v1)
        assert where, f"no path in {doc}"
        if code in FIELD_CODES and path is not None and not free:
            assert _related(where, dotted_path(path)), f"{code} at {where}"
    except (AssertionError, ValueError, KeyError, TypeError, AttributeError) as exc:
        found.append(f"HTTP {reply.status} {exc!r}: {reply.body[:200]!r}")
    return found


def assert_still_serving(live: Live, variant: str) -> None:
    """A valid body is ACKed and settled; its callback reaches the BAP (for on_select, the
    BAP application, after reading back every callback accepted before it)."""
    marker, doc = f"ok-{time.time()}", live.base(variant)
    sent = live.deliver(variant, mutate(doc, ("context", "x-ok"), marker))
    assert sent.answer.status == 200, sent.answer.body
    assert problems(sent, variant, None) == []
    if variant == "on_select":
        assert live.read_back(marker) >= 1
    else:  # the BPP's on_select reached the BAP (the sink)
        ctx = doc["context"]
        live.run(live.sink.wait_for("/on_select", ctx.get("messageId", ctx.get("message_id"))))


@pytest.mark.parametrize("variant", sorted(TEMPLATES))
def test_valid_bodies_are_acked(live: Live, variant: str) -> None:
    """The baseline: each valid body (paths as the templates say) is ACKed and settled."""
    assert list(paths(live.base(variant))) == list(paths(TEMPLATES[variant]))
    assert_still_serving(live, variant)


@pytest.mark.parametrize(
    ("variant", "path"), CASES, ids=[f"{v}:{dotted_path(p)}" for v, p in CASES]
)
def test_every_mutation_at_path(live: Live, variant: str, path: Path) -> None:
    """Each mutation at ``path``: an ACK or a specific 4xx NACK, never a 500 or logged error."""
    if variant == "on_select":
        live.pending()
    found: list[str] = []
    for change in mutations(path):
        if path in EXTRA and change is DROP:
            continue
        sent = live.deliver(variant, mutate(live.base(variant), path, change))
        found += [f"{change!r:.60}: {p}" for p in problems(sent, variant, path)]
    assert not found, "\n".join(found)
    assert_still_serving(live, variant)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@PROPERTY
@given(case=st.sampled_from(CASES), value=JSON)
def test_any_json_anywhere(live: Live, case: tuple[str, Path], value: Any) -> None:
    """Any JSON value at any path (NaN and infinities too): an ACK or a specific 4xx NACK."""
    variant, path = case
    sent = live.deliver(variant, mutate(live.base(variant), path, value))
    assert problems(sent, variant, path) == []


def json_error(sent: Sent) -> tuple[int, str, str | None]:
    """(status, code, path) of a 4xx JSON NACK; fails on any other answer or a logged error."""
    reply = sent.answer
    assert 400 <= reply.status < 500, (reply.status, reply.body[:300])
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers
    assert sent.failures == []
    error = json.loads(reply.body)["error"]
    assert isinstance(error["code"], str), error
    assert error["code"], error
    assert error["message"], error
    return reply.status, error["code"], error.get("path", error.get("paths"))


@pytest.mark.parametrize("variant", sorted(TEMPLATES))
def test_garbage_bodies(live: Live, variant: str) -> None:
    """Signed bodies that are no envelope (other encodings, cut, deep ...): 4xx JSON NACKs."""
    found = []
    for name, body in garbage_bodies(encode(live.base(variant))).items():
        sent = live.deliver(variant, body)
        if sent.answer.status == 200 or problems(sent, variant, None):
            found.append(f"{name}: {problems(sent, variant, None) or 'ACKed'}")
    assert not found, "\n".join(found)
    assert_still_serving(live, variant)


def test_signature_header_garbage(live: Live) -> None:
    """Spoilt Authorization values over a valid body: a 401 AUT_* NACK at the header."""
    found = []
    for header in signature_headers(live.client.sign(b"{}", int(time.time()))):
        body = encode(live.base("v2"))
        headers = {"Content-Type": "application/json", "Authorization": header}
        status, code, path = json_error(
            live.request("POST", live.url(live.bpp, "select"), body, headers)
        )
        if (status, code[:4], path) != (401, "AUT_", "Authorization"):
            found.append(f"{header[:80]!r}: {status} {code} {path}")
    assert not found, "\n".join(found)
    assert_still_serving(live, "v2")


def test_on_subscribe_garbage(live: Live) -> None:
    """Garbage challenges signed by the registry, or not signed by it: 4xx JSON NACKs."""
    url = live.url(live.bpp, "on_subscribe")
    for body in SUBSCRIBE_BODIES:
        json_error(live.send(url, body, live.registry))
    assert json_error(live.send(url, b"{}", None))[:2] == (401, "AUT_SIGNATURE_MISSING")
    assert json_error(live.send(url, b"{}", live.client))[:2] == (401, "AUT_NOT_A_REGISTRY")
    key = shared_secret(live.enc_private, live.enc_public)
    valid = {
        "subscriber_id": live.bpp.signer.subscriber_id,
        "challenge": encrypt_challenge("hi", key),
    }
    assert live.send(url, encode(valid), live.registry).answer.json() == {"answer": "hi"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_status_list_garbage_purpose(live: Live, purpose: str) -> None:
    """``GET /status/<garbage>``: 404 CTX_UNKNOWN_ACTION as JSON; the real lists still answer."""
    sent = live.request("GET", live.url(live.bap, f"status/{purpose}"))
    assert json_error(sent)[:2] == (404, "CTX_UNKNOWN_ACTION")
    assert live.request("GET", live.url(live.bap, "status/revocation")).answer.status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_did_document_other_methods(live: Live, method: str) -> None:
    """Any method but GET on ``/.well-known/did.json``: 405 JSON naming what is allowed."""
    sent = live.request(method, live.url(live.bap, ".well-known/did.json?x=%ZZ"), b"{}")
    assert json_error(sent) == (405, "CTX_UNKNOWN_ACTION", "$path")
    assert "GET" in sent.answer.headers["Allow"]
    assert live.request("GET", live.url(live.bap, ".well-known/did.json")).answer.status == 200


@pytest.mark.parametrize("prefix", ["beckn/", ""])
def test_odd_action_names(live: Live, prefix: str) -> None:
    """A signed select to odd action names, on both nodes: 4xx JSON NACKs, never a 500."""
    for node, variant in ((live.bpp, "v2"), (live.bap, "on_select")):
        for name in ACTION_NAMES:
            body = encode(live.base(variant))
            signer = live.client if variant == "v2" else live.peer
            json_error(live.send(live.url(node, prefix + name), body, signer))
        assert_still_serving(live, variant)


def test_callback_url_with_credentials(live: Live) -> None:
    """bapUri ``http://u:p@host/``: ACKed, the callback refused as unusable (was job_failed)."""
    sent = live.deliver(
        "v2", mutate(live.base("v2"), ("context", "bapUri"), "http://u:p@127.0.0.1:9")
    )
    assert sent.answer.status == 200
    assert problems(sent, "v2", None) == []
    assert any(e["event"] == "callback_refused" for e in sent.logs)


@pytest.mark.parametrize("variant", sorted(TEMPLATES))
def test_integer_too_long_to_read(live: Live, variant: str) -> None:
    """A 5000-digit integer: 400 SCH_INVALID_JSON at it, in the caller's dialect (was a 500)."""
    body = mutate(live.base(variant), ("message", "n"), RAW("9" * 5000))
    sent = live.deliver(variant, body)
    status, _, where = json_error(sent)
    assert (status, where) == (400, "message.n")
    assert problems(sent, variant, ("message", "n")) == []  # in the caller's dialect


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-8-sig"])
def test_body_not_plain_utf8(live: Live, encoding: str) -> None:
    """UTF-16 or a byte order mark: 400 SCH_INVALID_JSON (was an ACK, then job_failed, or a 500)."""
    body = encode(live.base("v2")).decode().encode(encoding)
    assert json_error(live.deliver("v2", body))[:3] == (400, "SCH_INVALID_JSON", "$")


def test_nan_is_not_json(live: Live) -> None:
    """``NaN`` (not JSON) in a message: 400 SCH_INVALID_JSON at it (was ACKed)."""
    body = mutate(live.base("v2"), ("message", "contract", "x"), RAW("NaN"))
    assert json_error(live.deliver("v2", body)) == (400, "SCH_INVALID_JSON", "message.contract.x")


def test_signature_expiring_past_the_replay_guard(live: Live) -> None:
    """A 20-digit ``expires``: 401 AUT_SIGNATURE_MALFORMED (was a 500 from the Redis guard)."""
    body = encode(live.base("v2"))
    headers = signed_headers(live.client, body, time.time(), expires=10**20)
    sent = live.request("POST", live.url(live.bpp, "select"), body, headers)
    assert json_error(sent) == (401, "AUT_SIGNATURE_MALFORMED", "Authorization")


def test_on_subscribe_body_over_the_limit(live: Live) -> None:
    """An on_subscribe body over max_body_bytes: 413 JSON NACK (was aiohttp's text/plain)."""
    sent = live.send(live.url(live.bpp, "on_subscribe"), b" " * 1_100_000, live.registry)
    assert json_error(sent) == (413, "SCH_PAYLOAD_TOO_LARGE", "$")
