"""Policy packs and the pack registry: load, verify, sign, build, test, install and hot swap."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from iesnode.policy.engine import violations
from iesnode.policy.errors import PolicyError
from iesnode.policy.packs import PolicyPack, TestReport, build, pack_digest, sign
from iesnode.policy.registry import PackRegistry
from iesnode.testing import generate_signing_key

MINI = Path(__file__).parent / "policy_fixtures" / "mini"
SMALL = {"message": {"quantity": 0.5}}
MEDIUM = {"message": {"quantity": 5}}
FAILING_TEST = """package iesfix.mini_extra_test

import data.iesfix.mini

test_medium_denied if {
	count(mini.violations) == 1 with input.message.quantity as 5
}
"""


def copy_pack(tmp_path: Path, name: str = "mini") -> Path:
    """A writable copy of the mini fixture pack."""
    return Path(shutil.copytree(MINI, tmp_path / name))


def edit_manifest(pack: Path, **changes: Any) -> None:
    """Update top-level manifest fields in place."""
    manifest = json.loads((pack / "manifest.json").read_text())
    manifest.update(changes)
    (pack / "manifest.json").write_text(json.dumps(manifest))


def new_revision(tmp_path: Path, name: str, revision: int, min_kwh: int) -> Path:
    """A copy of the mini pack at ``revision`` whose minimum is ``min_kwh``."""
    pack = copy_pack(tmp_path, name)
    edit_manifest(pack, revision=revision, version=f"1.{revision}.0")
    (pack / "data" / "limits.json").write_text(json.dumps({"min_kwh": min_kwh}))
    (pack / "tests" / "limits_test.rego").write_text(
        (pack / "tests" / "limits_test.rego").read_text().replace("as 5", f"as {min_kwh + 4}")
    )
    return pack


def denied(pack: PolicyPack, decision_input: dict[str, Any]) -> bool:
    """True when the pack's violations entrypoint finds anything."""
    return bool(violations(pack.evaluate("violations", decision_input)))


def code_of(error: pytest.ExceptionInfo[PolicyError]) -> str:
    """The POL_* code of a raised PolicyError."""
    return error.value.code


def test_loads_a_directory_pack_and_evaluates_it() -> None:
    """The fixture loads with its manifest, annotations and a working violations entrypoint."""
    pack = PolicyPack.load(MINI)
    assert (pack.id, pack.revision, pack.manifest.version) == ("mini", 1, "1.0.0")
    assert pack.data == {"limits": {"min_kwh": 1}}
    (annotation,) = pack.annotations["policy/limits.rego"]
    assert (annotation.title, annotation.anchors) == ("Minimum quantity", ("min-quantity",))
    (found,) = violations(pack.evaluate("violations", SMALL))
    assert (found.rule, found.intent) == ("min-quantity", "intent.md#min-quantity")
    assert "0.5 kWh" in found.message
    assert not denied(pack, MEDIUM)
    assert pack.compiled is pack.compiled


def test_built_tar_gz_loads_with_the_same_digest(tmp_path: Path) -> None:
    """A pack built to tar.gz loads back with the digest of its directory."""
    out = build(MINI, tmp_path / "mini.tar.gz")
    assert PolicyPack.load(out).digest == PolicyPack.load(MINI).digest


def test_build_is_deterministic(tmp_path: Path) -> None:
    """Two builds give the same bytes even after the files' mtimes change."""
    first = build(MINI, tmp_path / "a.tar.gz").read_bytes()
    pack = copy_pack(tmp_path)
    for path in pack.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    assert build(pack, tmp_path / "b.tar.gz").read_bytes() == first


def test_tar_with_one_top_directory_loads(tmp_path: Path) -> None:
    """``tar czf pack.tgz mini/`` (a top directory) is accepted as well."""
    out = tmp_path / "top.tar.gz"
    with tarfile.open(out, "w:gz") as archive:
        archive.add(MINI, arcname="mini")
    assert PolicyPack.load(out).digest == PolicyPack.load(MINI).digest


