import json

import pytest

from grid.base32 import a2b, b2a
from grid.caps import (
    CHKReadCap,
    CHKVerifyCap,
    DirectoryCap,
    LiteralCap,
    MutableFormat,
    MutableReadCap,
    MutableVerifyCap,
    MutableWriteCap,
    parse_cap,
)
from grid.hashing import uri_extension_hash
from tests.vectors import TAHOE_SHARES_DIR

CHK_TEXT = (
    "URI:CHK:aeaqcaibaeaqcaibaeaqcaibae:"
    "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa:3:10:1234"
)
CHK_VERIFY_TEXT = (
    "URI:CHK-Verifier:xdjlalot2gbbkllavjv26e4xwm:"
    "nf3nimquen7aeqm36ekgxomalstenpkvsdmf6fplj7swdatbv5oa:3:10:1234"
)
REAL_CHK_TEXT = (
    "URI:CHK:g4i6qkk7mlj4vkl5ncg6dwo73i:"
    "qcas2ebousfk3q5rkl2ncayeku52kpyse76v5yeel2t2eaa4f6ha:3:10:310"
)
REAL_SSK_TEXT = (
    "URI:SSK:vfvcbdfbszyrsaxchgevhmmlii:euw4iw7bbnkrrwpzuburbhppuxhc3gwxv26f6imekhz7zyw2ojnq"
)
SDMF_FINGERPRINT = "hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq"
MDMF_FINGERPRINT = "wcqgst36kymoirczlkok5pqdekt5lgsyfw3oh7ecoro3rj5aiyya"

# tahoe-vectors.md §6: (write cap, RO cap, verify cap, directory form, readkey, SI)
MUTABLE_SAMPLES = [
    (
        f"URI:SSK:fs6ul2fju2fvb2cfx7gt6ngycm:{SDMF_FINGERPRINT}",
        f"URI:SSK-RO:65ruo2zytr3uxnaxkptdoqkth4:{SDMF_FINGERPRINT}",
        f"URI:SSK-Verifier:axxzm642zi4vozwfjdijoafbrm:{SDMF_FINGERPRINT}",
        f"URI:DIR2:fs6ul2fju2fvb2cfx7gt6ngycm:{SDMF_FINGERPRINT}",
        "65ruo2zytr3uxnaxkptdoqkth4",
        "axxzm642zi4vozwfjdijoafbrm",
    ),
    (
        f"URI:MDMF:tn2ekpkmearz7k3bivm3ikuz3i:{MDMF_FINGERPRINT}",
        f"URI:MDMF-RO:ttnh3ep5nzw4caqoalpk65peba:{MDMF_FINGERPRINT}",
        f"URI:MDMF-Verifier:ehx7n7d4rpyqiayoha5ym4ae4u:{MDMF_FINGERPRINT}",
        f"URI:DIR2-MDMF:tn2ekpkmearz7k3bivm3ikuz3i:{MDMF_FINGERPRINT}",
        "ttnh3ep5nzw4caqoalpk65peba",
        "ehx7n7d4rpyqiayoha5ym4ae4u",
    ),
]


def _manifest_files() -> list[dict[str, object]]:
    """The file entries of the real Tahoe 1.20 share samples' manifest."""
    manifest = json.loads((TAHOE_SHARES_DIR / "MANIFEST.json").read_text())
    files: list[dict[str, object]] = manifest["files"]
    return files


def test_chk_cap_from_fixed_inputs() -> None:
    """The CHK cap built from Tahoe's test_uri inputs has Tahoe's text."""
    cap = CHKReadCap(
        key=b"\x01" * 16,
        uri_extension_hash=uri_extension_hash(b"stuff"),
        needed_shares=3,
        total_shares=10,
        size=1234,
    )
    assert cap.to_string() == CHK_TEXT
    assert parse_cap(CHK_TEXT) == cap


def test_chk_cap_storage_index_and_verify_cap() -> None:
    """The §3 CHK cap derives the known storage index and verify cap."""
    cap = parse_cap(CHK_TEXT)
    assert b2a(cap.storage_index or b"") == "xdjlalot2gbbkllavjv26e4xwm"
    verify_cap = cap.verify_cap()
    assert isinstance(verify_cap, CHKVerifyCap)
    assert verify_cap.to_string() == CHK_VERIFY_TEXT
    assert parse_cap(CHK_VERIFY_TEXT) == verify_cap
    assert verify_cap.storage_index == cap.storage_index
    assert cap.read_only() is cap


def test_literal_directory_cap_of_data() -> None:
    """``URI:DIR2-LIT:mrqxiyi`` is the literal directory holding b"data"."""
    cap = parse_cap("URI:DIR2-LIT:mrqxiyi")
    assert cap == DirectoryCap(LiteralCap(b"data"))
    assert DirectoryCap(LiteralCap(b"data")).to_string() == "URI:DIR2-LIT:mrqxiyi"
    assert cap.storage_index is None
    assert cap.verify_cap() is None


