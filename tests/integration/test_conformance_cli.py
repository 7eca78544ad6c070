"""``iesnode conformance`` end to end: real node processes, the CLI, every report format."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from iesnode.cli import main
from iesnode.conformance.identities import CounterpartKeys
from iesnode.testing import generate_signing_key
from tests.integration.helpers import node_process, toml
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def bpp_config(path: Path, registry_url: str, handlers: str | None = None) -> tuple[str, str]:
    """Write a BPP configuration trusting ``registry_url``; return (URL, public key)."""
    private, public = generate_signing_key()
    port = free_port()
    node = {
        "subscriber_id": "bpp.served.example",
        "key_id": "k1",
        "signing_private_key": private,
        "roles": ["bpp"],
        "port": port,
    }
    if handlers:
        node["handlers"] = handlers
    path.write_text(
        toml(
            {
                "node": node,
                "registry": {"url": registry_url},
                "delivery": {"backoff_base": 0.3, "backoff_max": 1.0},
            }
        )
    )
    return f"http://127.0.0.1:{port}", public


def target_args(url: str, public: str, suite_port: int) -> list[str]:
    """The ``conformance run`` flags naming the served BPP, with short test timings."""
    return [
        "conformance",
        "run",
        f"--target-url={url}",
        "--target-role=bpp",
        "--target-id=bpp.served.example",
        "--target-key-id=k1",
        f"--target-public-key={public}",
        f"--listen=127.0.0.1:{suite_port}",
        "--callback-timeout=2",
        "--retry-window=1",
    ]


def test_run_against_a_served_bpp_passes_and_writes_every_report(tmp_path: Path) -> None:
    """``iesnode serve`` with handlers passes; terminal, JUnit, JSON and HTML reports."""
    suite_port = free_port()
    config = tmp_path / "bpp.toml"
    registry = f"http://127.0.0.1:{suite_port}/registry"
    url, public = bpp_config(config, registry, handlers="iesnode.demo:demo_handlers")
    out = {kind: tmp_path / f"report.{kind}" for kind in ("xml", "json", "html")}
    with node_process(["-m", "iesnode", "serve", "--config", str(config)]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "iesnode",
                *target_args(url, public, suite_port),
                f"--junit={out['xml']}",
                f"--json={out['json']}",
                f"--html={out['html']}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CONFORMANT: every MUST check passed" in done.stdout
    report = json.loads(out["json"].read_text())
    assert report["summary"]["pass"] == 41
    assert report["summary"]["must_failures"] == 0
    suites = ET.parse(out["xml"]).getroot()
    assert sum(int(s.get("tests", 0)) for s in suites.iter("testsuite")) == 41
    HTMLParser().feed(out["html"].read_text())
    assert "bpp.sig.equivalent-body" in out["html"].read_text()


def test_iesnode_serve_without_handlers_refuses_everything_it_must(tmp_path: Path) -> None:
    """Plain ``iesnode serve`` (no handlers) passes every signature and input check."""
    suite_port = free_port()
    config = tmp_path / "bpp.toml"
    url, public = bpp_config(config, f"http://127.0.0.1:{suite_port}/registry")
    report = tmp_path / "report.json"
    with node_process(["-m", "iesnode", "serve", "--config", str(config)]):
        code = main(
            [
                *target_args(url, public, suite_port),
                "--only=bpp.sig",
                "--only=bpp.input",
                "--skip=bpp.sig.replay",  # needs an ACKed original: no handler, no ACK
                f"--json={report}",
            ]
        )
    results = json.loads(report.read_text())["results"]
    assert code == 0
    assert {r["id"]: r["outcome"] for r in results if r["outcome"] != "pass"} == {}
    assert len(results) == 11


GIVEN = ["--target-key-id=k1", f"--target-public-key={generate_signing_key()[1]}"]


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        ([], "--target-registry-url"),
        ([GIVEN[1]], "--target-key-id"),
        (["--target-key-id=k1", "--target-public-key=AAAA"], "public key"),
        ([*GIVEN, "--static"], "--keys"),
        ([*GIVEN, "--actions=discover,frobnicate"], "frobnicate"),
        ([*GIVEN, "--listen=nowhere"], "HOST:PORT"),
        ([*GIVEN, "--trigger-command=true"], "--target-role bap"),
    ],
)
def test_bad_flags_are_usage_errors(
    flags: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unusable flags exit 2 with a sentence naming the problem, before anything listens."""
    base = ["conformance", "run", "--target-url=http://127.0.0.1:9", "--target-role=bpp"]
    code = main([*base, "--target-id=bpp.example", *flags])
    assert code == 2
    assert complaint in capsys.readouterr().err


def test_keys_command_writes_a_usable_keys_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``conformance keys`` writes owner-only keys and prints them as registry.subscribers."""
    path = tmp_path / "keys.json"
    assert main(["conformance", "keys", str(path), "--public-url=http://127.0.0.1:9400"]) == 0
    keys = CounterpartKeys.load(path)
    printed = capsys.readouterr().out
    assert path.stat().st_mode & 0o777 == 0o600
    for identity in keys.all:
        assert f'signing_public_key = "{identity.signing_public_key}"' in printed
        assert f'url = "http://127.0.0.1:9400/{identity.name}"' in printed
    assert main(["conformance", "keys", str(path), "--public-url=http://x"]) == 2


def test_logs_command_writes_reports(tmp_path: Path) -> None:
    """``conformance logs DIR`` judges the records and writes the JSON report it was asked for."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "one.json").write_text(json.dumps({"context": {"action": "select"}, "message": {}}))
    report = tmp_path / "logs.json"
    code = main(["conformance", "logs", str(logs), f"--json={report}"])
    written = json.loads(report.read_text())
    assert written["target"]["role"] == "logs"
    assert code == (1 if written["summary"]["must_failures"] else 0)