def _tar_with(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    out = tmp_path / "evil.tar.gz"
    with tarfile.open(out, "w:gz") as archive:
        for path in sorted(MINI.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(MINI).as_posix())
        member.size = len(data) if member.isfile() else 0
        archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return out


def _member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    "member",
    [
        _member("../escape.rego"),
        _member("/etc/evil.rego"),
        _member("policy/../../escape.rego"),
        _member("policy/link.rego", tarfile.SYMTYPE, "/etc/passwd"),
        _member("policy/hard.rego", tarfile.LNKTYPE, "manifest.json"),
        _member("dev", tarfile.CHRTYPE),
        _member("./policy/limits.rego"),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink", "hardlink", "device", "duplicate"],
)
def test_unsafe_tar_members_are_refused(tmp_path: Path, member: tarfile.TarInfo) -> None:
    """Absolute paths, ``..``, links, devices and duplicates in an archive refuse the pack."""
    with pytest.raises(PolicyError) as error:
        PolicyPack.load(_tar_with(tmp_path, member, b"package x\n"))
    assert code_of(error) == "POL_PACK_INVALID"


def test_symlink_in_a_directory_pack_is_refused(tmp_path: Path) -> None:
    """A directory pack may not contain links."""
    pack = copy_pack(tmp_path)
    (pack / "data" / "extra.json").symlink_to(pack / "data" / "limits.json")
    with pytest.raises(PolicyError, match="links are not allowed"):
        PolicyPack.load(pack)


def test_tampered_intent_fails_the_checksum(tmp_path: Path) -> None:
    """An intent document changed after the manifest was written is refused, naming the file."""
    pack = copy_pack(tmp_path)
    (pack / "intent.md").write_text("## min-quantity\nAnything goes.\n")
    with pytest.raises(PolicyError) as error:
        PolicyPack.load(pack)
    assert (code_of(error), error.value.path) == ("POL_PACK_CHECKSUM", "intent.md")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "1.0"),
        ("effective_from", "2026-01-01T00:00:00"),
        ("effective_until", "2025-01-01T00:00:00Z"),
        ("supersedes", "mini"),
        ("entrypoints", {"violations": "iesfix.mini.violations"}),
        ("revision", -1),
        ("colour", "blue"),
    ],
)
def test_invalid_manifests_are_refused(tmp_path: Path, field: str, value: object) -> None:
    """Semver, time zones, the effective window, supersedes, rule paths and unknown fields."""
    pack = copy_pack(tmp_path)
    edit_manifest(pack, **{field: value})
    with pytest.raises(PolicyError) as error:
        PolicyPack.load(pack)
    assert code_of(error) == "POL_PACK_INVALID"


def test_effective_window() -> None:
    """A pack is effective from its effective_from (with its time zone) onwards."""
    pack = PolicyPack.load(MINI)
    assert not pack.is_effective(datetime(2025, 12, 31, 18, 0, tzinfo=UTC))
    assert pack.is_effective(datetime(2025, 12, 31, 18, 30, tzinfo=UTC))


def test_signed_pack_verifies_with_a_trusted_key(tmp_path: Path) -> None:
    """sign() writes signature.json over the pack digest; a trusted key verifies it."""
    private, public = generate_signing_key()
    pack = copy_pack(tmp_path)
    doc = sign(pack, private, "ci-2026")
    assert doc["digest"] == pack_digest(PolicyPack.load(MINI).files)
    loaded = PolicyPack.load(pack, trusted_keys={"ci-2026": public}, require_signature=True)
    assert loaded.signed_by == "ci-2026"
    assert sign(pack, private, "ci-2026") == doc  # re-signing ignores the old signature


@pytest.mark.parametrize("keys", ["trusted", "none"])
def test_tampered_module_of_a_signed_pack_fails_the_signature(tmp_path: Path, keys: str) -> None:
    """Changing a module after signing is caught, with or without trusted keys configured."""
    private, public = generate_signing_key()
    pack = copy_pack(tmp_path)
    sign(pack, private, "ci")
    rego = pack / "policy" / "limits.rego"
    rego.write_text(rego.read_text().replace("<", ">"))
    with pytest.raises(PolicyError) as error:
        PolicyPack.load(pack, trusted_keys={"ci": public} if keys == "trusted" else None)
    assert code_of(error) == "POL_PACK_SIGNATURE"


def test_unsigned_pack_is_refused_when_a_signature_is_required() -> None:
    """require_signature refuses a pack without signature.json."""
    with pytest.raises(PolicyError, match="unsigned") as error:
        PolicyPack.load(MINI, trusted_keys={}, require_signature=True)
    assert code_of(error) == "POL_PACK_SIGNATURE"


def test_unknown_or_wrong_key_is_refused(tmp_path: Path) -> None:
    """A key id not trusted, or a trusted id with another public key, fails the signature."""
    private, _ = generate_signing_key()
    other = generate_signing_key()[1]
    pack = copy_pack(tmp_path)
    sign(pack, private, "ci")
    with pytest.raises(PolicyError, match="unknown key"):
        PolicyPack.load(pack, trusted_keys={"someone-else": other})
    with pytest.raises(PolicyError, match="does not verify") as error:
        PolicyPack.load(pack, trusted_keys={"ci": other})
    assert code_of(error) == "POL_PACK_SIGNATURE"


