"""Endpoint schemas under ``protocol_specs/`` and their compiled validators."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from iesnode.errors import ConfigError, ProtocolError, RequestRejected, UnknownAction
from iesnode.model.envelope import Dialect
from iesnode.protocol.dialects import detect_dialect
from iesnode.protocol.predicate import compile_predicate
from iesnode.protocol.schema import SchemaRegistry

SPECS = Path(__file__).resolve().parents[2] / "protocol_specs"
VECTORS = Path("/work/shared/vectors/beckn-signing")
SPEC_FILES = sorted(SPECS.rglob("*.json"))
SPEC_DIRS = {Dialect.V2: "v2", Dialect.V1: "v1", Dialect.V09: "v0.9"}

V2_REQUESTS = ["discover", "select", "init", "confirm", "status"]
V2_REQUESTS += ["track", "update", "cancel", "rate", "support"]
V1_REQUESTS = ["search", "select", "init", "confirm", "status"]
V1_REQUESTS += ["track", "update", "cancel", "rating", "support"]
ACTIONS = {
    Dialect.V2: V2_REQUESTS + [f"on_{a}" for a in V2_REQUESTS],
    Dialect.V1: V1_REQUESTS + [f"on_{a}" for a in V1_REQUESTS],
    Dialect.V09: V1_REQUESTS + [f"on_{a}" for a in V1_REQUESTS],
}
ALL_ENDPOINTS = [(d, a) for d, actions in ACTIONS.items() for a in actions]

_DRAFT = {"contract": {"commitments": [{"id": "cm-1"}]}}
_CONTRACT_REF = {"contract": {"id": "ct-1"}}
V2_MESSAGES: dict[str, dict[str, Any]] = {
    "discover": {"intent": {}},
    "select": _DRAFT,
    "init": _DRAFT,
    "confirm": _DRAFT,
    "status": _CONTRACT_REF,
    "track": {"tracking": {}},
    "update": _DRAFT,
    "cancel": _CONTRACT_REF,
    "rate": {"ratingInputs": [{"target": {}, "range": {}}]},
    "support": {"support": {}},
    "on_discover": {"catalogs": []},
    "on_select": {"contract": {}},
    "on_init": {"contract": {}},
    "on_confirm": {"contract": {}},
    "on_status": {"contract": {}},
    "on_track": {"tracking": {}},
    "on_update": {"contract": {}},
    "on_cancel": {"contract": {}},
    "on_rate": {},
    "on_support": {"support": {}},
}
V1_MESSAGES: dict[str, dict[str, Any]] = {
    "search": {"intent": {}},
    "select": {"order": {}},
    "init": {"order": {}},
    "confirm": {"order": {}},
    "status": {"order_id": "o-1"},
    "track": {"order_id": "o-1"},
    "update": {"update_target": "billing", "order": {}},
    "cancel": {"order_id": "o-1"},
    "rating": {"ratings": [{"id": "o-1", "value": "5"}]},
    "support": {"support": {}},
    "on_search": {"catalog": {}},
    "on_select": {},
    "on_init": {"order": {}},
    "on_confirm": {"order": {}},
    "on_status": {"order": {}},
    "on_track": {"tracking": {}},
    "on_update": {"order": {}},
    "on_cancel": {"order": {}},
    "on_rating": {},
    "on_support": {},
}
MESSAGES = {Dialect.V2: V2_MESSAGES, Dialect.V1: V1_MESSAGES, Dialect.V09: V1_MESSAGES}
SENDER_FIELD = {
    Dialect.V2: ("bapId", "bppId"),
    Dialect.V1: ("bap_id", "bpp_id"),
    Dialect.V09: ("bap_id", "bpp_id"),
}
REQUIRED_CONTEXT = {
    Dialect.V2: ["action", "version", "bapId", "bapUri", "transactionId", "messageId"],
    Dialect.V1: ["action", "version", "domain", "bap_id", "bap_uri", "transaction_id"],
    Dialect.V09: ["domain", "action", "country", "city", "core_version", "bap_uri"],
}
REQUIRED_CONTEXT[Dialect.V2] += ["timestamp"]
REQUIRED_CONTEXT[Dialect.V1] += ["message_id", "timestamp"]
REQUIRED_CONTEXT[Dialect.V09] += ["transaction_id", "message_id", "bap_id", "timestamp"]


def context(dialect: Dialect, action: str) -> dict[str, Any]:
    """A minimal valid context of ``dialect`` for ``action``."""
    stamp = "2025-01-31T10:15:00.000Z"
    if dialect is Dialect.V2:
        ctx: dict[str, Any] = {"action": action, "version": "2.0.0", "bapId": "bap.example.com"}
        ctx |= {"bapUri": "https://bap.example.com/beckn", "transactionId": "t-1"}
        ctx |= {"messageId": "m-1", "timestamp": stamp, "ttl": "PT30S"}
        if action.startswith("on_"):
            ctx |= {"bppId": "bpp.example.com", "bppUri": "https://bpp.example.com/beckn"}
        return ctx
    ctx = {"action": action, "domain": "ies:p2p", "bap_id": "bap.example.com"}
    ctx |= {"bap_uri": "https://bap.example.com/beckn", "transaction_id": "t-1"}
    ctx |= {"message_id": "m-1", "timestamp": stamp}
    if dialect is Dialect.V1:
        ctx |= {"version": "1.1.0", "location": {"city": {"code": "std:080"}}}
    else:
        ctx |= {"core_version": "0.9.4", "city": "std:080", "country": "IND"}
    if action.startswith("on_"):
        ctx |= {"bpp_id": "bpp.example.com", "bpp_uri": "https://bpp.example.com/beckn"}
    return ctx


def body(dialect: Dialect, action: str) -> dict[str, Any]:
    """A minimal valid body for the endpoint."""
    return {
        "context": context(dialect, action),
        "message": copy.deepcopy(MESSAGES[dialect][action]),
    }


def rejection(
    schemas: SchemaRegistry, dialect: Dialect, action: str, doc: object
) -> RequestRejected:
    """The RequestRejected that validating ``doc`` raises."""
    with pytest.raises(RequestRejected) as info:
        schemas.validate(dialect, action, doc)
    return info.value


def outcome(
    schemas: SchemaRegistry, endpoint: tuple[Dialect, str], doc: object
) -> ProtocolError | None:
    """The protocol error validating ``doc`` raises, or None; anything else propagates."""
    try:
        schemas.validate(*endpoint, doc)
    except ProtocolError as err:
        return err
    return None


def spec_registry() -> Registry[Any]:
    """Every spec file as a resource keyed by its file URI, as a third-party tool would."""
    return Registry().with_resources(
        (p.as_uri(), DRAFT202012.create_resource(json.loads(p.read_text()))) for p in SPEC_FILES
    )


_REGISTRY = spec_registry()


@pytest.fixture(scope="module")
def schemas() -> SchemaRegistry:
    """The registry loaded from the repository's protocol_specs."""
    return SchemaRegistry.load()


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(SPECS)))
def test_spec_file_is_a_draft_2020_12_schema(path: Path) -> None:
    """Each file is valid JSON and a valid schema that declares draft 2020-12."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(SPECS)))
def test_spec_file_refs_resolve_and_compile(path: Path) -> None:
    """Every $ref in a file resolves and the fast path compiles the whole file."""
    resolver = _REGISTRY.resolver(path.as_uri())
    pending: list[object] = [json.loads(path.read_text())]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolver.lookup(node["$ref"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    assert compile_predicate(_REGISTRY, path.as_uri())({}) in (True, False)


@pytest.mark.parametrize("dialect", list(Dialect))
def test_actions_cover_every_endpoint(schemas: SchemaRegistry, dialect: Dialect) -> None:
    """Each dialect has exactly its ten requests and ten callbacks."""
    assert schemas.actions(dialect) == frozenset(ACTIONS[dialect])


@pytest.mark.parametrize(("dialect", "action"), ALL_ENDPOINTS)
def test_minimal_body_is_accepted(schemas: SchemaRegistry, dialect: Dialect, action: str) -> None:
    """A minimal valid body passes its endpoint."""
    schemas.validate(dialect, action, body(dialect, action))


@pytest.mark.parametrize(("dialect", "action"), ALL_ENDPOINTS)
def test_missing_sender_is_a_missing_context_field(
    schemas: SchemaRegistry, dialect: Dialect, action: str
) -> None:
    """Dropping the sender id (bap for requests, bpp for callbacks) is CTX_MISSING_FIELD."""
    field = SENDER_FIELD[dialect][action.startswith("on_")]
    doc = body(dialect, action)
    del doc["context"][field]
    err = rejection(schemas, dialect, action, doc)
    assert (err.code, err.path, err.legacy_code) == (
        "CTX_MISSING_FIELD",
        f"context.{field}",
        "30000",
    )
    assert err.error_type == "CONTEXT-ERROR"
    assert err.message == f"context.{field} is required"


@pytest.mark.parametrize(
    ("dialect", "field"), [(d, f) for d, fields in REQUIRED_CONTEXT.items() for f in fields]
)
def test_each_required_context_field_is_reported(
    schemas: SchemaRegistry, dialect: Dialect, field: str
) -> None:
    """Every required context field, when absent, is reported at its own path."""
    doc = body(dialect, "select")
    del doc["context"][field]
    err = rejection(schemas, dialect, "select", doc)
    assert (err.code, err.path) == ("CTX_MISSING_FIELD", f"context.{field}")


@pytest.mark.parametrize(
    ("dialect", "action", "key"),
    [(d, a, next(iter(MESSAGES[d][a]))) for d, a in ALL_ENDPOINTS if MESSAGES[d][a]],
)
def test_missing_message_field_is_a_schema_error(
    schemas: SchemaRegistry, dialect: Dialect, action: str, key: str
) -> None:
    """Dropping the action's required message field is SCH_VALIDATION_FAILED at that path."""
    doc = body(dialect, action)
    doc["message"] = {k: v for k, v in doc["message"].items() if k != key}
    err = rejection(schemas, dialect, action, doc)
    assert (err.code, err.path, err.legacy_code) == (
        "SCH_VALIDATION_FAILED",
        f"message.{key}",
        "30000",
    )
    assert err.error_type == "JSON-SCHEMA-ERROR"


