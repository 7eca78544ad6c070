"""The conformance suite proves itself on BAPs: iesnode's BAP passes, each broken BAP fails exactly.

Every run is real: the suite's BPP (request receiver, loopback registry) and the target
listen on 127.0.0.1, the target looks the suite's keys up in the loopback registry over
HTTP, the suite makes the target send through an in-process trigger, and every
signature is real. The targets' ttl is one second, so the late callback costs about 1.5 s.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from iesnode.conformance.messages import request_message
from iesnode.conformance.model import Level, Outcome
from iesnode.conformance.options import RunOptions, Trigger
from iesnode.conformance.runner import run_conformance
from iesnode.conformance.target import TargetProfile
from iesnode.conformance.trigger import TRIGGER_ENV
from iesnode.model.envelope import Dialect
from iesnode.node import Node, build
from iesnode.protocol.roles.bap import Peer
from iesnode.settings import load_settings
from iesnode.testing import generate_signing_key
from tests.integration.conformance_bap_targets import BapFlaw, BrokenBap
from tests.integration.conformance_broken import failures, signature_401
from tests.redis_server import free_port


def fast(target: TargetProfile, port: int, **changes: Any) -> RunOptions:
    """Options with test-short waits, listening on ``port``."""
    options = RunOptions(
        target=target,
        listen_port=port,
        trigger_wait=3.0,
        ack_timeout=1.0,
        retry_window=1.0,
    )
    return replace(options, **changes)


async def start_iesnode_bap(port: int, dialect: Dialect) -> tuple[Node, TargetProfile, Trigger]:
    """iesnode's BAP trusting the suite's registry on ``port``, and a trigger making it send."""
    private, public = generate_signing_key()
    settings = load_settings(
        {
            "node": {
                "subscriber_id": "bap.iesnode.example",
                "key_id": "k1",
                "signing_private_key": private,
                "roles": ["bap"],
            },
            "network": {
                "network_id": "ies.example/p2p-trading",
                "domain": "deg:p2p-energy-trading",
                "dialect": dialect.value,
                "request_ttl": 1.0,
            },
            "registry": {"url": f"http://127.0.0.1:{port}/registry"},
        }
    )
    node = build(settings)
    await node.start()

    async def trigger(action: str, bpp_id: str, bpp_uri: str) -> None:
        async with node.bap() as bap:
            message = request_message(action, dialect)
            await bap.send(action, message, to=Peer(bpp_id, bpp_uri))

    profile = TargetProfile(node.public_url, "bap", "bap.iesnode.example", "k1", public)
    return node, profile, trigger


@pytest.fixture
def suite_port() -> int:
    """A free port for the suite, known before the target starts."""
    return free_port()


@pytest.mark.parametrize("dialect", [Dialect.V2, Dialect.V1])
async def test_iesnode_bap_passes_every_check(suite_port: int, dialect: Dialect) -> None:
    """All 24 BAP checks (MUST and SHOULD) pass against iesnode's own BAP, in both dialects."""
    node, profile, trigger = await start_iesnode_bap(suite_port, dialect)
    try:
        options = fast(profile, suite_port, dialect=dialect)
        report = await run_conformance(options, trigger=trigger)
    finally:
        await node.aclose()
    assert len(report.results) == 24
    assert {r.check.id: r.message for r in report.results if r.outcome is not Outcome.PASS} == {}
    assert {r.check.id for r in report.results if r.check.level is Level.SHOULD} == {
        "bap.request.context.ttl",
        "bap.request.retry-on-503",
        "bap.request.no-retry-on-400",
    }
    assert report.exit_code == 0


SIGNATURE_401 = signature_401("bap.callback")

BROKEN: dict[BapFlaw | None, set[str]] = {
    None: set(),
    BapFlaw.ACCEPTS_UNSIGNED: {"bap.callback.missing"},
    BapFlaw.ACCEPTS_UNKNOWN: {"bap.callback.unknown"},
    BapFlaw.ACCEPTS_LATE: {"bap.callback.late"},
    BapFlaw.ACCEPTS_EXPIRED: {"bap.callback.expired"},
    BapFlaw.RESERIALISES_BODY: {"bap.callback.equivalent-body"},
    BapFlaw.IGNORES_SENDER: {"bap.callback.sender-mismatch"},
    BapFlaw.NO_REPLAY_GUARD: {"bap.callback.replay"},
    BapFlaw.NO_WWW_AUTHENTICATE: SIGNATURE_401,
    BapFlaw.MALFORMED_JSON_500: {"bap.callback.malformed-json"},
    BapFlaw.TRUSTS_NO_ONE: {"bap.callback.valid"},
    BapFlaw.UNREGISTERED_KEY: {"bap.request.signature"},
    BapFlaw.WRONG_BAP_ID: {"bap.request.sender"},
    BapFlaw.ACTION_MISMATCH: {"bap.request.context.action"},
    BapFlaw.NO_TTL: {"bap.request.context.ttl"},
    BapFlaw.NO_RETRY: {"bap.request.retry-on-503"},
    BapFlaw.RETRIES_ON_400: {"bap.request.no-retry-on-400"},
    BapFlaw.CANNOT_SEND: {"bap.request.sent"},
}


