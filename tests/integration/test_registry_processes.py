"""Issue 3's end-to-end check with real processes: a registry, a BPP and a BAP, each its
own OS process; both nodes subscribe through the challenge, find each other only through
the registry, trade, then the BAP's key is revoked and its next request gets a 401."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from iesnode.testing import generate_signing_key
from tests.integration.helpers import node_process, toml
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
NETWORK = "ies.example/p2p-trading"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run one of our commands to completion."""
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def node_config(path: Path, subscriber_id: str, role: str, port: int, registry: str) -> Path:
    """Write a node's TOML: its own keys, the registry's URL, nothing about its peers."""
    path.write_text(
        toml(
            {
                "node": {
                    "subscriber_id": subscriber_id,
                    "key_id": "k1",
                    "signing_private_key": generate_signing_key()[0],
                    "encryption_private_key": base64.b64encode(
                        bytes(PrivateKey.generate())
                    ).decode(),
                    "roles": [role],
                    "port": port,
                    "public_url": f"http://127.0.0.1:{port}",
                },
                "network": {"network_id": NETWORK, "domain": "deg:p2p-energy-trading"},
                "registry": {"url": registry, "api": "dedi", "cache_ttl": 1.0},
            }
        )
    )
    return path


def last_json(out: str) -> Any:
    """The JSON line a script printed last."""
    return json.loads(out.strip().splitlines()[-1])


def test_separate_processes_subscribe_trade_and_revocation_bites(tmp_path: Path) -> None:
    """Registry + BPP + BAP processes: subscribe, trade via registry lookups, revoke, 401."""
    admin_private, admin_public = generate_signing_key()
    registry_port, bpp_port, bap_port = free_port(), free_port(), free_port()
    registry_url = f"http://127.0.0.1:{registry_port}"
    registry_toml = tmp_path / "registry.toml"
    registry_toml.write_text(
        toml({"admin": {}}).replace(  # sections below are top-level keys: write them by hand
            "[admin]\n", ""
        )
        + f'port = {registry_port}\ndata_dir = "{tmp_path / "data"}"\n'
        f'[[admins]]\nkey_id = "root"\npublic_key = "{admin_public}"\n'
        f'[[namespaces]]\nname = "ies.example"\n'
    )
    bpp_toml = node_config(tmp_path / "bpp.toml", "bpp.ies.example", "bpp", bpp_port, registry_url)
    bap_toml = node_config(tmp_path / "bap.toml", "bap.ies.example", "bap", bap_port, registry_url)
    with (
        node_process(["-m", "iesnode", "registry", "serve", "--config", str(registry_toml)]),
        node_process(["examples/energy_bpp.py", str(bpp_toml)]),
    ):
        joined = run("-m", "iesnode", "registry", "subscribe", "--config", str(bpp_toml))
        assert joined.returncode == 0, joined.stderr
        assert joined.stdout.strip() == "SUBSCRIBED"
        looked = run(
            "-m", "iesnode", "registry", "lookup", "--registry-url", registry_url,
            "bpp.ies.example", "k1",
        )  # fmt: skip
        assert looked.returncode == 0, looked.stderr
        assert json.loads(looked.stdout)["status"] == "SUBSCRIBED"
        traded = run("examples/bap_trade.py", str(bap_toml), "--subscribe")
        assert traded.returncode == 0, traded.stdout + traded.stderr
        result = last_json(traded.stdout)
        assert result["sellers"] == ["bpp.ies.example"]
        assert result["selected_from"] == "bpp.ies.example"
        revoked = run(
            "-m", "iesnode", "registry", "revoke", "--registry-url", registry_url,
            "--subscriber-id", "bap.ies.example", "--key-id", "k1",
            "--admin-key-id", "root", "--admin-private-key", admin_private,
        )  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
        assert json.loads(revoked.stdout)["status"] == "REVOKED"
        time.sleep(1.2)  # the BPP's lookup cache (cache_ttl = 1 s) runs out
        refused = run("examples/bap_trade.py", str(bap_toml))
        assert refused.returncode == 1
        assert last_json(refused.stdout) | {"why": ""} == {
            "ok": False,
            "status": 401,
            "code": "AUT_KEY_REVOKED",
            "why": "",
        }
