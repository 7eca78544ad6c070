"""Credential signing, verification and status checks per second, on one pinned CPU.

``python -m bench.credentials [--runs 5] [--seconds 0.3] [--cpu 0]``

Everything runs in this one process, pinned to one CPU with ``os.sched_setaffinity``.
Each row is timed with ``time.perf_counter``: a warm-up sizes a batch to last about
``--seconds``, then every row's batch runs once per round, for ``--runs`` rounds, and the
table shows the median rate (the machine is shared; round-robin spreads a burst of load).

The credential is the upstream ElectricityCredential v1.2 example (read at run time from
``/work/shared/upstream/ies-schemas``), with its proof and status removed, a did:key issuer,
a validity window around now, and every JSON float turned into a decimal string (GeoJSON
``coordinates`` stay numbers, as ``iesnode.credentials.model`` allows). It is issued by
``CredentialIssuer`` over a ``MemoryRecordStore`` with the ``SystemClock``.

Rows:

* eddsa-jcs-2022 ``add_proof`` and ``verify_proof`` of that credential;
* ``CredentialVerifier.verify`` (context, issuer did:key resolution, proof, status, validity)
  with the signed status list fetched from an in-memory dict: one status entry (two proofs
  verified: credential and list) and the two entries ``CredentialIssuer.issue`` gives by
  default (three proofs), plus the same chain with the JSON Schema of the type;
* ``check_status`` on a 131,072-bit list: decoding ``encodedList`` on every call (the list
  document as fetched), and ``Bitstring.get`` on a list decoded once;
* VC-JWT ``issue_jwt`` / ``verify_jwt`` with EdDSA and ES256;
* the parts the above are made of (RFC 8785, bare Ed25519, deep copy, VCDM checks, did:key
  document), so that the reading can say what dominates.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import itertools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.signing import SigningKey, VerifyKey

from iesnode.clock import SystemClock
from iesnode.credentials.eddsa_jcs_2022 import add_proof, canonicalize, verify_proof
from iesnode.credentials.issuer import CredentialIssuer, did_key_issuer
from iesnode.credentials.jwt import (
    Algorithm,
    PrivateKey,
    PublicKey,
    b64url_decode,
    issue_jwt,
    verify_jwt,
)
from iesnode.credentials.model import validate_credential
from iesnode.credentials.status_list import (
    MINIMUM_BITS,
    Bitstring,
    check_status,
    decode,
    status_entry,
    status_list_credential,
)
from iesnode.credentials.types import CredentialTypes
from iesnode.credentials.verifier import CredentialVerifier
from iesnode.identity.didkey import DidKey
from iesnode.identity.documents import DidDocument, did_key_document
from iesnode.log import configure_logging
from iesnode.storage.records import MemoryRecordStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (
    ROOT.parent / "shared/upstream/ies-schemas/ElectricityCredential/v1.2/examples/example.json"
)
LIST_BASE = "https://issuer.example/status"
GEOMETRIES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)

Batch = Callable[[int], float]
"""Run an operation ``n`` times; return the seconds it took."""


@dataclass(frozen=True, slots=True)
class Row:
    """One measured operation: median rate over the runs."""

    group: str
    name: str
    per_batch: int
    rates: tuple[float, ...]

    @property
    def rate(self) -> float:
        """Median operations per second."""
        return statistics.median(self.rates)


# -- measuring --------------------------------------------------------------------------


def sync_batch(call: Callable[[], object]) -> Batch:
    """A batch that calls ``call`` n times."""

    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - started

    return run


def async_batch(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]]) -> Batch:
    """A batch that awaits ``call()`` n times inside one task of ``loop``."""

    async def timed(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await call()
        return time.perf_counter() - started

    def run(n: int) -> float:
        return loop.run_until_complete(timed(n))

    return run


@dataclass(frozen=True, slots=True)
class Spec:
    """One operation to time."""

    group: str
    name: str
    batch: Batch


def batch_size(batch: Batch, seconds: float) -> int:
    """How many calls last about ``seconds`` (found after a warm-up)."""
    n, elapsed = 1, batch(1)
    while elapsed < seconds / 10:
        n *= 4
        elapsed = batch(n)
    return max(1, round(n * seconds / elapsed))


def measure_all(specs: list[Spec], *, runs: int, seconds: float) -> list[Row]:
    """Time every spec ``runs`` times, round-robin, so a burst of load elsewhere on the
    machine falls into one round of several rows rather than every round of one row."""
    sizes = [batch_size(spec.batch, seconds) for spec in specs]
    rates: list[list[float]] = [[] for _ in specs]
    for round_ in range(runs):
        for spec, n, found in zip(specs, sizes, rates, strict=True):
            found.append(n / spec.batch(n))
        print(f"  round {round_ + 1}/{runs} done", file=sys.stderr)
    return [
        Row(spec.group, spec.name, n, tuple(found))
        for spec, n, found in zip(specs, sizes, rates, strict=True)
    ]


# -- the credential ---------------------------------------------------------------------


def decimal_strings(value: Any, *, geometry: bool = False) -> Any:
    """``value`` with every float as a decimal string, except GeoJSON coordinates."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [decimal_strings(item) for item in value]
    if isinstance(value, dict):
        inside = isinstance(value.get("type"), str) and value["type"] in GEOMETRIES
        return {
            key: item if inside and key == "coordinates" else decimal_strings(item)
            for key, item in value.items()
        }
    return value


