"""The ``iesnode`` command line: keys generate, sig sign and sig verify."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey

from iesnode.cli import main
from iesnode.protocol.signing import Signer, load_verify_key, parse_authorization, verify_signature

REPO = Path(__file__).resolve().parents[2]
VECTORS = Path("/work/shared/vectors/beckn-signing")
VECTOR: dict[str, Any] = json.loads((VECTORS / "beckn-006-search.json").read_text())
BODY_FILE = str(VECTORS / VECTOR["body_file"])
BODY = Path(BODY_FILE).read_bytes()
KEY_64: str = VECTOR["signing_private_key_64_byte_libsodium"]
SEED_32 = base64.b64encode(base64.b64decode(KEY_64)[:32]).decode()
PUBLIC: str = VECTOR["signing_public_key"]
HEADER: str = VECTOR["expected_authorization_header"]
CREATED: int = VECTOR["created"]
EXPIRES: int = VECTOR["expires"]
KEYS = {
    "signing_public_key",
    "signing_private_key",
    "encryption_public_key",
    "encryption_private_key",
}

SIGN = [
    "sig",
    "sign",
    "--subscriber-id",
    VECTOR["subscriber_id"],
    "--key-id",
    VECTOR["unique_key_id"],
]


def _verify(body: str, header: str, *extra: str, key: str = PUBLIC) -> list[str]:
    return ["sig", "verify", "--body", body, "--header", header, "--public-key", key, *extra]


def _write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "body.json"
    path.write_bytes(data)
    return str(path)


def _b64len(value: str) -> int:
    return len(base64.b64decode(value, validate=True))


def test_keys_generate_prints_the_four_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """keys generate prints JSON with exactly the four base64 keys of the right lengths."""
    assert main(["keys", "generate"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert set(keys) == KEYS
    assert [_b64len(keys[k]) for k in sorted(KEYS)] == [32, 32, 64, 32]


def test_keys_generate_signing_key_is_libsodium_form(capsys: pytest.CaptureFixture[str]) -> None:
    """The signing private key is seed||public and the encryption pair belongs together."""
    main(["keys", "generate"])
    keys = json.loads(capsys.readouterr().out)
    private = base64.b64decode(keys["signing_private_key"])
    assert base64.b64encode(private[32:]).decode() == keys["signing_public_key"]
    encryption = PrivateKey(base64.b64decode(keys["encryption_private_key"]))
    assert bytes(encryption.public_key) == base64.b64decode(keys["encryption_public_key"])


def test_keys_generate_help_mentions_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """The help of keys generate says a 32-byte seed is accepted too."""
    assert main(["keys", "generate", "--help"]) == 0
    assert "32-byte seed" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("key", [KEY_64, SEED_32], ids=["64-byte", "32-byte-seed"])
def test_sign_reproduces_vector(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    """sig sign prints the BECKN-006 header for the vector body from either key form."""
    argv = [*SIGN, "--body", BODY_FILE, "--private-key", key]
    assert main([*argv, "--created", str(CREATED), "--expires", str(EXPIRES)]) == 0
    assert capsys.readouterr().out == HEADER + "\n"


def test_sign_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--body - signs the exact bytes read from standard input."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BODY)))
    argv = [*SIGN, "--body", "-", "--private-key", KEY_64, "--created", str(CREATED)]
    assert main([*argv, "--expires", str(EXPIRES)]) == 0
    assert capsys.readouterr().out.strip() == HEADER


def test_sign_defaults_to_now_and_lifetime(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --created the header is created now and expires after --lifetime seconds."""
    assert main([*SIGN, "--body", BODY_FILE, "--private-key", KEY_64, "--lifetime", "60"]) == 0
    header = parse_authorization(capsys.readouterr().out.strip())
    assert abs(header.created - time.time()) < 5
    assert header.expires - header.created == 60
    verify_signature(BODY, header, load_verify_key(PUBLIC))


