"""Offline conformance mode: recorded message logs judged for schema, signature and flow."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from iesnode.clock import FrozenClock
from iesnode.conformance.logs import load_keys_file, validate_logs, validate_logs_async
from iesnode.conformance.logs_catalogue import LOG_CHECKS
from iesnode.conformance.model import Outcome, Report
from iesnode.conformance.reports import write_reports
from iesnode.errors import ConfigError
from iesnode.model.envelope import utc_timestamp
from iesnode.model.subscriber import Role, Subscriber
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import Signer
from iesnode.registry.static import StaticDirectory

T0 = 1_738_318_500  # 2025-01-31T10:15:00Z
BAP = Signer("bap.example.com", "bap-key-1", SigningKey(bytes([7]) * 32))
BPP = Signer("bpp.example.com", "bpp-key-1", SigningKey(bytes([9]) * 32))
KEYS = StaticDirectory(
    Subscriber(
        subscriber_id=s.subscriber_id,
        key_id=s.key_id,
        url=f"https://{s.subscriber_id}/beckn",
        role=role,
        signing_public_key=s.public_key,
    )
    for s, role in ((BAP, Role.BAP), (BPP, Role.BPP))
)
V2_MESSAGES: dict[str, dict[str, Any]] = {
    "select": {"contract": {"commitments": [{"id": "cm-1"}]}},
    "init": {"contract": {"commitments": [{"id": "cm-1"}]}},
    "confirm": {"contract": {"commitments": [{"id": "cm-1"}]}},
}
V1_MESSAGES: dict[str, dict[str, Any]] = {
    "search": {"intent": {}},
    "on_search": {"catalog": {}},
    "select": {"order": {}},
    "on_select": {},
    "init": {"order": {}},
    "confirm": {"order": {}},
}


@dataclass(frozen=True)
class Msg:
    """One message of a test log: what is sent, when, and how it is recorded."""

    action: str
    message_id: str
    at: float
    transaction_id: str = "txn-1"
    ttl: str | None = "PT30S"
    signer: Signer | None = None
    v1: bool = False
    message: dict[str, Any] | None = None
    tampered: bool = False
    parsed_body: bool = False
    created: int | None = None


def envelope(m: Msg) -> dict[str, Any]:
    """A schema-valid body for ``m`` in its dialect."""
    stamp = utc_timestamp(m.at)
    if m.v1:
        ctx: dict[str, Any] = {"action": m.action, "domain": "ies:p2p", "version": "1.1.0"}
        ctx |= {"location": {"city": {"code": "std:080"}}, "timestamp": stamp}
        ctx |= {"bap_id": BAP.subscriber_id, "bap_uri": "https://bap.example.com/beckn"}
        ctx |= {"bpp_id": BPP.subscriber_id, "bpp_uri": "https://bpp.example.com/beckn"}
        ctx |= {"transaction_id": m.transaction_id, "message_id": m.message_id}
        default = V1_MESSAGES.get(m.action, {"order": {}})
    else:
        ctx = {"action": m.action, "version": "2.0.0", "timestamp": stamp}
        ctx |= {"bapId": BAP.subscriber_id, "bapUri": "https://bap.example.com/beckn"}
        ctx |= {"bppId": BPP.subscriber_id, "bppUri": "https://bpp.example.com/beckn"}
        ctx |= {"transactionId": m.transaction_id, "messageId": m.message_id}
        default = V2_MESSAGES.get(m.action, {"contract": {}})
    if m.ttl is not None:
        ctx["ttl"] = m.ttl
    return {"context": ctx, "message": default if m.message is None else m.message}


def record(m: Msg) -> dict[str, Any]:
    """The log record of ``m``: raw body, real signature header, url and reception time."""
    callback = m.action.startswith("on_")
    signer = m.signer or (BPP if callback else BAP)
    raw = json.dumps(envelope(m), ensure_ascii=False).encode()
    authorization = signer.sign(raw, m.created if m.created is not None else int(m.at))
    if m.tampered:
        raw = raw.replace(b"cm-1", b"cm-2").replace(b'"ttl"', b'"ttl" ')
    host = "bap.example.com" if callback else "bpp.example.com"
    return {
        "direction": "in",
        "url": f"https://{host}/beckn/{m.action}",
        "received_at": utc_timestamp(m.at + 0.2),
        "headers": {"Authorization": authorization, "Content-Type": "application/json"},
        "body": json.loads(raw) if m.parsed_body else raw.decode(),
    }


CLEAN = [
    Msg("select", "msg-1", T0),
    Msg("on_select", "msg-1", T0 + 1),
    Msg("init", "msg-2", T0 + 10),
    Msg("on_init", "msg-2", T0 + 11),
    Msg("confirm", "msg-3", T0 + 20),
    Msg("on_confirm", "msg-3", T0 + 21),
    Msg("on_status", "msg-9", T0 + 60),  # unsolicited: a new messageId in a known transaction
]
CLEAN_V1 = [
    Msg("search", "msg-0", T0, v1=True),
    Msg("on_search", "msg-0", T0 + 1, v1=True),
    Msg("select", "msg-1", T0 + 5, v1=True),
    Msg("on_select", "msg-1", T0 + 6, v1=True),
    Msg("init", "msg-2", T0 + 10, v1=True),
    Msg("on_init", "msg-2", T0 + 11, v1=True),
    Msg("confirm", "msg-3", T0 + 20, v1=True),
    Msg("on_confirm", "msg-3", T0 + 21, v1=True),
]


@pytest.fixture(scope="module")
def schemas() -> SchemaRegistry:
    """The endpoint schemas, compiled once for this module."""
    return SchemaRegistry.load()


def write_jsonl(directory: Path, messages: list[Msg], name: str = "flow.jsonl") -> Path:
    """Write ``messages`` as one JSON-lines log file; return the folder."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(record(m)) for m in messages]
    (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def run(directory: Path, schemas: SchemaRegistry, *, keys: bool = True) -> Report:
    """Validate ``directory`` with the test keys and a frozen clock."""
    return validate_logs(
        directory, keys=KEYS if keys else None, now=FrozenClock(T0 + 3600), schemas=schemas
    )


def failed(report: Report) -> set[str]:
    """Ids of the checks that failed."""
    return {r.check.id for r in report.results if r.outcome is Outcome.FAIL}


def result(report: Report, check_id: str) -> tuple[Outcome, str, list[str]]:
    """(outcome, message, evidence sources) of one check."""
    (r,) = [r for r in report.results if r.check.id == check_id]
    return r.outcome, r.message, [e.source for e in r.evidence]


def with_change(index: int, **changes: Any) -> list[Msg]:
    """The clean flow with message ``index`` changed."""
    flow = list(CLEAN)
    flow[index] = replace(flow[index], **changes)
    return flow


def test_clean_logs_pass_every_check(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A correct, fully signed v2 flow passes all offline checks and exits 0."""
    report = run(write_jsonl(tmp_path, CLEAN), schemas)
    assert {r.check.id: r.outcome for r in report.results} == {
        c.id: Outcome.PASS for c in LOG_CHECKS
    }
    assert report.exit_code == 0
    assert (report.mode, report.target_role) == ("logs", "logs")


def test_clean_v1_logs_pass_every_check(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A correct Beckn v1.1 flow (search/on_search names) passes all offline checks."""
    report = run(write_jsonl(tmp_path, CLEAN_V1), schemas)
    assert failed(report) == set()
    assert all(r.outcome is Outcome.PASS for r in report.results)


def test_bad_schema_fails_only_schema(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A select without its contract fails logs.schema.valid, at its file:line."""
    report = run(write_jsonl(tmp_path, with_change(0, message={})), schemas)
    assert failed(report) == {"logs.schema.valid"}
    _, message, sources = result(report, "logs.schema.valid")
    assert sources == ["flow.jsonl:1"]
    assert "contract" in message


def test_bad_signature_fails_only_signature(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A body changed after signing fails logs.sig.valid."""
    report = run(write_jsonl(tmp_path, with_change(1, tampered=True)), schemas)
    assert failed(report) == {"logs.sig.valid"}
    assert result(report, "logs.sig.valid")[2] == ["flow.jsonl:2"]


def test_orphan_callback_fails_transaction_check(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A callback of a transaction no request opened fails logs.correlation.transaction."""
    orphan = Msg("on_select", "msg-77", T0 + 30, transaction_id="txn-unknown")
    report = run(write_jsonl(tmp_path, [*CLEAN, orphan]), schemas)
    assert failed(report) == {"logs.correlation.transaction"}
    assert result(report, "logs.correlation.transaction")[2] == ["flow.jsonl:8"]


def test_wrong_message_id_fails_message_id_check(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """An on_select with another messageId fails message-id (and leaves select unanswered)."""
    report = run(write_jsonl(tmp_path, with_change(1, message_id="msg-wrong")), schemas)
    assert failed(report) == {"logs.correlation.message-id", "logs.correlation.answered"}
    assert result(report, "logs.correlation.message-id")[2] == ["flow.jsonl:2"]
    assert result(report, "logs.correlation.answered")[2] == ["flow.jsonl:1"]
    assert report.exit_code == 1


def test_confirm_before_on_init_fails_sequence(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A confirm stamped before any on_init of its transaction fails logs.sequence.order."""
    report = run(write_jsonl(tmp_path, with_change(4, at=T0 + 2)), schemas)
    assert failed(report) == {"logs.sequence.order"}
    _, message, sources = result(report, "logs.sequence.order")
    assert sources == ["flow.jsonl:5"]
    assert "before any on_init" in message


def test_late_callback_fails_ttl(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """An on_confirm 180 s after a confirm with ttl PT30S fails logs.timing.ttl."""
    report = run(write_jsonl(tmp_path, with_change(5, at=T0 + 200)), schemas)
    assert failed(report) == {"logs.timing.ttl"}
    assert result(report, "logs.timing.ttl")[2] == ["flow.jsonl:6"]


def test_callback_answering_another_action_fails(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """An on_init echoing the select's ids fails logs.correlation.action."""
    flow = [*CLEAN[:4], Msg("on_init", "msg-1", T0 + 12), *CLEAN[4:]]
    report = run(write_jsonl(tmp_path, flow), schemas)
    assert failed(report) == {"logs.correlation.action"}


def test_reused_message_id_fails_freshness(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A status reusing the select's messageId fails logs.context.message-id-fresh."""
    status = Msg("status", "msg-1", T0 + 70, message={"contract": {"id": "ct-1"}})
    report = run(write_jsonl(tmp_path, [*CLEAN, status]), schemas)
    assert failed(report) == {"logs.context.message-id-fresh"}
    assert result(report, "logs.context.message-id-fresh")[2] == ["flow.jsonl:8"]


def test_signer_other_than_sender_fails(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """An on_select signed (validly) by the BAP's key fails logs.sig.sender only."""
    report = run(write_jsonl(tmp_path, with_change(1, signer=BAP)), schemas)
    assert failed(report) == {"logs.sig.sender"}


def test_expired_signature_at_reception_fails(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A header that expired before the message was received fails logs.sig.time."""
    report = run(write_jsonl(tmp_path, with_change(2, created=T0 - 1000)), schemas)
    assert failed(report) == {"logs.sig.time"}


def test_action_differing_from_path_fails(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A record whose URL names another endpoint than context.action fails that check."""
    path = write_jsonl(tmp_path, CLEAN) / "flow.jsonl"
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["url"] = "https://bpp.example.com/beckn/init"
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    report = run(tmp_path, schemas)
    assert failed(report) == {"logs.context.action-matches-path"}


def test_parsed_body_signature_is_skipped(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """Bodies logged as parsed JSON never pass the signature check: it is skipped, with why."""
    flow = [replace(m, parsed_body=True) for m in CLEAN]
    report = run(write_jsonl(tmp_path, flow), schemas)
    outcome, message, _ = result(report, "logs.sig.valid")
    assert outcome is Outcome.SKIP
    assert "parsed JSON" in message
    assert failed(report) == set()


def test_tampered_parsed_body_is_not_passed(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """Mixed logs: raw bodies are verified, parsed ones are counted as not checked."""
    flow = [replace(m, parsed_body=i > 0) for i, m in enumerate(CLEAN)]
    report = run(write_jsonl(tmp_path, flow), schemas)
    outcome, message, _ = result(report, "logs.sig.valid")
    assert outcome is Outcome.PASS
    assert message.startswith("1 message checked; not checked: 6 messages: the body was logged")


def test_without_keys_signature_is_skipped(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """With no key source the signature check is skipped, naming --keys."""
    report = run(write_jsonl(tmp_path, CLEAN), schemas, keys=False)
    outcome, message, _ = result(report, "logs.sig.valid")
    assert (outcome, "--keys" in message) == (Outcome.SKIP, True)


def test_bare_envelope_files_are_read(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """One pretty-printed bare envelope per *.json file: flow checks run, signatures skip."""
    for n, m in enumerate(CLEAN):
        (tmp_path / f"{n:02d}-{m.action}.json").write_text(json.dumps(envelope(m), indent=2))
    report = run(tmp_path, schemas)
    skipped = {r.check.id for r in report.results if r.outcome is Outcome.SKIP}
    assert skipped == {
        "logs.sig.valid",
        "logs.sig.sender",
        "logs.sig.time",
        "logs.context.action-matches-path",
    }
    assert failed(report) == set()


def test_unreadable_record_is_an_error(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A line that is not JSON makes logs.input.readable an ERROR naming file:line."""
    path = write_jsonl(tmp_path, CLEAN) / "flow.jsonl"
    path.write_text(path.read_text() + "{not json\n")
    report = run(tmp_path, schemas)
    outcome, _, sources = result(report, "logs.input.readable")
    assert (outcome, sources) == (Outcome.ERROR, ["flow.jsonl:8"])
    assert report.exit_code == 1


def test_empty_folder_is_an_error(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A folder without log records cannot pass."""
    report = run(tmp_path, schemas)
    assert result(report, "logs.input.readable")[0] is Outcome.ERROR
    assert report.exit_code == 1


def test_keys_file_accepts_registry_field_names(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """--keys FILE records with registry aliases (ukId, subscriber_url) verify signatures."""
    keys = [
        {"subscriber_id": s.subscriber_id, "ukId": s.key_id, "signing_public_key": s.public_key}
        for s in (BAP, BPP)
    ]
    (tmp_path / "keys.json").write_text(json.dumps({"subscribers": keys}))
    directory = write_jsonl(tmp_path / "logs", CLEAN)
    report = validate_logs(directory, keys=load_keys_file(tmp_path / "keys.json"), schemas=schemas)
    assert result(report, "logs.sig.valid")[0] is Outcome.PASS


def test_keys_file_must_list_records(tmp_path: Path) -> None:
    """A keys file that is not a list of subscriber records is a ConfigError naming it."""
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"subscriber_id": "x"}]))
    with pytest.raises(ConfigError, match="record 0"):
        load_keys_file(path)


async def test_async_entry_point_runs_inside_a_loop(
    tmp_path: Path, schemas: SchemaRegistry
) -> None:
    """validate_logs_async gives the same verdicts from async code."""
    report = await validate_logs_async(write_jsonl(tmp_path, CLEAN), keys=KEYS, schemas=schemas)
    assert failed(report) == set()


def test_single_log_file_can_be_given(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """A path to one log file is read like a folder holding only that file."""
    path = write_jsonl(tmp_path, with_change(0, message={})) / "flow.jsonl"
    report = validate_logs(path, keys=KEYS, now=float(T0), schemas=schemas)
    assert result(report, "logs.schema.valid")[2] == ["flow.jsonl:1"]
    assert report.started_at == "2025-01-31T10:15:00.000Z"


def test_record_with_wrong_field_types_is_unreadable(
    tmp_path: Path, schemas: SchemaRegistry
) -> None:
    """A record whose headers are not an object is reported, not half-read."""
    (tmp_path / "bad.json").write_text(json.dumps({"body": "{}", "headers": ["Authorization"]}))
    _, message, sources = result(run(tmp_path, schemas), "logs.input.readable")
    assert (sources, "headers must be an object" in message) == (["bad.json:1"], True)


def test_logs_report_renders_file_and_line(tmp_path: Path, schemas: SchemaRegistry) -> None:
    """The offending file:line reaches the HTML and JUnit reports."""
    report = run(write_jsonl(tmp_path / "logs", with_change(5, at=T0 + 200)), schemas)
    write_reports(report, junit=tmp_path / "r.xml", html=tmp_path / "r.html")
    assert "flow.jsonl:6" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "[flow.jsonl:6]" in (tmp_path / "r.xml").read_text(encoding="utf-8")


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8), _containers, max_leaves=12
)
RECORD_KEYS = st.sampled_from(["body", "headers", "url", "received_at", "response", "context"])
CONTEXT_KEYS = st.sampled_from(["action", "transactionId", "messageId", "timestamp", "ttl"])


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.dictionaries(RECORD_KEYS, JSON, max_size=5) | JSON, max_size=4))
def test_any_json_records_give_a_report(records: list[Any], schemas: SchemaRegistry) -> None:
    """Whatever JSON a log holds, the mode answers with one result per check, never a crash."""
    with tempfile.TemporaryDirectory() as folder:
        lines = "\n".join(json.dumps(r) for r in records)
        (Path(folder) / "any.jsonl").write_text(lines + "\n", encoding="utf-8")
        report = validate_logs(Path(folder), keys=KEYS, now=float(T0), schemas=schemas)
    assert [r.check for r in report.results] == list(LOG_CHECKS)


@settings(max_examples=60, deadline=None)
@given(changes=st.lists(st.tuples(st.integers(0, 6), CONTEXT_KEYS, JSON), max_size=3))
def test_mangled_contexts_give_a_report(
    changes: list[tuple[int, str, Any]], schemas: SchemaRegistry
) -> None:
    """Context fields replaced by arbitrary JSON: judged, every failure citing its file:line."""
    bodies = [envelope(m) for m in CLEAN]
    for index, key, value in changes:
        bodies[index]["context"][key] = value
    with tempfile.TemporaryDirectory() as folder:
        lines = "\n".join(json.dumps({"body": json.dumps(b)}) for b in bodies)
        (Path(folder) / "flow.jsonl").write_text(lines + "\n", encoding="utf-8")
        report = validate_logs(Path(folder), keys=KEYS, now=float(T0), schemas=schemas)
    assert [r.check for r in report.results] == list(LOG_CHECKS)
    failures = [r for r in report.results if r.outcome is Outcome.FAIL]
    assert all(e.source.startswith("flow.jsonl:") for r in failures for e in r.evidence)
    assert all(r.evidence for r in failures)
