"""``iesnode policy test|eval|build|sign``: output and exit codes (0 ok, 1 denied, 2 error)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from iesnode.cli_policy import add_policy
from iesnode.log import configure_logging
from iesnode.policy.packs import PolicyPack
from iesnode.testing import generate_signing_key
from tests.unit.test_policy_packs import FAILING_TEST, MINI, copy_pack


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Parse ``argv`` with a parser holding only ``add_policy``; return (code, stdout, stderr)."""
    configure_logging(level="WARNING")  # as iesnode.cli.main does: stdout is for results
    parser = argparse.ArgumentParser(prog="iesnode")
    add_policy(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def write_input(tmp_path: Path, quantity: float) -> str:
    """A decision input file for the mini pack."""
    path = tmp_path / f"input-{quantity}.json"
    path.write_text(json.dumps({"now_ns": 0, "message": {"quantity": quantity}}))
    return str(path)


def test_policy_test_passes_and_prints_each_test(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 and one PASS line per test."""
    code, out, _ = run(["policy", "test", str(MINI)], capsys)
    assert code == 0
    assert "PASS iesfix.mini_test.test_small_quantity_denied" in out
    assert out.splitlines()[-1].startswith("2/2 tests passed")


def test_policy_test_fails_with_a_failing_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 and a FAIL line naming the failing test."""
    pack = copy_pack(tmp_path)
    (pack / "tests" / "extra_test.rego").write_text(FAILING_TEST)
    code, out, _ = run(["policy", "test", str(pack)], capsys)
    assert code == 1
    assert "FAIL iesfix.mini_extra_test.test_medium_denied" in out


def test_policy_eval_allowed_and_denied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 when allowed; exit 1 with title, message and intent link when denied."""
    code, out, _ = run(["policy", "eval", str(MINI), "--input", write_input(tmp_path, 3)], capsys)
    assert (code, out.startswith("allowed by mini@1.0.0 revision 1")) == (0, True)
    code, out, _ = run(["policy", "eval", str(MINI), "--input", write_input(tmp_path, 0.5)], capsys)
    assert code == 1
    assert "[min-quantity] Minimum quantity: quantity 0.5 kWh is below the minimum 1 kWh" in out
    assert "intent: https://example.invalid/mini/intent.md#min-quantity" in out


def test_policy_eval_raw_prints_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--raw prints the entrypoint's JSON value."""
    argv = ["policy", "eval", str(MINI), "--raw", "--input", write_input(tmp_path, 0.5)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert json.loads(out)[0]["rule"] == "min-quantity"


@pytest.mark.parametrize("problem", ["missing-input", "not-an-object", "unknown-entrypoint"])
def test_policy_eval_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    """An unreadable input, a non-object input or an unknown entrypoint exit 2."""
    (tmp_path / "list.json").write_text("[]")
    argv = {
        "missing-input": ["--input", str(tmp_path / "nope.json")],
        "not-an-object": ["--input", str(tmp_path / "list.json")],
        "unknown-entrypoint": ["--input", write_input(tmp_path, 1), "--entrypoint", "nope"],
    }[problem]
    code, out, err = run(["policy", "eval", str(MINI), *argv], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("iesnode policy: ")


def test_tampered_pack_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pack whose intent checksum fails is an error for every command."""
    pack = copy_pack(tmp_path)
    (pack / "intent.md").write_text("changed")
    code, _, err = run(["policy", "test", str(pack)], capsys)
    assert code == 2
    assert "POL_PACK_CHECKSUM" in err
    code, _, _ = run(["policy", "build", str(pack), "--out", str(tmp_path / "x.tgz")], capsys)
    assert code == 2


def test_build_then_sign_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """build writes a loadable tar.gz; sign writes signature.json that --trust verifies."""
    out = tmp_path / "mini.tar.gz"
    code, text, _ = run(["policy", "build", str(MINI), "--out", str(out)], capsys)
    assert (code, PolicyPack.load(out).id) == (0, "mini")
    assert str(out) in text
    private, public = generate_signing_key()
    pack = copy_pack(tmp_path)
    unsigned = ["policy", "test", str(pack), "--require-signature", "--trust", f"ci={public}"]
    assert run(unsigned, capsys)[0] == 2
    code, _, _ = run(["policy", "sign", str(pack), "--key", private, "--key-id", "ci"], capsys)
    assert (code, (pack / "signature.json").is_file()) == (0, True)
    assert run(unsigned, capsys)[0] == 0
    wrong = ["policy", "test", str(pack), "--trust", f"ci={generate_signing_key()[1]}"]
    assert run(wrong, capsys)[0] == 2


def test_bad_key_and_bad_trust_option_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A private key that is not base64, or --trust without '=', is a usage error."""
    pack = copy_pack(tmp_path)
    assert run(["policy", "sign", str(pack), "--key", "!!", "--key-id", "ci"], capsys)[0] == 2
    assert run(["policy", "test", str(pack), "--trust", "ci"], capsys)[0] == 2