def electricity_credential(now: datetime) -> dict[str, Any]:
    """The upstream v1.2 example without proof and status, valid for a year."""
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for name in ("proof", "credentialStatus", "validFrom", "validUntil"):
        example.pop(name, None)
    credential: dict[str, Any] = decimal_strings(example)
    credential["validFrom"] = (now - timedelta(days=1)).isoformat(timespec="seconds")
    credential["validUntil"] = (now + timedelta(days=365)).isoformat(timespec="seconds")
    return credential


async def resolve_did_key(did: str) -> DidDocument:
    """What a resolver does for did:key: expand the key into its document."""
    return did_key_document(DidKey.parse(did))


@dataclass(slots=True)
class Fixture:
    """Everything the rows need, issued once."""

    private_key: str
    public_key: bytes
    method: str
    unsigned: dict[str, Any]
    one_entry: dict[str, Any]
    two_entries: dict[str, Any]
    issuer_object: dict[str, Any]
    """One entry, ``issuer`` kept an object (``name``, ``idRef``) as the v1.2 schema wants."""
    lists: dict[str, dict[str, Any]]


async def issue_fixture(example: dict[str, Any]) -> Fixture:
    """Issue the credential (one status entry, the default two) and sign both lists.

    ``CredentialIssuer.issue`` sets ``issuer`` to the DID string; the variant that keeps
    the example's issuer object (for the schema row) is signed with ``issuer.sign``.
    """
    unsigned = {k: v for k, v in example.items() if k != "issuer"}
    seed = SigningKey.generate()
    private_key = base64.b64encode(bytes(seed)).decode("ascii")
    did, method = did_key_issuer(private_key)
    issuer = CredentialIssuer(
        issuer=did,
        verification_method=method,
        private_key=private_key,
        store=MemoryRecordStore(),
        clock=SystemClock(),
        list_base_url=LIST_BASE,
    )
    for _ in range(200):  # a list with some bits set, as in service
        await issuer.status.revoke((await issuer.status.allocate()).index)
    allocation = await issuer.status.allocate()
    one_entry = await issuer.issue(
        {**unsigned, "credentialStatus": allocation.entries[0]}, with_status=False
    )
    two_entries = await issuer.issue(unsigned)
    issuer_object = issuer.sign(
        {
            **example,
            "issuer": {**example["issuer"], "id": did},
            "credentialStatus": allocation.entries[0],
        }
    )
    lists = {}
    for purpose in ("revocation", "suspension"):
        signed = await issuer.signed_list(purpose)
        lists[signed.credential["id"]] = signed.credential
    return Fixture(
        private_key,
        bytes(seed.verify_key),
        method,
        {**unsigned, "issuer": did},
        one_entry,
        two_entries,
        issuer_object,
        lists,
    )


# -- the rows ---------------------------------------------------------------------------


