import json
from pathlib import Path

import pytest

from grid.base32 import b2a
from grid.chk_plan import ChkPlan
from grid.cli.main import main
from grid.formats.immutable_container import parse_container
from tests.chk_samples import (
    chk_vectors,
    encode_convergent,
    manifest,
    sample_plaintext,
    vector_inputs,
)
from tests.vectors import TAHOE_SHARES_DIR

CHK_VECTORS = list(chk_vectors())


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the grid command in-process; return (status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _vector_file(tmp_path: Path, entry: dict[str, object]) -> tuple[Path, str]:
    plaintext, secret, _ = vector_inputs(entry)  # type: ignore[arg-type]
    path = tmp_path / "input"
    path.write_bytes(plaintext)
    return path, b2a(secret)


@pytest.mark.slow
@pytest.mark.parametrize("entry", CHK_VECTORS, ids=lambda entry: entry["expected"][-24:])
def test_encode_chk_prints_tahoes_cap_for_every_vector(
    entry: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The encode-chk command prints Tahoe's exact cap for every CHK vector."""
    path, secret = _vector_file(tmp_path, entry)
    zfec = entry["zfec"]
    assert isinstance(zfec, dict)
    status, out, err = run_cli(
        capsys,
        "debug",
        "encode-chk",
        "--convergence-secret",
        secret,
        "--needed",
        str(zfec["required"]),
        "--total",
        str(zfec["total"]),
        "--max-segment-size",
        "131072",
        str(path),
    )
    assert (status, err) == (0, "")
    assert out == f"{entry['expected']}\n"


def test_encode_chk_writes_tahoes_share_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--shares-dir writes share bodies identical to the shares Tahoe 1.20 stored."""
    entry = next(item for item in manifest()["files"] if item["kind"] == "CHK")
    source = tmp_path / "sample"
    source.write_bytes(sample_plaintext(b"chk-sample", entry["plaintext"]["length"]))
    status, out, _ = run_cli(
        capsys,
        "debug",
        "encode-chk",
        "--convergence-secret",
        b2a(b"\x42" * 16),
        "--needed=3",
        "--total=5",
        "--max-segment-size=131072",
        "--shares-dir",
        str(tmp_path / "shares"),
        str(source),
    )
    assert status == 0
    assert out.strip() == entry["read_cap"]
    for shnum in range(5):
        stored = (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()
        assert (tmp_path / "shares" / str(shnum)).read_bytes() == parse_container(stored).share_data


def test_encode_chk_fixed_and_random_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--key uses the given key; --random-key gives a different cap each time."""
    source = tmp_path / "data"
    source.write_bytes(b"q" * 1000)
    key = b"\x09" * 16
    plan = ChkPlan(size=1000, needed=3, total=10)
    status, out, _ = run_cli(capsys, "debug", "encode-chk", "--key", b2a(key), str(source))
    assert status == 0
    assert out.startswith(f"URI:CHK:{b2a(key)}:")
    assert out.endswith(":3:10:1000\n")
    caps = {
        run_cli(capsys, "debug", "encode-chk", "--random-key", str(source))[1] for _ in range(2)
    }
    assert len(caps) == 2
    _, convergent_hash, _ = encode_convergent(b"q" * 1000, b"", plan)
    status, out, _ = run_cli(capsys, "debug", "encode-chk", "--convergence-secret", "", str(source))
    assert out.split(":")[3] == b2a(convergent_hash)


def test_encode_chk_small_files_are_literal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files of 55 bytes or less print a LIT cap; 56 bytes is CHK."""
    source = tmp_path / "small"
    source.write_bytes(b"hello")
    assert run_cli(capsys, "debug", "encode-chk", "--random-key", str(source))[1] == (
        "URI:LIT:nbswy3dp\n"
    )
    source.write_bytes(b"")
    assert run_cli(capsys, "debug", "encode-chk", "--random-key", str(source))[1] == "URI:LIT:\n"
    source.write_bytes(b"x" * 56)
    assert run_cli(capsys, "debug", "encode-chk", "--random-key", str(source))[1].startswith(
        "URI:CHK:"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["debug", "encode-chk", "FILE"],
        ["debug", "encode-chk", "--key", "xyz", "FILE"],
        ["debug", "encode-chk", "--key", b2a(b"short"), "FILE"],
        ["debug", "encode-chk", "--random-key", "--key", b2a(b"k" * 16), "FILE"],
        ["debug", "encode-chk", "--random-key", "--needed", "4", "--total", "3", "FILE"],
        ["debug", "encode-chk", "--random-key", "--total", "257", "FILE"],
        ["debug", "encode-chk", "--random-key", "--max-segment-size", "0", "FILE"],
        ["debug", "encode-chk", "--random-key", "--needed", "many", "FILE"],
        ["debug", "encode-chk", "--convergence-secret", "NOT-BASE32", "FILE"],
        ["debug", "dump-cap", "URI:CHK:garbage"],
        ["debug", "dump-cap", "hello"],
        ["debug", "no-such-command"],
        [],
    ],
)
def test_bad_arguments_give_one_line_and_status_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bad command line is one line on stderr and exit status 2."""
    source = tmp_path / "input"
    source.write_bytes(b"z" * 100)
    status, out, err = run_cli(capsys, *(str(source) if arg == "FILE" else arg for arg in argv))
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("grid")


def test_missing_file_is_one_line_and_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that cannot be read is reported in one line with exit status 1."""
    status, out, err = run_cli(
        capsys, "debug", "encode-chk", "--random-key", str(tmp_path / "missing")
    )
    assert (status, out) == (1, "")
    assert err.count("\n") == 1


def test_dump_cap_json_for_a_mutable_write_cap(capsys: pytest.CaptureFixture[str]) -> None:
    """dump-cap --json gives the kind, storage index and derived caps of an SSK cap."""
    status, out, _ = run_cli(
        capsys,
        "debug",
        "dump-cap",
        "--json",
        "URI:SSK:fs6ul2fju2fvb2cfx7gt6ngycm:hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq",
    )
    assert status == 0
    facts = json.loads(out)
    assert facts["kind"] == "SSK"
    assert facts["storage_index"] == "axxzm642zi4vozwfjdijoafbrm"
    assert facts["read_only_cap"] == (
        "URI:SSK-RO:65ruo2zytr3uxnaxkptdoqkth4:hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq"
    )
    assert facts["verify_cap"] == (
        "URI:SSK-Verifier:axxzm642zi4vozwfjdijoafbrm:"
        "hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq"
    )


def test_dump_cap_text_for_a_chk_cap(capsys: pytest.CaptureFixture[str]) -> None:
    """dump-cap prints k, N, size, storage index and the verify cap of a CHK cap."""
    cap = (
        "URI:CHK:aeaqcaibaeaqcaibaeaqcaibae:"
        "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa:3:10:1234"
    )
    status, out, _ = run_cli(capsys, "debug", "dump-cap", cap)
    assert status == 0
    lines = out.splitlines()
    assert "kind: CHK" in lines
    assert "storage index: xdjlalot2gbbkllavjv26e4xwm" in lines
    assert "needed shares: 3" in lines
    assert "total shares: 10" in lines
    assert "size: 1234" in lines
    assert f"read only cap: {cap}" in lines
    assert (
        "verify cap: URI:CHK-Verifier:xdjlalot2gbbkllavjv26e4xwm:"
        "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa:3:10:1234"
    ) in lines


@pytest.mark.parametrize("kind", ["chk", "sdmf", "mdmf"])
def test_dump_share_from_a_storage_directory(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dump-share of a real Tahoe share placed in a storage tree prints its verify cap."""
    entry = next(item for item in manifest()["files"] if item["kind"].lower() == kind)
    place = tmp_path / "storage" / "shares" / entry["storage_dir"] / "0"
    place.parent.mkdir(parents=True)
    place.write_bytes((TAHOE_SHARES_DIR / kind / "share-0.bin").read_bytes())
    status, out, _ = run_cli(capsys, "debug", "dump-share", "--json", str(place))
    assert status == 0
    facts = json.loads(out)
    assert facts["verify_cap"] == entry["verify_cap"]
    assert "renew" not in out
    assert "cancel" not in out
    status, text, _ = run_cli(capsys, "debug", "dump-share", str(place))
    assert status == 0
    assert f"verify cap: {entry['verify_cap']}" in text.splitlines()


def test_dump_share_of_garbage_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not a share gives a one-line error and exit status 1."""
    bogus = tmp_path / "0"
    bogus.write_bytes(b"\x00\x00\x00\x07not a share at all")
    status, out, err = run_cli(capsys, "debug", "dump-share", str(bogus))
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