@pytest.mark.parametrize(
    ("dialect", "action"), [(d, a) for d, a in ALL_ENDPOINTS if "on_" not in a]
)
def test_request_without_message_is_rejected(
    schemas: SchemaRegistry, dialect: Dialect, action: str
) -> None:
    """Requests always need a message."""
    doc = body(dialect, action)
    del doc["message"]
    assert rejection(schemas, dialect, action, doc).path == "message"


@pytest.mark.parametrize("dialect", list(Dialect))
def test_action_mismatch_is_reported_at_context_action(
    schemas: SchemaRegistry, dialect: Dialect
) -> None:
    """A body for another action posted to /select is CTX_ACTION_MISMATCH."""
    doc = body(dialect, "select")
    doc["context"]["action"] = "confirm"
    err = rejection(schemas, dialect, "select", doc)
    assert (err.code, err.path) == ("CTX_ACTION_MISMATCH", "context.action")
    assert "'select'" in err.message
    assert '"confirm"' in err.message


def test_action_mismatch_wins_over_other_context_errors(schemas: SchemaRegistry) -> None:
    """When the action is wrong, that is what gets reported first."""
    doc = body(Dialect.V2, "select")
    doc["context"] |= {"action": "init", "ttl": "soon"}
    del doc["context"]["bapId"]
    assert rejection(schemas, Dialect.V2, "select", doc).code == "CTX_ACTION_MISMATCH"