def proof_specs(fx: Fixture) -> list[Spec]:
    """eddsa-jcs-2022 add/verify and what they are made of."""
    created = datetime.now(UTC).replace(microsecond=0)
    signed = fx.one_entry
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    seed = SigningKey(base64.b64decode(fx.private_key))
    verify_key = VerifyKey(fx.public_key)
    digest = bytes(64)
    signature = seed.sign(digest).signature
    revocation = next(doc for url, doc in fx.lists.items() if url.endswith("/revocation"))

    def sign() -> None:
        add_proof(unsigned, private_key=fx.private_key, verification_method=fx.method,
                  created=created)  # fmt: skip

    def verify() -> None:
        verify_proof(signed, fx.public_key)

    table: list[tuple[str, str, Callable[[], object]]] = [
        ("1 eddsa-jcs-2022", "add_proof (signatures/s)", sign),
        ("1 eddsa-jcs-2022", "verify_proof (verifications/s)", verify),
        ("parts", "RFC 8785 canonicalize of the credential", lambda: canonicalize(unsigned)),
        ("parts", "copy.deepcopy of the credential", lambda: copy.deepcopy(unsigned)),
        ("parts", "Ed25519 sign of 64 bytes (PyNaCl)", lambda: seed.sign(digest)),
        ("parts", "Ed25519 verify of 64 bytes (PyNaCl)",
         lambda: verify_key.verify(digest, signature)),
        ("parts", "verify_proof of the signed revocation list",
         lambda: verify_proof(revocation, fx.public_key)),
        ("parts", "validate_credential (VCDM checks)", lambda: validate_credential(signed)),
        ("parts", "did:key -> DidDocument", lambda: did_key_document(DidKey.parse(fx.method))),
    ]  # fmt: skip
    return [Spec(g, n, sync_batch(c)) for g, n, c in table]


def chain_specs(fx: Fixture, loop: asyncio.AbstractEventLoop) -> list[Spec]:
    """The whole ``CredentialVerifier.verify`` chain, status lists from a dict."""

    async def fetch(url: str) -> dict[str, Any]:
        return fx.lists[url]

    documents: dict[str, DidDocument] = {}

    async def resolve_cached(did: str) -> DidDocument:
        """As a ``DidResolver`` with its TTL cache warm."""
        found = documents.get(did)
        if found is None:
            found = documents[did] = await resolve_did_key(did)
        return found

    plain = CredentialVerifier(resolve=resolve_did_key, fetch_status_list=fetch)
    cached = CredentialVerifier(resolve=resolve_cached, fetch_status_list=fetch)
    typed = CredentialVerifier(
        resolve=resolve_did_key, fetch_status_list=fetch, types=CredentialTypes.load()
    )
    cases = [
        ("verify, 1 status entry (2 proofs)", plain, fx.one_entry),
        ("verify, 2 status entries (3 proofs)", plain, fx.two_entries),
        ("verify, 1 entry, DID document cached (2 proofs)", cached, fx.one_entry),
        ("verify, 1 entry, issuer object (2 proofs)", plain, fx.issuer_object),
        ("verify + JSON Schema, 1 entry, issuer object", typed, fx.issuer_object),
    ]
    specs: list[Spec] = []
    for name, verifier, credential in cases:
        result = loop.run_until_complete(verifier.verify(credential))
        if not result.valid:
            raise RuntimeError(f"{name}: {result.failed_step}: {result.reason} at {result.path}")

        def call(v: CredentialVerifier = verifier, c: dict[str, Any] = credential) -> Any:
            return v.verify(c)

        specs.append(Spec("3 verifier chain", name, async_batch(loop, call)))
    return specs


