"""``iesnode vc``: issue -> verify -> suspend/resume -> revoke through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iesnode.cli import main
from iesnode.testing import generate_signing_key

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "upstream" / "vc-di-eddsa" / "TestVectors" / "eddsa-jcs-2022"
CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "credentialSubject": {"id": "did:web:discom.example:consumers:12345", "sanctionedLoad": "5"},
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI in process; return (exit code, stdout)."""
    code = main(args)
    return code, capsys.readouterr().out


def test_issue_verify_pause_resume_revoke_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A credential verifies, fails while suspended, verifies again, fails for good once revoked."""
    key = generate_signing_key()[0]
    (tmp_path / "cred.json").write_text(json.dumps(CREDENTIAL))
    issuer = ["--data-dir", str(tmp_path / "issuer"), "--key", key]
    code, signed = run(
        ["vc", "issue", "--credential", str(tmp_path / "cred.json"), *issuer], capsys
    )
    assert code == 0
    (tmp_path / "signed.json").write_text(signed)
    verify = ["vc", "verify", str(tmp_path / "signed.json")]
    by_credential = ["--credential", str(tmp_path / "signed.json")]
    assert run(verify, capsys) == (0, run(verify, capsys)[1])
    assert run(verify, capsys)[1].splitlines()[-1] == "valid"
    assert run(["vc", "suspend", *issuer, *by_credential], capsys)[0] == 0
    code, out = run(verify, capsys)
    assert (code, out.splitlines()[-1]) == (
        1,
        "invalid: status: the credential's suspension bit is set",
    )
    assert run(["vc", "resume", *issuer, *by_credential], capsys)[0] == 0
    assert run(verify, capsys)[1].splitlines()[-1] == "valid"
    assert run(["vc", "revoke", *issuer, *by_credential], capsys)[0] == 0
    code, out = run(verify, capsys)
    assert (code, out.splitlines()[-1]) == (1, "invalid: status: the credential is revoked")
    code, out = run(["vc", "status", *issuer, *by_credential], capsys)
    assert json.loads(out)["revoked"] is True


def test_proof_only_verifies_the_w3c_vector_and_refuses_one_changed_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--proof-only`` accepts signedJCS.json; changing one character of it fails the proof."""
    vector = VECTORS / "signedJCS.json"
    code, out = run(["vc", "verify", "--proof-only", str(vector)], capsys)
    assert code == 0
    assert out.startswith("valid proof by did:key:")
    text = vector.read_text()
    tampered = tmp_path / "tampered.json"
    tampered.write_text(
        text.replace("Alumni", "Alumnx", 1) if "Alumni" in text else text[:-3] + " }\n"
    )
    code, out = run(["vc", "verify", "--proof-only", str(tampered)], capsys)
    assert code == 1
    assert out.startswith("invalid: proof:")


def test_expired_credential_names_the_validity_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Verifying after validUntil fails at the validity step."""
    key = generate_signing_key()[0]
    expiring = {
        **CREDENTIAL,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2026-02-01T00:00:00Z",
    }
    (tmp_path / "cred.json").write_text(json.dumps(expiring))
    issuer = ["--data-dir", str(tmp_path / "issuer"), "--key", key, "--no-status"]
    code, signed = run(
        ["vc", "issue", "--credential", str(tmp_path / "cred.json"), *issuer], capsys
    )
    (tmp_path / "signed.json").write_text(signed)
    code, out = run(["vc", "verify", str(tmp_path / "signed.json")], capsys)
    assert code == 1
    assert out.splitlines()[-1].startswith("invalid: validity:")