def test_context_error_wins_over_message_error(schemas: SchemaRegistry) -> None:
    """A context problem is reported before a message problem."""
    doc = body(Dialect.V2, "select")
    doc["context"]["timestamp"] = "yesterday"
    doc["message"] = {"contract": {"commitments": []}}
    err = rejection(schemas, Dialect.V2, "select", doc)
    assert (err.code, err.path) == ("CTX_INVALID_FIELD", "context.timestamp")
    assert "RFC 3339" in err.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("ttl", 30), ("ttl", "30 seconds"), ("version", "1.1.0"), ("bapUri", "bap.example.com")],
)
def test_invalid_context_value_is_ctx_invalid_field(
    schemas: SchemaRegistry, field: str, value: object
) -> None:
    """A context value of the wrong type or format is CTX_INVALID_FIELD at its path."""
    doc = body(Dialect.V2, "select")
    doc["context"][field] = value
    err = rejection(schemas, Dialect.V2, "select", doc)
    assert (err.code, err.path) == ("CTX_INVALID_FIELD", f"context.{field}")


def test_wrong_type_deep_in_message_names_its_path(schemas: SchemaRegistry) -> None:
    """A wrong type inside an array is reported with a dotted, indexed path."""
    doc = body(Dialect.V2, "select")
    doc["message"] = {"contract": {"commitments": [{"id": 7}]}}
    err = rejection(schemas, Dialect.V2, "select", doc)
    assert (err.code, err.path) == ("SCH_VALIDATION_FAILED", "message.contract.commitments[0].id")
    assert err.message == "message.contract.commitments[0].id must be a string"