def status_specs() -> list[Spec]:
    """``check_status`` on a 131,072-bit list, decoding each time or reusing a Bitstring."""
    rng = random.Random(4)
    cycle = itertools.count()
    specs: list[Spec] = []
    for label, revoked in (("empty list", 0), ("1 % of bits set", MINIMUM_BITS // 100)):
        bits = Bitstring.with_set(rng.sample(range(MINIMUM_BITS), revoked))
        url = f"{LIST_BASE}/revocation"
        document = status_list_credential(
            list_id=url, issuer="did:web:issuer.example", purpose="revocation",
            bitstring=bits, valid_from=datetime.now(UTC),
        )  # fmt: skip
        entries = [status_entry(url, rng.randrange(MINIMUM_BITS), "revocation")
                   for _ in range(1024)]  # fmt: skip

        def decode_each(doc: dict[str, Any] = document, es: list[Any] = entries) -> bool:
            return check_status(es[next(cycle) % 1024], doc)

        name = f"check_status, decode each time ({label})"
        specs.append(Spec("4 status", name, sync_batch(decode_each)))
    decoded = decode(document["credentialSubject"]["encodedList"])
    indexes = [int(e["statusListIndex"]) for e in entries]

    def reuse() -> bool:
        return decoded.get(indexes[next(cycle) % 1024])

    specs.append(Spec("4 status", "Bitstring.get on a decoded list", sync_batch(reuse)))
    return specs


def jwt_specs(fx: Fixture) -> list[Spec]:
    """VC-JWT issue and verify, EdDSA and ES256, of the same credential."""
    ed_key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(fx.private_key))
    p256 = ec.generate_private_key(ec.SECP256R1())
    keys: dict[Algorithm, tuple[PrivateKey, PublicKey]] = {
        "EdDSA": (ed_key, ed_key.public_key()),
        "ES256": (p256, p256.public_key()),
    }
    specs: list[Spec] = []
    token = ""
    for alg, (private, public) in keys.items():
        token = issue_jwt(fx.unsigned, alg=alg, key=private, kid=fx.method)

        def issue(a: Algorithm = alg, k: PrivateKey = private) -> str:
            return issue_jwt(fx.unsigned, alg=a, key=k, kid=fx.method)

        def verify(t: str = token, k: PublicKey = public) -> dict[str, Any]:
            return verify_jwt(t, key_for=lambda _kid: k)

        verify()
        specs.append(Spec("5 VC-JWT", f"issue_jwt {alg}", sync_batch(issue)))
        specs.append(Spec("5 VC-JWT", f"verify_jwt {alg}", sync_batch(verify)))
    payload = token.split(".")[1]
    ed_public = ed_key.public_key()
    digest, signature = bytes(64), ed_key.sign(bytes(64))
    parts: list[tuple[str, Callable[[], object]]] = [
        (f"b64url_decode of the VC-JWT payload ({len(payload):,} chars)",
         lambda: b64url_decode(payload)),
        ("Ed25519 verify of 64 bytes (cryptography)",
         lambda: ed_public.verify(signature, digest)),
    ]  # fmt: skip
    specs += [Spec("parts", n, sync_batch(c)) for n, c in parts]
    return specs


# -- report -----------------------------------------------------------------------------


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo (or what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_report(
    rows: list[Row], fx: Fixture, args: argparse.Namespace, load: tuple[float, float, float]
) -> None:
    """The header lines and a Markdown table."""
    libs = ", ".join(f"{p} {version(p)}" for p in ("rfc8785", "PyNaCl", "cryptography"))
    size = len(canonicalize(fx.one_entry))
    list_sizes = " and ".join(f"{len(canonicalize(doc)):,}" for doc in fx.lists.values())
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"CPU: {cpu_model()} (nproc {os.cpu_count()}), pinned to CPU {args.cpu}")
    print(f"Python {platform.python_version()} ({sys.implementation.name}); {libs}")
    print(f"iesnode {commit or 'unknown'}; load average at start {load[0]:.2f}")
    print(f"credential: ElectricityCredential v1.2 example, {size:,} bytes as JCS with proof")
    print(f"signed status lists (revocation, suspension): {list_sizes} bytes as JCS")
    print(f"medians of {args.runs} runs, batches of about {args.seconds} s\n")
    print("| group | operation | per second | us each | batch | min-max per second |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for row in rows:
        print(
            f"| {row.group} | {row.name} | {row.rate:,.0f} | {1e6 / row.rate:,.1f} | "
            f"{row.per_batch:,} | {min(row.rates):,.0f}-{max(row.rates):,.0f} |"
        )


def main(argv: list[str] | None = None) -> None:
    """Pin, build the fixture, measure every row, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.credentials", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="target length of a batch")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin this process to")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    os.sched_setaffinity(0, {args.cpu})
    configure_logging(json=True, level="WARNING")
    loop = asyncio.new_event_loop()
    try:
        fx = loop.run_until_complete(issue_fixture(electricity_credential(datetime.now(UTC))))
        specs = proof_specs(fx) + chain_specs(fx, loop) + status_specs() + jwt_specs(fx)
        rows = measure_all(specs, runs=args.runs, seconds=args.seconds)
    finally:
        loop.close()
    print_report(rows, fx, args, load)


if __name__ == "__main__":
    main()
