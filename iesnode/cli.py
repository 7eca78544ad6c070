"""The ``iesnode`` command line: keys, Beckn signatures, the demo and the node server.

Parsing and printing only; the work is done by :mod:`iesnode.protocol.signing`
(BECKN-006 signing), :mod:`iesnode.protocol.diagnosis` (why a header fails) and the
lead's ``iesnode.demo`` / ``iesnode.serve`` modules, imported when their command runs.

Exit codes: 0 success (or a valid signature), 1 an invalid signature, 2 a usage
error (unreadable file, bad base64 key, wrong key length).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from iesnode.cli_conformance import add_conformance
from iesnode.cli_consent import add_consent
from iesnode.cli_policy import add_policy
from iesnode.cli_registry import add_registry
from iesnode.cli_vc import add_vc
from iesnode.clock import SystemClock
from iesnode.log import configure_logging
from iesnode.protocol.diagnosis import diagnose
from iesnode.protocol.signing import Signer, load_verify_key

__all__ = ["main"]

_Handler = Callable[[argparse.Namespace], int]


class _UsageError(Exception):
    """A problem with the operator's input: reported on stderr with exit code 2."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _read_body(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read body file {name!r}: {exc.strerror or exc}") from exc


def _keys_generate(_args: argparse.Namespace) -> int:
    signing = SigningKey.generate()
    encryption = PrivateKey.generate()
    keys = {
        "signing_public_key": _b64(bytes(signing.verify_key)),
        "signing_private_key": _b64(bytes(signing) + bytes(signing.verify_key)),
        "encryption_public_key": _b64(bytes(encryption.public_key)),
        "encryption_private_key": _b64(bytes(encryption)),
    }
    print(json.dumps(keys, indent=2))
    return 0


def _sig_sign(args: argparse.Namespace) -> int:
    body = _read_body(args.body)
    try:
        signer = Signer.from_base64(
            args.subscriber_id, args.key_id, args.private_key, args.lifetime
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    created = int(SystemClock().now()) if args.created is None else args.created
    print(signer.sign(body, created, args.expires))
    return 0


def _sig_verify(args: argparse.Namespace) -> int:
    body = _read_body(args.body)
    try:
        load_verify_key(args.public_key)
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    now = SystemClock().now() if args.at is None else args.at
    result = diagnose(body, args.header, args.public_key, now=now, skew=args.skew)
    if result.ok:
        print(result.summary())
        return 0
    for finding in result.findings:
        print(finding.detail)
    return 1


def _demo(args: argparse.Namespace) -> int:
    if args.scenario == "p2p":
        from iesnode.usecases.p2p.daybook import run_p2p_demo

        return run_p2p_demo()
    from iesnode.demo import run_demo

    code: int = run_demo()
    return code


def _serve(args: argparse.Namespace) -> int:
    from iesnode.serve import serve

    code: int = serve(Path(args.config))
    return code


def _add_keys(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="generate key pairs")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = actions.add_parser(
        "generate",
        help="print a new Ed25519 signing and X25519 encryption key pair as JSON",
        description=(
            "Print JSON with signing_public_key, signing_private_key, encryption_public_key "
            "and encryption_private_key, all base64. The signing private key is the 64-byte "
            "libsodium form (seed followed by public key); wherever iesnode takes a signing "
            "private key, the 32-byte seed alone is accepted too. Encryption keys are raw "
            "32-byte X25519 keys."
        ),
    )
    generate.set_defaults(handler=_keys_generate)


def _add_sig(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sig = commands.add_parser("sig", help="sign a body or diagnose a Beckn Authorization header")
    actions = sig.add_subparsers(dest="sig_command", required=True, metavar="ACTION")
    sign = actions.add_parser(
        "sign", help="print the Authorization header value for a body's exact bytes"
    )
    sign.add_argument("--body", required=True, help="file with the exact body bytes, - for stdin")
    sign.add_argument(
        "--private-key", required=True, help="base64 Ed25519 key: 32-byte seed or 64-byte form"
    )
    sign.add_argument("--subscriber-id", required=True)
    sign.add_argument("--key-id", required=True, help="the registered unique key id")
    sign.add_argument("--created", type=int, help="Unix seconds (default: now)")
    sign.add_argument("--expires", type=int, help="Unix seconds (default: created + lifetime)")
    sign.add_argument("--lifetime", type=int, default=300, help="seconds (default: 300)")
    sign.set_defaults(handler=_sig_sign)
    verify = actions.add_parser(
        "verify",
        help="check a header against a body; explain every failure",
        description=(
            "Exit 0 and print a summary when the header is valid at the given time; otherwise "
            "exit 1 and print one line per finding (malformed header, digest mismatch, "
            "signature mismatch, not yet valid, expired) with the numbers involved."
        ),
    )
    verify.add_argument("--body", required=True, help="file with the exact body bytes, - for stdin")
    verify.add_argument("--header", required=True, help="the Authorization header value")
    verify.add_argument("--public-key", required=True, help="base64 Ed25519 public key (32 bytes)")
    verify.add_argument("--at", type=float, help="Unix seconds to verify at (default: now)")
    verify.add_argument(
        "--skew", type=float, default=5.0, help="allowed clock skew in seconds (default: 5)"
    )
    verify.set_defaults(handler=_sig_verify)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iesnode", description="India Energy Stack protocol node (Beckn-style, signed)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_keys(commands)
    _add_sig(commands)
    demo = commands.add_parser(
        "demo", help="a gateway, a BAP and two BPPs trade energy on loopback"
    )
    demo.add_argument(
        "scenario",
        nargs="?",
        choices=["p2p"],
        help="p2p: a whole P2P trading day (publish, trade, deliver, allocate, settle)",
    )
    demo.set_defaults(handler=_demo)
    serve = commands.add_parser("serve", help="run the node with a configuration file")
    serve.add_argument("--config", required=True, help="path of the TOML configuration file")
    serve.set_defaults(handler=_serve)
    add_registry(commands)
    add_vc(commands)
    add_consent(commands)
    add_policy(commands)
    add_conformance(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else 2
    handler: _Handler = args.handler
    configure_logging(level="WARNING")  # stdout is for results; `serve` and `demo` reconfigure
    try:
        return handler(args)
    except _UsageError as exc:
        print(f"iesnode: error: {exc}", file=sys.stderr)
        return 2