def test_empty_commitments_are_rejected(schemas: SchemaRegistry) -> None:
    """A v2 select contract needs at least one commitment."""
    doc = body(Dialect.V2, "select")
    doc["message"] = {"contract": {"commitments": []}}
    err = rejection(schemas, Dialect.V2, "select", doc)
    assert err.path == "message.contract.commitments"
    assert "at least 1 item" in err.message


@pytest.mark.parametrize("doc", [[], "text", None, 3])
def test_non_object_body_is_reported_at_the_root(schemas: SchemaRegistry, doc: object) -> None:
    """A body that is not an object is reported at path $."""
    err = rejection(schemas, Dialect.V2, "select", doc)
    assert (err.code, err.path, err.message) == (
        "SCH_VALIDATION_FAILED",
        "$",
        "the body must be an object",
    )


def test_missing_context_is_ctx_missing_field(schemas: SchemaRegistry) -> None:
    """A body without context is CTX_MISSING_FIELD at path context."""
    err = rejection(schemas, Dialect.V1, "search", {"message": {"intent": {}}})
    assert (err.code, err.path) == ("CTX_MISSING_FIELD", "context")


def test_long_values_are_not_dumped_into_the_message(schemas: SchemaRegistry) -> None:
    """The NACK message quotes at most a short excerpt of the offending value."""
    doc = body(Dialect.V2, "select")
    doc["context"]["action"] = "x" * 10_000
    assert len(rejection(schemas, Dialect.V2, "select", doc).message) < 150


def test_value_too_deep_to_explain_is_still_rejected(schemas: SchemaRegistry) -> None:
    """A value nested deeper than Python can print still yields a clean rejection."""
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    doc = body(Dialect.V2, "select")
    doc["context"]["action"] = deep
    err = rejection(schemas, Dialect.V2, "select", doc)
    assert (err.code, err.path) == ("SCH_VALIDATION_FAILED", "$")
    assert "nested too deeply" in err.message


def test_v2_callback_with_error_and_no_message_is_accepted(schemas: SchemaRegistry) -> None:
    """An on_* callback may carry an error instead of a message."""
    doc = {"context": context(Dialect.V2, "on_select"), "error": {"code": "BIZ_ITEM_UNAVAILABLE"}}
    schemas.validate(Dialect.V2, "on_select", doc)


def test_v2_callback_with_error_skips_the_message_schema(schemas: SchemaRegistry) -> None:
    """With an error present, a partial message is tolerated."""
    doc = {"context": context(Dialect.V2, "on_init"), "message": {}, "error": {"code": "X"}}
    schemas.validate(Dialect.V2, "on_init", doc)


def test_v2_callback_without_message_or_error_is_rejected(schemas: SchemaRegistry) -> None:
    """A v2 callback with neither message nor error is missing its message."""
    err = rejection(schemas, Dialect.V2, "on_select", {"context": context(Dialect.V2, "on_select")})
    assert (err.code, err.path) == ("SCH_VALIDATION_FAILED", "message")