def test_run_tests_reports_each_test(tmp_path: Path) -> None:
    """Every test_* rule runs; a false one is reported as failed."""
    assert PolicyPack.load(MINI).run_tests().passed
    pack = copy_pack(tmp_path)
    (pack / "tests" / "extra_test.rego").write_text(FAILING_TEST)
    report: TestReport = PolicyPack.load(pack).run_tests()
    assert not report.passed
    assert [r.name for r in report.failures] == ["iesfix.mini_extra_test.test_medium_denied"]
    assert len(report.results) == 3


def test_whole_input_with_in_a_test_is_refused_not_crashing(tmp_path: Path) -> None:
    """``with input as`` (which aborts regopy 1.5.2) is refused before the engine sees it."""
    pack = copy_pack(tmp_path)
    (pack / "tests" / "extra_test.rego").write_text(
        FAILING_TEST.replace("with input.message.quantity as 5", "with input as {}")
    )
    with pytest.raises(PolicyError, match="with input as") as error:
        PolicyPack.load(pack).run_tests()
    assert code_of(error) == "POL_COMPILE"


def test_install_refuses_bad_packs_and_keeps_the_previous_one(tmp_path: Path) -> None:
    """A v0 module, a failing Rego test or a bad checksum never replace the active pack."""
    registry = PackRegistry(default="mini")
    good = registry.install(MINI)
    v0 = new_revision(tmp_path, "v0", 2, 1)
    (v0 / "policy" / "old.rego").write_text("package iesfix.old\n\nallow {\n\ttrue\n}\n")
    failing = new_revision(tmp_path, "failing", 3, 1)
    (failing / "tests" / "extra_test.rego").write_text(FAILING_TEST)
    tampered = new_revision(tmp_path, "tampered", 4, 1)
    (tampered / "intent.md").write_text("changed")
    expected = {v0: "POL_V0_SYNTAX", failing: "POL_PACK_INVALID", tampered: "POL_PACK_CHECKSUM"}
    for path, code in expected.items():
        with pytest.raises(PolicyError) as error:
            registry.install(path)
        assert code_of(error) == code
        assert registry.for_network("any") is good
    assert dict(registry.active()) == {"mini": good}


def test_hot_swap_takes_effect_for_the_next_evaluation(tmp_path: Path) -> None:
    """Installing revision 2 (minimum 10 kWh) changes the next decision; routing follows."""
    registry = PackRegistry(networks={"p2p.example": "mini"})
    assert registry.for_network("p2p.example") is None
    registry.install(MINI)
    assert registry.for_network("other") is None  # no default configured
    assert not denied(registry.for_network("p2p.example") or PolicyPack.load(MINI), MEDIUM)
    second = registry.install(new_revision(tmp_path, "rev2", 2, 10))
    current = registry.for_network("p2p.example")
    assert current is second
    assert (current.revision, denied(current, MEDIUM)) == (2, True)
    registry.set_default("mini")
    assert registry.for_network("other") is second


def test_older_revision_is_refused_and_reinstall_is_a_no_op(tmp_path: Path) -> None:
    """The revision must grow; installing the active content again changes nothing."""
    registry = PackRegistry()
    second = registry.install(new_revision(tmp_path, "rev2", 2, 10))
    with pytest.raises(PolicyError, match="not newer") as error:
        registry.install(MINI)
    assert code_of(error) == "POL_PACK_INVALID"
    assert registry.install(tmp_path / "rev2") is second
    assert registry.get("mini") is second


def test_install_requires_a_trusted_signature_when_configured(tmp_path: Path) -> None:
    """A registry that requires signatures installs only packs signed by a trusted key."""
    private, public = generate_signing_key()
    registry = PackRegistry(trusted_keys={"ci": public}, require_signature=True)
    with pytest.raises(PolicyError, match="unsigned"):
        registry.install(MINI)
    pack = copy_pack(tmp_path)
    sign(pack, private, "ci")
    assert registry.install(pack).signed_by == "ci"


def test_readers_see_one_revision_or_the_other_during_a_swap(tmp_path: Path) -> None:
    """Evaluations racing an install see revision 1 or 2, each with its own decision."""
    registry = PackRegistry(default="mini")
    registry.install(MINI)
    rev2 = new_revision(tmp_path, "rev2", 2, 10)
    seen: set[tuple[int, bool]] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            pack = registry.for_network("n")
            assert pack is not None
            seen.add((pack.revision, denied(pack, MEDIUM)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        registry.install(rev2)
        while (2, True) not in seen and reader.is_alive():
            stop.wait(0.001)
    finally:
        stop.set()
        reader.join()
    assert seen <= {(1, False), (2, True)}


def test_pack_digest_is_the_listing_hash() -> None:
    """The digest is SHA-256 over sorted "<sha256>  <path>" lines, without signature.json."""
    files = {"b.txt": b"b", "a.txt": b"a", "signature.json": b"{}"}
    listing = "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in ["a.txt", "b.txt"])
    assert pack_digest(files) == hashlib.sha256(listing.encode()).hexdigest()
