"""`iesnode conformance run --target-role bap`: a served BAP, triggered by a command or by hand."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from iesnode.cli import main
from iesnode.testing import generate_signing_key
from tests.integration.helpers import node_process, toml
from tests.redis_server import free_port

TRIGGER = Path(__file__).resolve().parent / "conformance_bap_trigger.py"


def bap_config(path: Path, registry_url: str, redis_url: str) -> tuple[str, str]:
    """Write a BAP configuration trusting ``registry_url``; return (URL, public key)."""
    private, public = generate_signing_key()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path.write_text(
        toml(
            {
                "node": {
                    "subscriber_id": "bap.served.example",
                    "key_id": "k1",
                    "signing_private_key": private,
                    "roles": ["bap"],
                    "port": port,
                    "public_url": url,
                },
                "network": {"network_id": "ies.example/p2p-trading", "request_ttl": 1.0},
                "registry": {"url": registry_url},
                "redis": {"url": redis_url},
            }
        )
    )
    return url, public


def test_served_bap_passes_every_check_through_a_trigger_command(
    tmp_path: Path, redis_url: str
) -> None:
    """``iesnode serve`` as a BAP, made to send by --trigger-command, passes all 24 checks."""
    suite_port = free_port()
    config = tmp_path / "bap.toml"
    url, public = bap_config(config, f"http://127.0.0.1:{suite_port}/registry", redis_url)
    command = shlex.join([sys.executable, str(TRIGGER), str(config)])
    report = tmp_path / "report.json"
    with node_process(["-m", "iesnode", "serve", "--config", str(config)]):
        code = main(
            [
                *("conformance", "run", f"--target-url={url}", "--target-role=bap"),
                *("--target-id=bap.served.example", "--target-key-id=k1"),
                f"--target-public-key={public}",
                f"--listen=127.0.0.1:{suite_port}",
                "--actions=select",
                f"--trigger-command={command}",
                "--trigger-wait=20",
                "--retry-window=1",
                f"--json={report}",
            ]
        )
    results = json.loads(report.read_text())["results"]
    assert {r["id"]: r["message"] for r in results if r["outcome"] != "pass"} == {}
    assert (code, len(results)) == (0, 24)
    sent = next(r for r in results if r["id"] == "bap.request.sent")
    trigger = sent["evidence"][0]
    assert (trigger["direction"], trigger["status"]) == ("trigger", 0)
    assert '"ok": true' in trigger["response_body"]


def test_without_a_trigger_the_operator_is_asked_and_waited_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No --trigger-command: the suite prints what to send, waits --trigger-wait, then fails."""
    code = main(
        [
            *("conformance", "run", "--target-url=http://127.0.0.1:9", "--target-role=bap"),
            *("--target-id=bap.example", "--target-key-id=k1"),
            f"--target-public-key={generate_signing_key()[1]}",
            "--actions=select",
            "--trigger-wait=0.2",
            "--only=bap.request",
            "--skip=bap.request.retry",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Make the BAP send select to bpp.conformance.iesnode at http://127.0.0.1:" in out
    assert "nothing arrived within 0.2s" in out