def test_v2_callback_error_must_be_an_object(schemas: SchemaRegistry) -> None:
    """A callback error that is not an object is reported at error."""
    doc = {"context": context(Dialect.V2, "on_status"), "error": "boom"}
    assert rejection(schemas, Dialect.V2, "on_status", doc).path == "error"


@pytest.mark.parametrize("dialect", [Dialect.V1, Dialect.V09])
def test_v1_callback_needs_only_context(schemas: SchemaRegistry, dialect: Dialect) -> None:
    """v1.1 and v0.9 callbacks may carry neither message nor error."""
    schemas.validate(dialect, "on_confirm", {"context": context(dialect, "on_confirm")})


def test_v1_on_search_message_needs_a_catalog(schemas: SchemaRegistry) -> None:
    """When on_search carries a message, it must hold a catalog object."""
    doc = {"context": context(Dialect.V1, "on_search"), "message": {"catalog": []}}
    err = rejection(schemas, Dialect.V1, "on_search", doc)
    assert (err.path, err.message) == ("message.catalog", "message.catalog must be an object")


def test_v1_location_city_needs_a_code(schemas: SchemaRegistry) -> None:
    """A v1.1 location.city object without a code is reported at its path."""
    doc = body(Dialect.V1, "search")
    doc["context"]["location"] = {"city": {"name": "Bengaluru"}}
    err = rejection(schemas, Dialect.V1, "search", doc)
    assert (err.code, err.path) == ("CTX_MISSING_FIELD", "context.location.city.code")


def test_v09_city_may_be_an_object_with_code(schemas: SchemaRegistry) -> None:
    """v0.9 city and country may be code strings or objects with a code."""
    doc = body(Dialect.V09, "search")
    doc["context"] |= {"city": {"code": "std:080"}, "country": {"code": "IND"}}
    schemas.validate(Dialect.V09, "search", doc)


def test_beckn_006_vector_body_is_a_valid_v09_search(schemas: SchemaRegistry) -> None:
    """The BECKN-006 signing vector body is a valid v0.9 search."""
    doc = json.loads((VECTORS / "beckn-006-search.body").read_bytes())
    assert detect_dialect(doc) is Dialect.V09
    schemas.validate(Dialect.V09, "search", doc)


@pytest.mark.parametrize(("dialect", "action"), [(Dialect.V2, "search"), (Dialect.V1, "discover")])
def test_unknown_action_is_404(schemas: SchemaRegistry, dialect: Dialect, action: str) -> None:
    """An action the dialect does not have raises UnknownAction (HTTP 404)."""
    with pytest.raises(UnknownAction) as info:
        schemas.validate(dialect, action, body(Dialect.V2, "select"))
    assert (info.value.code, info.value.http_status) == ("CTX_UNKNOWN_ACTION", 404)


def test_load_from_a_copied_tree(schemas: SchemaRegistry, tmp_path: Path) -> None:
    """The registry loads from any root with the same layout (as in an installed wheel)."""
    shutil.copytree(SPECS, tmp_path / "_specs")
    copied = SchemaRegistry.load(tmp_path / "_specs")
    assert copied.actions(Dialect.V2) == schemas.actions(Dialect.V2)
    copied.validate(Dialect.V2, "discover", body(Dialect.V2, "discover"))


def test_load_from_an_empty_root_is_a_config_error(tmp_path: Path) -> None:
    """A root without endpoint files fails at load time."""
    with pytest.raises(ConfigError):
        SchemaRegistry.load(tmp_path)


def test_unsupported_keyword_is_a_config_error(tmp_path: Path) -> None:
    """The fast path refuses keywords it cannot compile rather than ignoring them."""
    (tmp_path / "s.json").write_text('{"uniqueItems": true}')
    registry = Registry().with_resource(
        (tmp_path / "s.json").as_uri(), Resource.from_contents({"uniqueItems": True}, DRAFT202012)
    )
    with pytest.raises(ConfigError):
        compile_predicate(registry, (tmp_path / "s.json").as_uri())


