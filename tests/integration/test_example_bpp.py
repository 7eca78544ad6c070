"""The shipped example BPP runs from the shipped configuration, with env overrides."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_example_bpp_serves_health_with_env_overrides() -> None:
    """``examples/energy_bpp.py examples/node.toml`` starts; IES_NODE__PORT moves its port."""
    port = free_port()
    env = {
        **os.environ,
        "IES_NODE__PORT": str(port),
        "IES_NODE__PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    proc = subprocess.Popen(
        [sys.executable, "examples/energy_bpp.py", "examples/node.toml"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert f"listening on http://127.0.0.1:{port}" in proc.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    body = resp.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert '"subscriber_id": "bpp.solar.example"' in body
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