@pytest.mark.parametrize(("text", "data"), [("URI:LIT:", b""), ("URI:LIT:nbswy3dp", b"hello")])
def test_literal_file_caps(text: str, data: bytes) -> None:
    """The empty-file and "hello" LIT caps parse to their data and back."""
    cap = parse_cap(text)
    assert cap == LiteralCap(data)
    assert isinstance(cap, LiteralCap)
    assert cap.size == len(data)
    assert cap.to_string() == text
    assert cap.storage_index is None
    assert cap.verify_cap() is None


@pytest.mark.parametrize(
    ("write_text", "read_text", "verify_text", "directory_text", "readkey", "storage_index"),
    MUTABLE_SAMPLES,
)
def test_mutable_derivations(
    write_text: str,
    read_text: str,
    verify_text: str,
    directory_text: str,
    readkey: str,
    storage_index: str,
) -> None:
    """An SSK/MDMF write cap derives §6's RO cap, verify cap, directory form and SI."""
    write_cap = parse_cap(write_text)
    assert isinstance(write_cap, MutableWriteCap)
    assert b2a(write_cap.readkey) == readkey
    assert b2a(write_cap.storage_index) == storage_index
    assert write_cap.read_only().to_string() == read_text
    assert write_cap.verify_cap().to_string() == verify_text
    assert DirectoryCap(write_cap).to_string() == directory_text
    read_cap = parse_cap(read_text)
    assert read_cap == write_cap.read_only()
    assert read_cap.storage_index == write_cap.storage_index
    assert read_cap.verify_cap() == write_cap.verify_cap() == parse_cap(verify_text)


@pytest.mark.parametrize(
    ("write_text", "read_text", "verify_text", "directory_text", "storage_index"),
    [
        (write, read, verify, directory, si)
        for write, read, verify, directory, _, si in MUTABLE_SAMPLES
    ],
)
def test_mutable_directory_derivations(
    write_text: str, read_text: str, verify_text: str, directory_text: str, storage_index: str
) -> None:
    """A mutable directory cap derives the directory forms of the file's RO and verify caps."""
    directory = parse_cap(directory_text)
    assert isinstance(directory, DirectoryCap)
    assert directory.file_cap == parse_cap(write_text)
    assert b2a(directory.storage_index or b"") == storage_index
    read_only = directory.read_only()
    assert read_only == DirectoryCap(parse_cap(read_text))
    assert read_only.to_string() == read_text.replace("URI:SSK-RO:", "URI:DIR2-RO:").replace(
        "URI:MDMF-RO:", "URI:DIR2-MDMF-RO:"
    )
    verify_cap = directory.verify_cap()
    assert verify_cap is not None
    assert verify_cap.to_string() == verify_text.replace(
        "URI:SSK-Verifier:", "URI:DIR2-Verifier:"
    ).replace("URI:MDMF-Verifier:", "URI:DIR2-MDMF-Verifier:")


@pytest.mark.parametrize(
    ("text", "kind", "size"),
    [
        (REAL_CHK_TEXT, "CHK", 310),
        (REAL_SSK_TEXT, "SSK", None),
    ],
)
def test_real_share_caps(text: str, kind: str, size: int | None) -> None:
    """The §11 caps of Tahoe 1.2.0's on-disk shares parse, round-trip and derive."""
    cap = parse_cap(text)
    assert cap.kind == kind
    assert cap.to_string() == text
    verify_cap = cap.verify_cap()
    assert verify_cap is not None
    assert parse_cap(verify_cap.to_string()) == verify_cap
    assert verify_cap.storage_index == cap.storage_index
    if size is not None:
        assert isinstance(cap, CHKReadCap)
        assert (cap.needed_shares, cap.total_shares, cap.size) == (3, 10, size)


@pytest.mark.parametrize("entry", _manifest_files(), ids=lambda entry: str(entry["kind"]))
def test_tahoe_120_manifest_caps(entry: dict[str, object]) -> None:
    """The caps Tahoe 1.20 wrote for the share samples derive from each other exactly."""
    read_cap = parse_cap(str(entry["read_cap"]))
    verify_cap = parse_cap(str(entry["verify_cap"]))
    assert read_cap.verify_cap() == verify_cap
    assert b2a(read_cap.storage_index or b"") == entry["storage_index_b32"]
    assert verify_cap.storage_index == read_cap.storage_index
    if entry["write_cap"] is None:
        assert isinstance(read_cap, CHKReadCap)
        assert b2a(read_cap.key) == entry["encryption_key_b32"]
        assert (read_cap.needed_shares, read_cap.total_shares, read_cap.size) == (
            entry["k"],
            entry["N"],
            entry["data_length"],
        )
        return
    write_cap = parse_cap(str(entry["write_cap"]))
    assert isinstance(write_cap, MutableWriteCap)
    assert isinstance(read_cap, MutableReadCap)
    assert isinstance(verify_cap, MutableVerifyCap)
    expected_format = MutableFormat.MDMF if entry["kind"] == "MDMF" else MutableFormat.SDMF
    assert write_cap.format is expected_format
    assert b2a(write_cap.writekey) == entry["writekey_b32"]
    assert write_cap.readkey == a2b(str(entry["readkey_b32"]))
    assert write_cap.read_only() == read_cap
    assert write_cap.verify_cap() == verify_cap
