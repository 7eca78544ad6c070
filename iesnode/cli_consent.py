"""``iesnode consent audit verify FILE --key B64``: check an exported audit chain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iesnode.consent.chain import verify_file
from iesnode.protocol.signing import load_verify_key

__all__ = ["add_consent"]


def _verify(args: argparse.Namespace) -> int:
    try:
        report = verify_file(Path(args.file), load_verify_key(args.key))
    except (OSError, ValueError) as exc:
        print(f"iesnode consent: {exc}", file=sys.stderr)
        return 2
    if report.ok:
        print(f"ok: {report.records} records, anchored through seq {report.anchored_seq}")
        return 0
    print(f"tampered: {report.code} at seq {report.first_bad_seq}: {report.reason}")
    return 1


def add_consent(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``consent audit verify``."""
    consent = commands.add_parser("consent", help="consent artefacts and their audit chain")
    actions = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")
    audit = actions.add_parser("audit", help="the hash-chained audit log")
    audit_actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_actions.add_parser("verify", help="detect edited, removed or reordered records")
    verify.add_argument("file", help="an exported log (JSON lines)")
    verify.add_argument("--key", required=True, help="base64 Ed25519 public key of checkpoints")
    verify.set_defaults(handler=_verify)