@pytest.mark.parametrize("flaw", list(BROKEN), ids=lambda f: str(f or "no-flaw"))
async def test_broken_bap_fails_exactly_the_checks_that_catch_its_flaw(
    suite_port: int, flaw: BapFlaw | None
) -> None:
    """Each flaw fails precisely its checks; the exit code follows the MUST ones among them."""
    target = await BrokenBap(
        f"http://127.0.0.1:{suite_port}/registry", frozenset({flaw} if flaw else ())
    ).start()
    try:
        report = await run_conformance(fast(target.profile(), suite_port), trigger=target.trigger)
    finally:
        await target.aclose()
    assert failures(report) == BROKEN[flaw]
    must = {r.check.id for r in report.must_failures}
    assert report.exit_code == (1 if must else 0)


async def test_refusals_by_a_bap_that_trusts_no_one_are_skipped(suite_port: int) -> None:
    """When a correct callback is refused, every refusal check is SKIP naming bap.callback.valid."""
    target = await BrokenBap(
        f"http://127.0.0.1:{suite_port}/registry", frozenset({BapFlaw.TRUSTS_NO_ONE})
    ).start()
    try:
        options = fast(target.profile(), suite_port, only=("bap.callback",), actions=("select",))
        report = await run_conformance(options, trigger=target.trigger)
    finally:
        await target.aclose()
    skipped = {r.check.id: r.message for r in report.results if r.outcome is Outcome.SKIP}
    assert set(skipped) == {r.check.id for r in report.results} - {"bap.callback.valid"}
    assert all("see bap.callback.valid" in message for message in skipped.values())


def silent_bap(port: int, command: str) -> RunOptions:
    """Options asking a BAP that never sends for one select, through ``command``."""
    target = TargetProfile(
        "http://127.0.0.1:9", "bap", "bap.example", "k1", generate_signing_key()[1]
    )
    return fast(
        target,
        port,
        trigger_command=command,
        trigger_wait=0.3,
        ack_timeout=0.3,
        actions=("select",),
        only=("bap.request.sent",),
    )


async def test_trigger_command_gets_the_documented_environment(
    suite_port: int, tmp_path: Path
) -> None:
    """Every IES_CONFORMANCE_* variable reaches the command; its exit code is evidence."""
    out = tmp_path / "env.txt"
    options = replace(silent_bap(suite_port, f"env > {out}; exit 3"), trigger_wait=30.0)
    started = time.monotonic()
    report = await run_conformance(options)
    assert time.monotonic() - started < 10  # a failed trigger does not wait the full 30 s
    lines = [line for line in out.read_text().splitlines() if line.startswith("IES_CONFORMANCE")]
    env = dict(line.split("=", 1) for line in lines)
    assert set(env) == set(TRIGGER_ENV)
    assert env["IES_CONFORMANCE_ACTION"] == "select"
    assert env["IES_CONFORMANCE_BPP_URI"] == f"http://127.0.0.1:{suite_port}/bpp"
    assert env["IES_CONFORMANCE_REGISTRY_URL"] == f"http://127.0.0.1:{suite_port}/registry"
    assert json.loads(env["IES_CONFORMANCE_MESSAGE"]) == request_message("select", Dialect.V2)
    [sent] = report.results
    assert (sent.outcome, sent.evidence[0].status) == (Outcome.FAIL, 3)


async def test_a_trigger_command_still_running_at_the_end_is_stopped(
    suite_port: int, tmp_path: Path
) -> None:
    """The run stops a command that outlives it (its whole process group)."""
    pid_file = tmp_path / "pid"
    await run_conformance(silent_bap(suite_port, f"echo $$ > {pid_file}; exec sleep 60"))
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
