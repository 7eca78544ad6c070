"""The offline mode, ``iesnode conformance logs DIR``: judge recorded message logs.

Reads every record under DIR (format: :mod:`iesnode.conformance.logs_reader` and
``conformance/README.md``), then runs the checks of
:mod:`iesnode.conformance.logs_catalogue` per message (envelope, schema in its
dialect, endpoint, messageId, signatures over the raw body with keys from a
:class:`~iesnode.interfaces.SubscriberDirectory`) and per transaction (correlation,
sequence, callbacks within ttl), and returns one :class:`~iesnode.conformance.model.Report`
that every report format renders. Requirements: ``research/beckn-core.md`` §1-4, §7.

Keys come from ``--keys FILE``: a JSON list of subscriber records (``subscriber_id``,
``key_id`` and ``signing_public_key``, with the aliases registries use; ``url`` and
``role`` are optional here), or an object with such a list under ``subscribers``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iesnode.clock import FrozenClock, SystemClock
from iesnode.conformance import logs_catalogue as catalogue
from iesnode.conformance.logs_checks import (
    KeyTable,
    Parsed,
    check_action_matches_path,
    check_envelope,
    check_message_id_fresh,
    check_schema,
    check_signature,
    check_signature_time,
    check_signer_is_sender,
    parse,
)
from iesnode.conformance.logs_findings import MAX_EVIDENCE, Findings
from iesnode.conformance.logs_flow import (
    Flow,
    check_answered,
    check_callback_action,
    check_callback_message_id,
    check_callback_transaction,
    check_sequence,
    check_ttl,
)
from iesnode.conformance.logs_reader import LOG_SUFFIXES, LoggedMessage, ReadProblem, read_logs
from iesnode.conformance.model import Check, CheckResult, Exchange, Outcome, Report
from iesnode.errors import AuthError, ConfigError
from iesnode.interfaces import Clock, SubscriberDirectory
from iesnode.model.envelope import utc_timestamp
from iesnode.model.subscriber import Subscriber
from iesnode.protocol.schema import SchemaRegistry
from iesnode.protocol.signing import parse_authorization
from iesnode.registry.static import StaticDirectory

__all__ = ["DEFAULT_CLOCK_SKEW", "load_keys_file", "validate_logs", "validate_logs_async"]

DEFAULT_CLOCK_SKEW = 5.0
"""Seconds two clocks may disagree by (ONIX's default; ``research/beckn-core.md`` §2.3)."""


def load_keys_file(path: Path) -> StaticDirectory:
    """The ``--keys FILE`` key list as a directory; raise ``ConfigError`` naming the problem."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read keys file {path}: {exc}") from exc
    records = data.get("subscribers") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise ConfigError(f"{path}: expected a JSON list of subscriber records")
    subscribers: list[Subscriber] = []
    for n, record in enumerate(records):
        if not isinstance(record, dict):
            raise ConfigError(f"{path}: record {n} is not an object")
        filled = {"url": "", "role": "BPP", **record}
        try:
            subscribers.append(Subscriber.model_validate(filled))
        except ValidationError as exc:
            raise ConfigError(f"{path}: record {n}: {exc.errors()[0]['msg']}") from exc
    return StaticDirectory(subscribers)


async def _lookup_keys(
    messages: Iterable[LoggedMessage], keys: SubscriberDirectory
) -> dict[tuple[str, str], Subscriber | None]:
    """Look up every key any logged signature header names (once each)."""
    wanted: set[tuple[str, str]] = set()
    for msg in messages:
        for name in ("Authorization", "X-Gateway-Authorization"):
            for value in msg.header(name):
                try:
                    header = parse_authorization(value, header_name=name)
                except AuthError:
                    continue
                wanted.add((header.subscriber_id, header.key_id))
    return {ids: await keys.lookup(*ids) for ids in sorted(wanted)}


def _readable(
    directory: Path, messages: list[LoggedMessage], problems: list[ReadProblem]
) -> CheckResult:
    """PASS when every record was read; ERROR (no verdict possible) otherwise or when empty."""
    check = catalogue.READABLE
    if not messages and not problems:
        suffixes = ", ".join(f"*{s}" for s in LOG_SUFFIXES)
        return CheckResult(check, Outcome.ERROR, f"no {suffixes} records under {directory}")
    if not problems:
        return CheckResult(check, Outcome.PASS, f"{len(messages)} records read")
    evidence = [
        Exchange(direction="logged", method="", url="", note=p.reason, source=p.source)
        for p in problems
    ]
    first = problems[0]
    text = f"{len(problems)} records cannot be read; first at {first.source}: {first.reason}"
    return CheckResult(check, Outcome.ERROR, text, evidence[:MAX_EVIDENCE])


def _result(check: Check, work: Callable[[], Findings]) -> CheckResult:
    started = time.perf_counter()
    outcome, message, evidence = work().verdict()
    elapsed = (time.perf_counter() - started) * 1000
    return CheckResult(check, outcome, message, evidence, elapsed)


async def validate_logs_async(
    directory: Path,
    *,
    keys: SubscriberDirectory | None = None,
    now: Clock | float | None = None,
    schemas: SchemaRegistry | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
) -> Report:
    """Check the message logs under ``directory``; see :func:`validate_logs`."""
    clock = FrozenClock(now) if isinstance(now, int | float) else now or SystemClock()
    report = Report(
        target_url=str(directory),
        target_role="logs",
        started_at=utc_timestamp(clock.now()),
        mode="logs",
    )
    messages, problems = read_logs(directory)
    table: KeyTable | None = None if keys is None else await _lookup_keys(messages, keys)
    schemas = schemas or SchemaRegistry.load()
    parsed: list[Parsed] = [parse(m) for m in messages]
    flow = Flow(parsed)
    work: dict[Check, Callable[[], Findings]] = {
        catalogue.ENVELOPE: lambda: check_envelope(parsed),
        catalogue.SCHEMA: lambda: check_schema(parsed, schemas),
        catalogue.ACTION_MATCHES_PATH: lambda: check_action_matches_path(parsed),
        catalogue.MESSAGE_ID_FRESH: lambda: check_message_id_fresh(parsed),
        catalogue.SIGNATURE: lambda: check_signature(parsed, table),
        catalogue.SIGNER_IS_SENDER: lambda: check_signer_is_sender(parsed),
        catalogue.SIGNATURE_TIME: lambda: check_signature_time(parsed, clock_skew),
        catalogue.CALLBACK_TRANSACTION: lambda: check_callback_transaction(flow),
        catalogue.CALLBACK_MESSAGE_ID: lambda: check_callback_message_id(flow),
        catalogue.CALLBACK_ACTION: lambda: check_callback_action(flow),
        catalogue.ANSWERED: lambda: check_answered(flow),
        catalogue.SEQUENCE: lambda: check_sequence(flow, clock_skew),
        catalogue.TTL: lambda: check_ttl(flow, clock_skew),
    }
    report.results = [_readable(directory, messages, problems)]
    report.results += [
        _result(check, work[check]) for check in catalogue.LOG_CHECKS if check in work
    ]
    report.finished_at = utc_timestamp(clock.now())
    return report


def validate_logs(
    directory: Path,
    *,
    keys: SubscriberDirectory | None = None,
    now: Clock | float | None = None,
    schemas: SchemaRegistry | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
) -> Report:
    """Check the message logs under ``directory`` and return the report.

    ``keys`` is where signing keys are looked up (e.g. :func:`load_keys_file`); without
    it signatures are reported as not checkable, never as passing. ``now`` (a clock or
    Unix seconds; default the system clock) stamps the report; signature times are
    judged against each record's ``received_at``, not against ``now``. Runs its own
    event loop: from async code call :func:`validate_logs_async`.
    """
    return asyncio.run(
        validate_logs_async(directory, keys=keys, now=now, schemas=schemas, clock_skew=clock_skew)
    )
