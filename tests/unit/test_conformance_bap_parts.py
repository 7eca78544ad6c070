"""The BAP side of the conformance suite on its own: our callbacks, keys files, the check list."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest

from iesnode.conformance.bap_wire import TargetRequest, callback_doc
from iesnode.conformance.checks_bap import bap_checks
from iesnode.conformance.identities import CounterpartKeys
from iesnode.conformance.messages import request_message
from iesnode.conformance.model import Level
from iesnode.conformance.options import RunOptions
from iesnode.conformance.receiver import ReceivedCallback
from iesnode.conformance.target import TargetProfile
from iesnode.model.envelope import Dialect, Envelope
from iesnode.protocol.actions import ACTIONS, callback_of, wire_name
from iesnode.protocol.dialects import write_envelope
from iesnode.protocol.roles.envelopes import request_context
from iesnode.protocol.schema import SchemaRegistry
from iesnode.testing import generate_signing_key

TARGET = TargetProfile("http://127.0.0.1:9", "bap", "bap.example", "k1", generate_signing_key()[1])


@functools.cache
def schemas() -> SchemaRegistry:
    """The compiled Beckn schemas, once per test process."""
    return SchemaRegistry.load()


def received(action: str, dialect: Dialect) -> TargetRequest:
    """A request as a BAP sends it for ``action``, as our receiver records it."""
    ctx = request_context(
        dialect=dialect,
        action=action,
        bap_id="bap.example",
        bap_uri="http://127.0.0.1:9/beckn",
        now=time.time(),
        ttl=30,
        domain="deg:p2p-energy-trading",
    )
    doc = write_envelope(Envelope(context=ctx, message=request_message(action, dialect)))
    body = json.dumps(doc).encode()
    wire = wire_name(action, dialect)
    cb = ReceivedCallback("bpp", wire, f"http://x/bpp/{wire}", body, {}, time.time(), doc=doc)
    return TargetRequest(cb)


@pytest.mark.parametrize("dialect", [Dialect.V2, Dialect.V1])
@pytest.mark.parametrize("action", ACTIONS)
def test_our_callback_of_every_action_is_schema_valid(action: str, dialect: Dialect) -> None:
    """The on_<action> the suite answers a BAP with passes iesnode's own validator."""
    request = received(action, dialect)
    doc = callback_doc(request, "bpp.conformance.iesnode", "http://127.0.0.1:9/bpp")
    schemas().validate(dialect, wire_name(callback_of(action), dialect), doc)
    assert request.reply_url("http://fallback") == (
        f"http://127.0.0.1:9/beckn/{wire_name(callback_of(action), dialect)}"
    )


def test_unsolicited_callback_gets_new_ids() -> None:
    """solicited=False: a new transactionId and messageId, everything else echoed."""
    request = received("select", Dialect.V2)
    doc = callback_doc(request, "bpp.x", "http://bpp", solicited=False)
    for name in ("transactionId", "messageId"):
        assert doc["context"][name] != request.field(name, name)
    assert doc["context"]["bapId"] == "bap.example"


def test_keys_file_without_a_bpp_still_loads(tmp_path: Path) -> None:
    """A keys file written before BAP targets (no bpp entry) loads, with a new BPP identity."""
    keys = CounterpartKeys.generate()
    keys.save(tmp_path / "keys.json")
    doc = json.loads((tmp_path / "keys.json").read_text())
    del doc["bpp"]
    (tmp_path / "keys.json").write_text(json.dumps(doc))
    loaded = CounterpartKeys.load(tmp_path / "keys.json")
    assert (loaded.bap, loaded.other, loaded.gateway) == (keys.bap, keys.other, keys.gateway)
    assert loaded.bpp.role.value == "BPP"


def test_bap_checks_are_unique_and_tagged() -> None:
    """24 checks, unique bap.* ids, each with a spec reference; three SHOULD."""
    checks = bap_checks(RunOptions(target=TARGET))
    ids = [c.check.id for c in checks]
    assert len(ids) == len(set(ids)) == 24
    assert all(i.startswith("bap.") for i in ids)
    assert all(c.check.spec_ref and c.check.requirement for c in checks)
    assert all(c.check.target_roles == ("bap",) for c in checks)
    should = {c.check.id for c in checks if c.check.level is Level.SHOULD}
    assert should == {
        "bap.request.context.ttl",
        "bap.request.retry-on-503",
        "bap.request.no-retry-on-400",
    }