def test_verify_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """A valid header exits 0 with a one-line summary naming the signer and seconds left."""
    assert main(_verify(BODY_FILE, HEADER, "--at", str(CREATED + 100))) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("valid: signed by example-bap.com|")
    assert "3500 s left" in lines[0]


def test_verify_expired(capsys: pytest.CaptureFixture[str]) -> None:
    """An expired header exits 1 and says how long ago, with created, expires, now and skew."""
    assert main(_verify(BODY_FILE, HEADER, "--at", str(EXPIRES + 30), "--skew", "10")) == 1
    out = capsys.readouterr().out
    assert out.startswith("expired 30 s ago")
    for part in (f"created={CREATED}", f"expires={EXPIRES}", f"now={EXPIRES + 30}", "skew 10 s"):
        assert part in out


def test_verify_not_yet_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """A header from the future exits 1 and says by how many seconds."""
    assert main(_verify(BODY_FILE, HEADER, "--at", str(CREATED - 60))) == 1
    out = capsys.readouterr().out
    assert out.startswith("not yet valid by 60 s")
    assert f"now={CREATED - 60}" in out


def test_verify_digest_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A body sent with an extra newline is reported as a digest mismatch."""
    body = _write(tmp_path, BODY + b"\n")
    assert main(_verify(body, HEADER, "--at", str(CREATED))) == 1
    assert capsys.readouterr().out.startswith("digest mismatch: the signature is valid for")


def test_verify_signature_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An altered body is reported as a signature mismatch."""
    body = _write(tmp_path, BODY.replace(b"Kochi", b"Delhi"))
    assert main(_verify(body, HEADER, "--at", str(CREATED))) == 1
    assert capsys.readouterr().out.startswith("signature mismatch: ")


def test_verify_malformed(capsys: pytest.CaptureFixture[str]) -> None:
    """A header that cannot be parsed is reported as malformed."""
    assert main(_verify(BODY_FILE, "Signature keyId=x", "--at", str(CREATED))) == 1
    assert capsys.readouterr().out.startswith("malformed header: ")


def test_verify_prints_one_line_per_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A digest mismatch on an expired header prints both findings, one per line."""
    signer = Signer.from_base64("example-bap.com", VECTOR["unique_key_id"], KEY_64)
    header = signer.sign(BODY, CREATED)
    body = _write(tmp_path, BODY + b"\n")
    assert main(_verify(body, header, "--at", str(CREATED + 400))) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0] for line in lines] == ["digest", "expired"]


@pytest.mark.parametrize(
    "argv",
    [
        [*SIGN, "--body", BODY_FILE, "--private-key", "not*base64"],
        [*SIGN, "--body", BODY_FILE, "--private-key", base64.b64encode(bytes(40)).decode()],
        [*SIGN, "--body", "/nonexistent/body.json", "--private-key", KEY_64],
        _verify(BODY_FILE, HEADER, key="not*base64"),
        _verify(BODY_FILE, HEADER, key=base64.b64encode(bytes(31)).decode()),
        _verify("/nonexistent/body.json", HEADER),
    ],
    ids=[
        "sign-bad-base64",
        "sign-wrong-length",
        "sign-missing-file",
        "verify-bad-base64",
        "verify-wrong-length",
        "verify-missing-file",
    ],
)
def test_input_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad keys and unreadable files exit 2 with a message on stderr and no traceback."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("iesnode: error: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_missing_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Running without a command prints usage on stderr and exits 2."""
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_python_m_keys_generate_subprocess() -> None:
    """python -m iesnode keys generate prints keys whose signing key signs and verifies."""
    done = subprocess.run(
        [sys.executable, "-m", "iesnode", "keys", "generate"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=30,
    )
    keys = json.loads(done.stdout)
    assert set(keys) == KEYS
    signer = Signer.from_base64("bap.example.in", "k1", keys["signing_private_key"])
    header = signer.sign_header(b'{"hello":"world"}', 1000)
    verify_signature(b'{"hello":"world"}', header, load_verify_key(keys["signing_public_key"]))
