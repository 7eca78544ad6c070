"""``iesnode conformance run|logs|keys``: test a third-party BAP/BPP (issue 7).

Only parsing and printing; the work is in :mod:`iesnode.conformance` (the runner, the
counterpart, the checks, the report writers). Exit codes: ``run`` and ``logs`` 0 when
every MUST check passed, 1 when one failed or could not run, 2 on a usage error (bad
flags or files, a role whose checks are not installed, a port already in use).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from iesnode.conformance.identities import CounterpartKeys, static_listing
from iesnode.conformance.messages import load_templates
from iesnode.conformance.model import Report
from iesnode.conformance.options import DEFAULT_ACTIONS, RunOptions
from iesnode.conformance.target import TargetProfile
from iesnode.errors import ConfigError
from iesnode.model.envelope import Dialect
from iesnode.protocol.actions import ACTIONS, canonical

if TYPE_CHECKING:
    from iesnode.conformance.counterpart import Counterpart

__all__ = ["add_conformance", "conformance_keys", "conformance_logs", "conformance_run"]

_Handler = Callable[[argparse.Namespace], int]
_DIALECTS = {"v2": Dialect.V2, "v1.1": Dialect.V1}


def _actions(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    found = tuple(canonical(n) for n in names)
    bad = [n for n, c in zip(names, found, strict=True) if c is None or c not in ACTIONS]
    if bad or not names:
        raise ConfigError(f"--actions: not Beckn request actions: {', '.join(bad) or '(none)'}")
    return tuple(c for c in found if c is not None)


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--listen takes HOST:PORT, got {text!r}")
    return host, int(port)


def _options(args: argparse.Namespace) -> RunOptions:
    target = TargetProfile(
        url=args.target_url.rstrip("/"),
        role=args.target_role,
        subscriber_id=args.target_id,
        key_id=args.target_key_id,
        public_key=args.target_public_key,
        registry_url=args.target_registry_url,
        registry_api=args.target_registry_api,
    )
    if args.static and not args.keys:
        raise ConfigError(
            "--static needs --keys FILE, the keys the target was configured with "
            "(create them with: iesnode conformance keys FILE --public-url URL)"
        )
    if args.target_role != "bap" and (args.trigger_command or args.trigger_wait is not None):
        raise ConfigError("--trigger-command and --trigger-wait are for --target-role bap")
    host, port = _listen(args.listen)
    return RunOptions(
        target=target,
        dialect=_DIALECTS[args.dialect],
        actions=_actions(args.actions),
        templates=load_templates(Path(args.templates)) if args.templates else {},
        network_id=args.network_id or None,
        domain=args.domain or None,
        city=args.city or None,
        country=args.country or None,
        listen_host=host,
        listen_port=port,
        public_url=args.public_url,
        static=args.static,
        keys=CounterpartKeys.load(Path(args.keys)) if args.keys else None,
        ack_timeout=args.ack_timeout,
        callback_timeout=args.callback_timeout,
        retry_window=args.retry_window,
        min_retry_delay=args.min_retry_delay,
        settle=args.settle,
        trigger_command=args.trigger_command,
        trigger_wait=60.0 if args.trigger_wait is None else args.trigger_wait,
        late_wait=args.late_wait,
        only=tuple(args.only or ()),
        skip=tuple(args.skip or ()),
    )


def _write(report: Report, args: argparse.Namespace) -> None:
    from iesnode.conformance.reports import write_reports

    write_reports(
        report,
        junit=Path(args.junit) if args.junit else None,
        json=Path(args.json) if args.json else None,
        html=Path(args.html) if args.html else None,
    )


def conformance_run(args: argparse.Namespace) -> int:
    """Run the suite against the target; write the reports; exit 1 on a MUST failure."""
    from rich.console import Console

    from iesnode.conformance.reports.terminal import TerminalProgress
    from iesnode.conformance.runner import run_conformance, suite, suite_listing

    suite_listing(args.target_role)  # a role without checks is a usage error, said first
    options = _options(args)
    checks = suite(options)
    console = Console(highlight=False)

    async def ready(counterpart: Counterpart) -> None:
        console.print(f"conformance counterpart listening on {counterpart.public_url}")
        if counterpart.registry_url:
            console.print(f"target registry URL (Beckn v1 /lookup): {counterpart.registry_url}")
        else:
            listing = static_listing(counterpart.keys, counterpart.public_url, options.network_id)
            console.print(listing, markup=False)

    async def by_hand(action: str, bpp_id: str, bpp_uri: str) -> None:
        console.print(
            f"Make the BAP send {action} to {bpp_id} at {bpp_uri} now "
            f"(waiting up to {options.trigger_wait:g}s).",
            markup=False,
            soft_wrap=True,
        )

    manual = options.target.role == "bap" and not options.trigger_command
    with TerminalProgress(console, len(checks)) as progress:
        report = asyncio.run(
            run_conformance(
                options,
                progress,
                checks=checks,
                on_ready=ready,
                trigger=by_hand if manual else None,
            )
        )
    progress.summary(report)
    _write(report, args)
    return report.exit_code


def conformance_logs(args: argparse.Namespace) -> int:
    """Validate recorded message logs offline; write the reports; exit 1 on a MUST failure."""
    from rich.console import Console

    from iesnode.conformance.logs import load_keys_file, validate_logs
    from iesnode.conformance.reports.terminal import TerminalProgress

    directory = Path(args.directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory")
    keys = load_keys_file(Path(args.keys)) if args.keys else None
    report = validate_logs(directory, keys=keys, clock_skew=args.clock_skew)
    console = Console(highlight=False)
    TerminalProgress(console, len(report.results)).summary(report)
    _write(report, args)
    return report.exit_code


def conformance_keys(args: argparse.Namespace) -> int:
    """Write a new keys file for static mode and print what the target must be told."""
    path = Path(args.file)
    if path.exists() and not args.force:
        raise ConfigError(f"{path} exists; pass --force to replace it")
    keys = CounterpartKeys.generate()
    keys.save(path)
    print(static_listing(keys, args.public_url, args.network_id or None))
    return 0


def _guarded(handler: _Handler) -> _Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (ConfigError, OSError) as exc:
            print(f"iesnode conformance: {exc}", file=sys.stderr)
            return 2

    run.__doc__ = handler.__doc__
    return run


def _report_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    cmd.add_argument("--json", metavar="FILE", help="write a JSON report")
    cmd.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")


def _run_args(run: argparse.ArgumentParser) -> None:
    target = run.add_argument_group("the target")
    target.add_argument("--target-url", required=True, help="base URL of its Beckn endpoints")
    target.add_argument("--target-role", required=True, choices=("bpp", "bap"))
    target.add_argument("--target-id", required=True, help="its subscriber id")
    target.add_argument("--target-key-id", help="its signing key id (with --target-public-key)")
    target.add_argument("--target-public-key", help="its base64 Ed25519 signing public key")
    target.add_argument("--target-registry-url", help="or: look its keys up in this registry")
    target.add_argument("--target-registry-api", choices=("beckn-v1", "dedi"), default="beckn-v1")
    target.add_argument(
        "--actions",
        default=",".join(DEFAULT_ACTIONS),
        help="actions it claims, in flow order (default: %(default)s)",
    )
    target.add_argument("--dialect", choices=tuple(_DIALECTS), default="v2")
    target.add_argument("--templates", metavar="FILE", help="JSON {action: message} to send")
    net = run.add_argument_group("the network (context fields and registry records)")
    net.add_argument("--network-id", default="ies.example/p2p-trading")
    net.add_argument("--domain", default="deg:p2p-energy-trading")
    net.add_argument("--city", default="std:080")
    net.add_argument("--country", default="IND")
    us = run.add_argument_group("the suite")
    us.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default: %(default)s)")
    us.add_argument("--public-url", help="our URL as the target reaches it")
    us.add_argument("--static", action="store_true", help="no registry: print our keys")
    us.add_argument("--keys", metavar="FILE", help="our keys (default: new ones per run)")
    bap = run.add_argument_group(
        "a BAP target (the suite plays its BPP; see 'IES_CONFORMANCE_*' below)"
    )
    bap.add_argument(
        "--trigger-command",
        metavar="CMD",
        help="shell command run once per request the suite needs, to make the BAP send it",
    )
    bap.add_argument(
        "--trigger-wait",
        type=float,
        help="seconds to wait for each request asked for (default: 60)",
    )
    bap.add_argument(
        "--late-wait",
        type=float,
        default=10.0,
        help="longest request ttl waited out to send a late callback (default: %(default)s)",
    )
    timing = run.add_argument_group("timing (seconds)")
    timing.add_argument("--ack-timeout", type=float, default=3.0)
    timing.add_argument("--callback-timeout", type=float, default=5.0, help="also our ttl")
    timing.add_argument("--retry-window", type=float, default=3.0)
    timing.add_argument("--min-retry-delay", type=float, default=0.1)
    timing.add_argument("--settle", type=float, default=0.3)
    pick = run.add_argument_group("selection")
    pick.add_argument("--only", action="append", metavar="PREFIX", help="check id prefix")
    pick.add_argument("--skip", action="append", metavar="PREFIX", help="check id prefix")
    _report_args(run)


def _trigger_epilog() -> str:
    from iesnode.conformance.trigger import TRIGGER_ENV

    width = max(len(name) for name in TRIGGER_ENV)
    lines = ["environment of --trigger-command:"]
    lines += [f"  {name.ljust(width)}  {meaning}" for name, meaning in TRIGGER_ENV.items()]
    return "\n".join(lines)


def add_conformance(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``conformance run|logs|keys``."""
    conformance = commands.add_parser(
        "conformance", help="test a third-party BAP or BPP against the Beckn protocol"
    )
    actions = conformance.add_subparsers(
        dest="conformance_command", required=True, metavar="ACTION"
    )
    run = actions.add_parser(
        "run",
        help="play the target's counterpart and run the checks; exit 1 on a MUST failure",
        description=(
            "Towards a BPP the suite plays BAP and gateway with keys of its own, listed in\n"
            "a registry it serves at {public URL}/registry: configure the target's\n"
            "registry URL to that (and fix the port with --listen). With --static there\n"
            "is no registry: configure the keys printed by 'conformance keys' instead.\n"
            "Towards a BAP it plays the BPP at {public URL}/bpp: each time it needs a\n"
            "request it runs --trigger-command (or asks you to make the BAP send it)."
        ),
        epilog=_trigger_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _run_args(run)
    run.set_defaults(handler=_guarded(conformance_run))
    logs = actions.add_parser("logs", help="validate recorded message logs offline")
    logs.add_argument("directory", metavar="DIR")
    logs.add_argument("--keys", metavar="FILE", help="JSON list of subscriber key records")
    logs.add_argument("--clock-skew", type=float, default=5.0)
    _report_args(logs)
    logs.set_defaults(handler=_guarded(conformance_logs))
    keys = actions.add_parser("keys", help="write keys for static mode; print what to configure")
    keys.add_argument("file", metavar="FILE")
    keys.add_argument("--public-url", required=True, help="the URL the suite will listen on")
    keys.add_argument("--network-id", default="ies.example/p2p-trading")
    keys.add_argument("--force", action="store_true", help="replace an existing file")
    keys.set_defaults(handler=_guarded(conformance_keys))
