"""``iesnode policy ...``: test, evaluate, build and sign policy packs (issue 5, "CLI").

Only parsing and printing; the work is in :mod:`iesnode.policy.packs`. Exit codes:
``test`` 0 when every Rego test passes, else 1; ``eval`` 0 allowed, 1 denied (each
violation printed with its title, message and intent link); every command 2 on an
error (an unreadable, unverifiable or failing pack, a bad input file or key).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iesnode.policy.engine import violations
from iesnode.policy.errors import PolicyError
from iesnode.policy.packs import PolicyPack, build, sign

__all__ = [
    "add_policy",
    "policy_build",
    "policy_eval",
    "policy_sign",
    "policy_test",
]


_Handler = Callable[[argparse.Namespace], int]


class _InputError(Exception):
    """The operator's input file or option is unusable (exit 2)."""


def _trusted(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    keys = {}
    for pair in pairs:
        key_id, sep, public = pair.partition("=")
        if not sep or not key_id or not public:
            raise _InputError(f"--trust takes KEY_ID=BASE64_PUBLIC_KEY, got {pair!r}")
        keys[key_id] = public
    return keys


def _load(args: argparse.Namespace) -> PolicyPack:
    return PolicyPack.load(
        Path(args.pack),
        trusted_keys=_trusted(getattr(args, "trust", None)),
        require_signature=bool(getattr(args, "require_signature", False)),
    )


def _input(name: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
        doc = json.loads(text)
    except (OSError, ValueError) as exc:
        raise _InputError(f"cannot read input {name}: {exc}") from exc
    if not isinstance(doc, dict):
        raise _InputError(f"input {name} is not a JSON object")
    return doc


def _label(pack: PolicyPack) -> str:
    return f"{pack.id}@{pack.manifest.version} revision {pack.revision}"


def _intent_link(pack: PolicyPack, intent: str) -> str:
    """``intent.md#anchor`` -> the manifest's intent URL with that anchor."""
    path, _, anchor = intent.partition("#")
    if path == pack.manifest.intent.path and anchor:
        return f"{pack.manifest.intent.url.split('#', 1)[0]}#{anchor}"
    return intent


def policy_test(args: argparse.Namespace) -> int:
    """Run the pack's Rego tests: print each, exit 0 when all pass."""
    report = _load(args).run_tests()
    for result in report.results:
        line = f"{'PASS' if result.passed else 'FAIL'} {result.name}"
        print(line + (f": {result.detail}" if result.detail else ""))
    passed = sum(r.passed for r in report.results)
    print(f"{passed}/{len(report.results)} tests passed ({report.pack_id} rev {report.revision})")
    return 0 if report.passed else 1


def policy_eval(args: argparse.Namespace) -> int:
    """Evaluate an entrypoint on an input file; print the decision (or the raw result)."""
    pack = _load(args)
    decision_input = _input(args.input)
    result = pack.evaluate(args.entrypoint, decision_input)
    if args.raw:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    found = violations(result)
    if not found:
        print(f"allowed by {_label(pack)} ({args.entrypoint})")
        return 0
    print(f"denied by {_label(pack)} ({args.entrypoint}): {len(found)} violation(s)")
    for item in sorted(found, key=lambda v: (v.rule, v.message)):
        print(f"- [{item.rule}] {item.title}: {item.message}")
        print(f"  intent: {_intent_link(pack, item.intent)}")
    return 1


def policy_build(args: argparse.Namespace) -> int:
    """Verify a pack and write it as a deterministic tar.gz."""
    out = build(Path(args.pack), Path(args.out))
    print(f"built {out} ({PolicyPack.load(out).digest})")
    return 0


def policy_sign(args: argparse.Namespace) -> int:
    """Sign a pack directory (writes ``signature.json``)."""
    try:
        doc = sign(Path(args.pack), args.key, args.key_id)
    except ValueError as exc:  # a bad base64 key or wrong key length
        raise _InputError(str(exc)) from exc
    print(f"signed {args.pack} with {doc['key_id']}: digest {doc['digest']}")
    return 0


def _guarded(handler: _Handler) -> _Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            code: int = handler(args)
        except (PolicyError, _InputError, OSError) as exc:
            print(f"iesnode policy: {exc}", file=sys.stderr)
            return 2
        return code

    run.__doc__ = handler.__doc__
    return run


def _pack_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("pack", metavar="PACK", help="pack directory or .tar.gz")
    cmd.add_argument(
        "--trust",
        action="append",
        metavar="KEY_ID=B64",
        help="a trusted Ed25519 public key for the pack signature (repeatable)",
    )
    cmd.add_argument("--require-signature", action="store_true", help="refuse unsigned packs")


def add_policy(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy test|eval|build|sign``."""
    policy = commands.add_parser("policy", help="test, evaluate, build and sign policy packs")
    actions = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    test = actions.add_parser("test", help="run the pack's Rego tests (exit 0 when all pass)")
    _pack_args(test)
    test.set_defaults(handler=_guarded(policy_test))
    evaluate = actions.add_parser(
        "eval", help="evaluate an input; exit 0 allowed, 1 denied, 2 error"
    )
    _pack_args(evaluate)
    evaluate.add_argument("--input", required=True, help="decision input (JSON file, - stdin)")
    evaluate.add_argument("--entrypoint", default="violations", help="manifest entrypoint name")
    evaluate.add_argument("--raw", action="store_true", help="print the result as JSON")
    evaluate.set_defaults(handler=_guarded(policy_eval))
    build_cmd = actions.add_parser("build", help="verify a pack and write a deterministic tar.gz")
    build_cmd.add_argument("pack", metavar="PACK", help="pack directory or .tar.gz")
    build_cmd.add_argument("--out", required=True, help="the .tar.gz to write")
    build_cmd.set_defaults(handler=_guarded(policy_build))
    sign_cmd = actions.add_parser("sign", help="sign a pack directory (writes signature.json)")
    sign_cmd.add_argument("pack", metavar="PACK", help="pack directory")
    sign_cmd.add_argument("--key", required=True, help="base64 Ed25519 private key")
    sign_cmd.add_argument("--key-id", required=True, help="the key id verifiers trust")
    sign_cmd.set_defaults(handler=_guarded(policy_sign))
