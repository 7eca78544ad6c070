"""Registry lookups per second: straight from the registry (cold) and through a node's
layered directory (cached in process memory, and in a shared Redis).

``python -m bench.registry_lookups [--keys 1000] [--duration 10] [--connections 32]``

* **registry, cold**: a registry process (``iesnode registry serve``, SQLite in a temp
  dir, pinned to CPU 0) holding ``--keys`` participant keys; wrk (CPU 1) GETs
  ``/lookup/{subscriber_id}/{key_id}`` for random keys. Every answer reads SQLite.
* **node directory, memory hit**: ``LayeredDirectory`` over a ``RegistryClient``,
  every key looked up once, then timed lookups in this process (no I/O).
* **node directory, Redis hit**: the same with a one-entry in-process layer, so each
  lookup is answered by the shared ``RedisCache`` (a private ``redis-server``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from bench.loadgen import require_wrk
from iesnode.clock import SystemClock
from iesnode.http.transport import AiohttpTransport
from iesnode.protocol.signing import Signer
from iesnode.registry.client import RegistryClient
from iesnode.registry.layered import LayeredDirectory
from iesnode.storage.cache import MemoryCache, RedisCache
from iesnode.testing import generate_signing_key
from tests.redis_server import free_port, redis_server

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PRIVATE, ADMIN_PUBLIC = generate_signing_key()
ENC = "5BzcHjN8Lwh2hOyRHmdD4yuClS4aCeQXX5O0KElrvjU="  # any 32-byte X25519 public key


def _start_registry(workdir: Path, port: int) -> subprocess.Popen[str]:
    config = workdir / "registry.toml"
    config.write_text(
        f'port = {port}\ndata_dir = "{workdir / "data"}"\n'
        f'[[admins]]\nkey_id = "root"\npublic_key = "{ADMIN_PUBLIC}"\n'
        '[[namespaces]]\nname = "ies.example"\n'
    )
    proc = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "iesnode", "registry", "serve",
         "--config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    if "listening" not in proc.stdout.readline():
        raise RuntimeError("registry did not start")
    return proc


async def _publish(url: str, keys: int) -> list[tuple[str, str]]:
    admin = Signer.from_base64("admin", "root", ADMIN_PRIVATE)
    transport = AiohttpTransport()
    made: list[tuple[str, str]] = []
    try:
        for i in range(keys):
            doc = {
                "namespace": "ies.example", "registry": "p2p-trading",
                "subscriber_id": f"bpp-{i}.ies.example", "unique_key_id": "k1",
                "subscriber_url": f"https://bpp-{i}.ies.example/beckn", "type": "BPP",
                "signing_public_key": generate_signing_key()[1], "encr_public_key": ENC,
            }  # fmt: skip
            body = json.dumps(doc).encode()
            headers = {"Content-Type": "application/json",
                       "Authorization": admin.sign(body, int(time.time()))}  # fmt: skip
            reply = await transport.post(f"{url}/participants", body, headers, 10.0)
            if reply.status != 200:
                raise RuntimeError(f"publish failed: {reply.status} {reply.body[:200]!r}")
            made.append((doc["subscriber_id"], "k1"))
    finally:
        await transport.aclose()
    return made


def _wrk(url: str, paths: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", "1", require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s",
         "-s", str(ROOT / "bench" / "lookup.lua"), url, "--", str(paths)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    stats: dict[str, float] = json.loads(line[6:])
    return stats


async def _directory_rate(url: str, keys: list[tuple[str, str]], redis_url: str | None) -> float:
    clock = SystemClock()
    transport = AiohttpTransport()
    client = aioredis.Redis.from_url(redis_url) if redis_url else None
    try:
        directory = LayeredDirectory(
            [RegistryClient(transport, url, api="dedi")],
            clock=clock,
            memory=MemoryCache(clock, max_entries=1 if client else 100_000),
            shared=RedisCache(client) if client else None,
        )
        for sid, kid in keys:  # warm every cache layer
            await directory.lookup(sid, kid)
        order = [random.choice(keys) for _ in range(20_000)]
        started = time.perf_counter()
        for sid, kid in order:
            await directory.lookup(sid, kid)
        return len(order) / (time.perf_counter() - started)
    finally:
        await transport.aclose()
        if client is not None:
            await client.aclose()


def main() -> int:
    """Run the three measurements and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="iesnode-bench-registry-"))
    port = free_port()
    registry = _start_registry(workdir, port)
    url = f"http://127.0.0.1:{port}"
    try:
        keys = asyncio.run(_publish(url, args.keys))
        paths = workdir / "paths.txt"
        paths.write_text("".join(f"/lookup/{sid}/{kid}\n" for sid, kid in keys))
        cold = _wrk(url, paths, args.duration, args.connections)
        memory = asyncio.run(_directory_rate(url, keys, None))
        with redis_server() as redis_url:
            shared = asyncio.run(_directory_rate(url, keys, redis_url))
    finally:
        registry.terminate()
        registry.wait(timeout=10)
        if registry.stdout is not None:
            registry.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)
    rate = cold["ok"] / (cold["duration_us"] / 1e6)
    print(f"keys in the registry: {args.keys}; wrk {args.connections} connections, "
          f"{args.duration} s; registry on CPU 0, wrk on CPU 1")  # fmt: skip
    print(f"  registry HTTP lookup (SQLite, cold)  {rate:>10,.0f}/s  "
          f"p50 {cold['p50_us'] / 1000:.2f} ms  p99 {cold['p99_us'] / 1000:.2f} ms  "
          f"non-200 {cold['non200']:.0f}")  # fmt: skip
    print(f"  node directory, memory hit           {memory:>10,.0f}/s  (one process, no I/O)")
    print(f"  node directory, Redis hit            {shared:>10,.0f}/s  (one client, sequential)")
    return 0 if cold["non200"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