def _ack_validator(dialect_dir: str) -> Draft202012Validator:
    return Draft202012Validator(
        json.loads((SPECS / "beckn" / dialect_dir / "ack.json").read_text())
    )


def test_v2_ack_schema_accepts_our_answers() -> None:
    """ACK with a counter-signature and NACK with an error both match v2/ack.json."""
    validator = _ack_validator("v2")
    sig = 'Signature keyId="bpp.example.com|k1|ed25519",algorithm="ed25519",created="1",'
    sig += 'expires="2",headers="(created) (expires) digest",signature="c2ln"'
    validator.validate({"status": "ACK", "signature": sig})
    nack = {"code": "SCH_VALIDATION_FAILED", "message": "m", "path": "message.contract"}
    validator.validate({"status": "NACK", "error": nack})
    assert not validator.is_valid({"status": "NACK"})


def test_v1_ack_schema_accepts_our_answers() -> None:
    """v1 ACK and a NACK with a numeric code match v1/ack.json; a bare NACK does not."""
    validator = _ack_validator("v1")
    validator.validate({"message": {"ack": {"status": "ACK"}}})
    error = {"code": "30000", "message": "m", "paths": "context.bap_id", "type": "CONTEXT-ERROR"}
    validator.validate({"message": {"ack": {"status": "NACK"}}, "error": error})
    assert not validator.is_valid({"message": {"ack": {"status": "NACK"}}})


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
ENDPOINT_OR_UNKNOWN = st.sampled_from([*ALL_ENDPOINTS, (Dialect.V2, "nope")])
QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(endpoint=ENDPOINT_OR_UNKNOWN, doc=JSON)
def test_arbitrary_body_raises_only_protocol_errors(
    schemas: SchemaRegistry, endpoint: tuple[Dialect, str], doc: object
) -> None:
    """Any JSON value as the body is accepted or rejected, never crashes."""
    err = outcome(schemas, endpoint, doc)
    if isinstance(err, UnknownAction):
        assert endpoint[1] == "nope"
    else:
        assert err is None or (isinstance(err, RequestRejected) and err.path)


@QUICK
@given(endpoint=st.sampled_from(ALL_ENDPOINTS), message=JSON, field=st.text(max_size=8), value=JSON)
def test_arbitrary_message_raises_only_request_rejected(
    schemas: SchemaRegistry,
    endpoint: tuple[Dialect, str],
    message: object,
    field: str,
    value: object,
) -> None:
    """Any JSON value as message (and a stray context value) never crashes validation."""
    doc = body(*endpoint)
    doc["message"] = message
    doc["context"][field] = value
    err = outcome(schemas, endpoint, doc)
    assert err is None or (type(err) is RequestRejected and err.path)


@QUICK
@given(endpoint=st.sampled_from(ALL_ENDPOINTS), data=st.data())
def test_fast_path_agrees_with_jsonschema(
    endpoint: tuple[Dialect, str], data: st.DataObject
) -> None:
    """The compiled predicate and a full jsonschema pass give the same verdict."""
    dialect, action = endpoint
    uri = (SPECS / "beckn" / SPEC_DIRS[dialect] / "endpoints.json").as_uri() + f"#/$defs/{action}"
    doc: object = body(dialect, action)
    if data.draw(st.booleans()):
        doc = data.draw(JSON)
    else:
        assert isinstance(doc, dict)
        if data.draw(st.booleans()):
            doc["error"] = {"code": "X"}
        containers = _objects(doc)
        target = data.draw(st.sampled_from(containers))
        key = data.draw(st.sampled_from([*sorted(target), "x"]))
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(JSON)
    expected = Draft202012Validator({"$ref": uri}, registry=_REGISTRY).is_valid(doc)
    assert compile_predicate(_REGISTRY, uri)(doc) is expected


def _objects(node: object) -> list[dict[str, Any]]:
    """Every JSON object inside ``node``, outermost first."""
    found: list[dict[str, Any]] = []
    pending = [node]
    while pending:
        item = pending.pop(0)
        if isinstance(item, dict):
            found.append(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found
