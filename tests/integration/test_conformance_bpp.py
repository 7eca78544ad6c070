"""The conformance suite proves itself: iesnode's BPP passes, each broken BPP fails exactly.

Every run is real: the suite's counterpart (callback receiver and loopback registry)
and the target listen on 127.0.0.1, the target looks the suite's keys up in the
loopback registry over HTTP, and every signature is real. Timeouts are short so a
target that never calls back costs under a second per action.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from iesnode.conformance.model import Level, Outcome
from iesnode.conformance.options import DEFAULT_ACTIONS, RunOptions
from iesnode.conformance.runner import run_conformance
from iesnode.conformance.target import TargetProfile
from iesnode.demo import energy_provider
from iesnode.model.envelope import Dialect
from iesnode.node import Node, build
from iesnode.settings import load_settings
from iesnode.testing import generate_signing_key
from tests.integration.conformance_broken import failures, signature_401
from tests.integration.conformance_targets import BrokenBpp, Flaw
from tests.redis_server import free_port


def fast(target: TargetProfile, port: int, **changes: Any) -> RunOptions:
    """Options with test-short waits, listening on ``port``."""
    options = RunOptions(
        target=target,
        listen_port=port,
        callback_timeout=1.5,
        retry_window=1.2,
        settle=0.15,
    )
    return replace(options, **changes)


SIGNATURE_401 = signature_401("bpp.sig")


def flow(aspect: str) -> set[str]:
    """The flow check ``aspect`` of every default action."""
    return {f"bpp.flow.{action}.{aspect}" for action in DEFAULT_ACTIONS}


async def start_iesnode_bpp(registry: dict[str, Any]) -> tuple[Node, TargetProfile]:
    """iesnode's BPP with the demo energy handlers and these ``[registry]`` settings."""
    private, public = generate_signing_key()
    settings = load_settings(
        {
            "node": {
                "subscriber_id": "bpp.iesnode.example",
                "key_id": "k1",
                "signing_private_key": private,
                "roles": ["bpp"],
            },
            "network": {"network_id": "ies.example/p2p-trading"},
            "registry": registry,
            "delivery": {"backoff_base": 0.3, "backoff_max": 1.0},
        }
    )
    node = build(settings, handlers=energy_provider("bpp.iesnode.example", 4.0, 2.0))
    await node.start()
    profile = TargetProfile(
        url=node.public_url,
        role="bpp",
        subscriber_id="bpp.iesnode.example",
        key_id="k1",
        public_key=public,
    )
    return node, profile


@pytest.fixture
async def iesnode_bpp() -> AsyncIterator[tuple[Node, RunOptions]]:
    """A started iesnode BPP and the options to test it through a fixed suite port."""
    port = free_port()
    node, profile = await start_iesnode_bpp({"url": f"http://127.0.0.1:{port}/registry"})
    try:
        yield node, fast(profile, port)
    finally:
        await node.aclose()


@pytest.mark.parametrize("dialect", [Dialect.V2, Dialect.V1])
async def test_iesnode_bpp_passes_every_check(
    iesnode_bpp: tuple[Node, RunOptions], dialect: Dialect
) -> None:
    """All 41 checks (MUST and SHOULD) pass against iesnode's own BPP, in both dialects."""
    _, options = iesnode_bpp
    report = await run_conformance(replace(options, dialect=dialect))
    assert len(report.results) == 41
    assert {r.check.id: r.message for r in report.results if r.outcome is not Outcome.PASS} == {}
    assert report.exit_code == 0


async def test_only_and_skip_select_by_prefix(iesnode_bpp: tuple[Node, RunOptions]) -> None:
    """--only bpp.sig with --skip bpp.sig.replay runs the eight 401 checks and nothing else."""
    _, options = iesnode_bpp
    options = replace(options, only=("bpp.sig",), skip=("bpp.sig.replay",))
    report = await run_conformance(options)
    assert {r.check.id for r in report.results} == SIGNATURE_401
    assert all(r.check.level is Level.MUST for r in report.results)


async def test_refusals_by_a_target_that_trusts_no_one_prove_nothing() -> None:
    """A target refusing even valid requests with 401 gets ERROR, not PASS, on every refusal."""
    port = free_port()
    node, profile = await start_iesnode_bpp({"subscribers": []})  # knows none of our keys
    try:
        options = fast(profile, port, only=("bpp.sig", "bpp.input", "bpp.gw.bad"))
        report = await run_conformance(options)
    finally:
        await node.aclose()
    assert {r.outcome for r in report.results} == {Outcome.ERROR}
    assert len(report.results) == 13


BROKEN: dict[Flaw | None, set[str]] = {
    None: set(),
    Flaw.ACCEPTS_EXPIRED: {"bpp.sig.expired"},
    Flaw.RESERIALISES_BODY: {"bpp.sig.equivalent-body"},
    Flaw.NO_WWW_AUTHENTICATE: SIGNATURE_401,
    Flaw.IGNORES_SENDER: {"bpp.sig.sender-mismatch"},
    Flaw.NO_REPLAY_GUARD: {"bpp.sig.replay"},
    Flaw.MALFORMED_JSON_500: {"bpp.input.malformed-json"},
    Flaw.IGNORES_ACTION_MISMATCH: {"bpp.input.action-mismatch"},
    Flaw.ACKS_UNKNOWN_ACTION: {"bpp.input.unknown-action"},
    Flaw.NEVER_CALLS_BACK: flow("callback") | {"bpp.gw.forwarded-discover"},
    Flaw.ACKS_STATUS_WITHOUT_CALLBACK: {"bpp.flow.status.callback"},
    Flaw.DUPLICATE_ON_SELECT: {"bpp.flow.select.callback"},
    Flaw.WRONG_MESSAGE_ID: flow("correlation"),
    Flaw.UNSIGNED_CALLBACKS: flow("signature"),
    Flaw.SIGNS_OTHER_BYTES: flow("signature"),
    Flaw.INVALID_CALLBACK_SCHEMA: flow("schema"),
    Flaw.NO_RETRY: {"bpp.callback.retry-on-503"},
    Flaw.IMMEDIATE_RETRY: {"bpp.callback.retry-on-503"},
    Flaw.RETRIES_ON_400: {"bpp.callback.no-retry-on-400"},
}


@pytest.mark.parametrize("flaw", list(BROKEN), ids=lambda f: str(f or "no-flaw"))
async def test_broken_bpp_fails_exactly_the_checks_that_catch_its_flaw(flaw: Flaw | None) -> None:
    """Each flaw fails precisely its checks; the exit code follows the MUST ones among them."""
    port = free_port()
    target = await BrokenBpp(
        f"http://127.0.0.1:{port}/registry", frozenset({flaw} if flaw else ())
    ).start()
    try:
        options = fast(target.profile(), port)
        report = await run_conformance(options)
    finally:
        await target.aclose()
    assert failures(report) == BROKEN[flaw]
    must = {r.check.id for r in report.must_failures}
    assert report.exit_code == (1 if must else 0)
