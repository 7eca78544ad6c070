"""``iesnode vc ...``: issue, verify, revoke, suspend, resume and inspect credentials.

Only parsing and printing; the work is in :mod:`iesnode.credentials`. An issuer keeps
its status lists in ``--data-dir`` (SQLite) and publishes them, signed, as
``<data-dir>/lists/{revocation,suspension}.json``; credentials it issues point at those
files (``file://`` URLs) unless ``--list-base-url`` names where they are served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from iesnode.clock import SystemClock
from iesnode.credentials.eddsa_jcs_2022 import proof_verification_method, verify_proof
from iesnode.credentials.errors import CredentialError
from iesnode.credentials.issuer import CredentialIssuer, did_key_issuer, status_index
from iesnode.credentials.types import CredentialTypes
from iesnode.credentials.verifier import CredentialVerifier
from iesnode.errors import IesError
from iesnode.http.transport import AiohttpTransport
from iesnode.identity.resolver import DidResolver
from iesnode.storage.sqlite import SqliteRecordStore

__all__ = ["add_vc"]


def _load(path: str) -> dict[str, Any]:
    doc = json.loads(Path(path).read_text("utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return doc


async def _issuer(args: argparse.Namespace) -> tuple[CredentialIssuer, SqliteRecordStore]:
    data_dir = Path(args.data_dir)
    did, method = did_key_issuer(args.key)
    store = await SqliteRecordStore.open(data_dir / "issuer.sqlite3")
    base = args.list_base_url or (data_dir / "lists").resolve().as_uri()
    issuer = CredentialIssuer(
        list_suffix="" if args.list_base_url else ".json",
        issuer=args.issuer or did,
        verification_method=args.verification_method or method,
        private_key=args.key,
        store=store,
        clock=SystemClock(),
        list_base_url=base,
    )
    return issuer, store


async def _issue(args: argparse.Namespace) -> tuple[int, str]:
    issuer, store = await _issuer(args)
    try:
        signed = await issuer.issue(_load(args.credential), with_status=not args.no_status)
        await issuer.publish(Path(args.data_dir) / "lists")
    finally:
        await store.aclose()
    return 0, json.dumps(signed, indent=2)


async def _change(args: argparse.Namespace, change: str) -> tuple[int, str]:
    issuer, store = await _issuer(args)
    try:
        index = args.index if args.index is not None else status_index(_load(args.credential))
        lists = issuer.status
        if change == "status":
            revoked, suspended = await lists.is_revoked(index), await lists.is_suspended(index)
            return 0, json.dumps({"index": index, "revoked": revoked, "suspended": suspended})
        await getattr(lists, change)(index)
        await issuer.publish(Path(args.data_dir) / "lists")
    finally:
        await store.aclose()
    return 0, json.dumps({"index": index, "done": change})


async def _fetch_list(url: str, transport: AiohttpTransport) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return _load(url2pathname(parts.path))
    reply = await transport.get(url, {"Accept": "application/json"}, 10.0)
    if reply.status != 200:
        raise CredentialError("status", f"status list {url} answered HTTP {reply.status}")
    doc = json.loads(reply.body)
    if not isinstance(doc, dict):
        raise CredentialError("status", f"status list {url} is not a JSON object")
    return doc


async def _verify(args: argparse.Namespace) -> tuple[int, str]:
    credential = _load(args.file)
    at = datetime.fromtimestamp(args.at, UTC) if args.at is not None else datetime.now(UTC)
    transport = AiohttpTransport()
    try:
        resolver = DidResolver(transport, SystemClock(), base_url=args.did_base_url)
        if args.proof_only:
            try:
                method = proof_verification_method(credential)
                found = await resolver.resolve_method(method)
                verify_proof(credential, found.ed25519_public_key())
            except (CredentialError, IesError, ValueError) as exc:
                return 1, f"invalid: proof: {exc}"
            return 0, f"valid proof by {method}"
        verifier = CredentialVerifier(
            resolve=resolver.resolve,
            fetch_status_list=lambda url: _fetch_list(url, transport),
            types=CredentialTypes.load(),
        )
        result = await verifier.verify(credential, at=at, holder=args.holder)
    finally:
        await transport.aclose()
    lines = [f"{s.step}: {s.outcome}{' - ' + s.detail if s.detail else ''}" for s in result.steps]
    verdict = "valid" if result.valid else f"invalid: {result.failed_step}: {result.reason}"
    return (0 if result.valid else 1), "\n".join([*lines, verdict])


def _run(work: Coroutine[Any, Any, tuple[int, str]]) -> int:
    try:
        code, out = asyncio.run(work)
    except (IesError, ValueError, OSError) as exc:
        print(f"iesnode vc: {exc}", file=sys.stderr)
        return 2
    print(out)
    return code


def _issuer_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--data-dir", required=True, help="the issuer's status lists and state")
    cmd.add_argument("--key", required=True, help="issuer's base64 Ed25519 private key")
    cmd.add_argument("--issuer", help="issuer DID (default: the key's did:key)")
    cmd.add_argument("--verification-method", help="default: the did:key's key")
    cmd.add_argument("--list-base-url", help="where the lists are served (default: file URLs)")


def add_vc(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``vc issue|verify|revoke|suspend|resume|status``."""
    vc = commands.add_parser("vc", help="issue and verify W3C verifiable credentials")
    actions = vc.add_subparsers(dest="vc_command", required=True, metavar="ACTION")
    issue = actions.add_parser("issue", help="sign a credential (eddsa-jcs-2022) with status")
    issue.add_argument("--credential", required=True, help="the unsigned credential (JSON)")
    issue.add_argument("--no-status", action="store_true", help="issue without status entries")
    _issuer_args(issue)
    issue.set_defaults(handler=lambda a: _run(_issue(a)))
    verify = actions.add_parser("verify", help="verify a credential; exit 1 naming the step")
    verify.add_argument("file")
    verify.add_argument("--proof-only", action="store_true", help="check only the proof")
    verify.add_argument("--at", type=float, help="Unix seconds to verify at (default: now)")
    verify.add_argument("--holder", help="require the credential to be about this DID")
    verify.add_argument("--did-base-url", help="resolve did:web against this URL (tests)")
    verify.set_defaults(handler=lambda a: _run(_verify(a)))
    for name in ("revoke", "suspend", "resume", "status"):
        cmd = actions.add_parser(name, help=f"{name} a credential's status bits")
        _issuer_args(cmd)
        which = cmd.add_mutually_exclusive_group(required=True)
        which.add_argument("--index", type=int)
        which.add_argument("--credential", help="read the index from this issued credential")
        cmd.set_defaults(handler=lambda a, n=name: _run(_change(a, n)))
