"""The conformance suite's parts on their own: messages, keys, targets, check selection."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from iesnode.conformance.checks_bpp import bpp_checks
from iesnode.conformance.identities import CounterpartKeys, static_listing
from iesnode.conformance.messages import DEFAULT_OFFER, load_templates, request_message
from iesnode.conformance.model import Level
from iesnode.conformance.options import RunOptions
from iesnode.conformance.runner import select
from iesnode.conformance.target import TargetProfile
from iesnode.conformance.wire import Wire
from iesnode.errors import ConfigError
from iesnode.http.transport import AiohttpTransport
from iesnode.model.envelope import Dialect
from iesnode.protocol.actions import ACTIONS, wire_name
from iesnode.protocol.schema import SchemaRegistry
from iesnode.testing import generate_signing_key

TARGET = TargetProfile("http://127.0.0.1:9", "bpp", "bpp.example", "k1", generate_signing_key()[1])


@functools.cache
def schemas() -> SchemaRegistry:
    """The compiled Beckn schemas, once per test process."""
    return SchemaRegistry.load()


@pytest.mark.parametrize("dialect", [Dialect.V2, Dialect.V1])
@pytest.mark.parametrize("action", ACTIONS)
def test_default_request_of_every_action_is_schema_valid(action: str, dialect: Dialect) -> None:
    """What the suite sends for each of the ten actions passes iesnode's own validator."""
    wire = Wire(
        options=RunOptions(target=TARGET, dialect=dialect),
        keys=CounterpartKeys.generate(),
        transport=AiohttpTransport(),
        bap_uri="http://127.0.0.1:9/bap",
    )
    request = wire.build(action)
    schemas().validate(dialect, wire_name(action, dialect), json.loads(request.body))
    assert request.doc["context"]["action"] == wire_name(action, dialect)


def test_flow_carries_the_offer_and_the_contract_forward() -> None:
    """select names the catalog's first offer; init resends on_select's contract; status its id."""
    catalog = {"catalogs": [{"offers": [{"id": "solar-7"}]}]}
    selected = request_message("select", Dialect.V2, previous=catalog)
    contract = {"id": "k-1", "commitments": [{"id": "c1", "offer": {"id": "solar-7"}}]}
    assert selected["contract"]["commitments"][0]["offer"] == {"id": "solar-7"}
    assert request_message("init", Dialect.V2, previous={"contract": contract}) == {
        "contract": contract
    }
    assert request_message("status", Dialect.V2, previous={"contract": contract}) == {
        "contract": {"id": "k-1"}
    }
    fresh = request_message("select", Dialect.V1)
    assert fresh == {"order": {"items": [{"id": DEFAULT_OFFER}]}}


def test_templates_accept_either_dialects_names(tmp_path: Path) -> None:
    """A template keyed 'search' is the discover message; it is sent as given."""
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({"search": {"intent": {"category": "solar"}}}))
    templates = load_templates(path)
    assert request_message("discover", Dialect.V1, templates=templates) == {
        "intent": {"category": "solar"}
    }


@pytest.mark.parametrize(
    ("content", "complaint"),
    [("[]", "JSON object"), ('{"frob": {}}', "'frob'"), ('{"select": 3}', "must be an object")],
)
def test_bad_templates_are_refused_naming_the_problem(
    tmp_path: Path, content: str, complaint: str
) -> None:
    """Templates that are not {action: object} raise ConfigError saying what is wrong."""
    path = tmp_path / "templates.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=complaint):
        load_templates(path)


def test_keys_file_round_trips_and_lists_for_static_mode(tmp_path: Path) -> None:
    """Saved keys load back equal; the listing names every subscriber and public key."""
    keys = CounterpartKeys.generate()
    keys.save(tmp_path / "keys.json")
    assert CounterpartKeys.load(tmp_path / "keys.json") == keys
    listing = static_listing(keys, "http://10.0.0.5:9400/", "ies.example/p2p-trading")
    for identity in keys.all:
        assert identity.subscriber_id in listing
        assert identity.signing_public_key in listing
    assert 'url = "http://10.0.0.5:9400/gateway"' in listing
    assert 'role = "BG"' in listing


def test_a_broken_keys_file_is_a_config_error(tmp_path: Path) -> None:
    """A keys file missing an identity is refused with ConfigError."""
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"bap": {}}))
    with pytest.raises(ConfigError, match="cannot use keys file"):
        CounterpartKeys.load(path)


def test_target_profile_needs_a_way_to_its_key() -> None:
    """Neither a public key nor a registry URL: ConfigError."""
    with pytest.raises(ConfigError, match="--target-registry-url"):
        TargetProfile("http://127.0.0.1:9", "bpp", "bpp.example")


def test_bpp_checks_are_unique_and_tagged() -> None:
    """41 checks by default, unique ids, each with a level and a spec reference."""
    checks = bpp_checks(RunOptions(target=TARGET))
    ids = [c.check.id for c in checks]
    assert len(ids) == len(set(ids)) == 41
    assert all(c.check.spec_ref and c.check.requirement for c in checks)
    should = {c.check.id for c in checks if c.check.level is Level.SHOULD}
    assert should == {
        "bpp.gw.forwarded-discover",
        "bpp.gw.bad-signature",
        "bpp.callback.retry-on-503",
        "bpp.callback.no-retry-on-400",
    }


def test_gateway_checks_need_discover() -> None:
    """A target that does not claim discover gets no gateway checks."""
    checks = bpp_checks(RunOptions(target=TARGET, actions=("select", "init")))
    assert not [c for c in checks if c.check.id.startswith("bpp.gw")]
    assert len(checks) == 10 + 9 + 3 + 2


def test_only_and_skip_are_id_prefixes() -> None:
    """--only keeps matching prefixes, --skip then removes its prefixes."""
    checks = bpp_checks(RunOptions(target=TARGET))
    chosen = select(checks, ["bpp.flow.select", "bpp.input"], ["bpp.flow.select.schema"])
    assert [c.check.id for c in chosen] == [
        "bpp.flow.select.ack",
        "bpp.flow.select.callback",
        "bpp.flow.select.signature",
        "bpp.flow.select.correlation",
        "bpp.input.malformed-json",
        "bpp.input.action-mismatch",
        "bpp.input.unknown-action",
    ]
