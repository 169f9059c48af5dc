"""The ``grid`` directory commands as a user runs them, against two gateways.

Every scenario runs against our own grid (real ``grid`` processes) and
against a real Tahoe-LAFS 1.20 client node on a Tahoe grid (the reference
web API; those cases are also marked ``interop``). The ``grid`` command is
always ours, pointed at the client's node directory (its ``node.url`` and
``private/aliases``).
"""

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.client_settings import ClientSettings
from tests.interop.grids import start_storage_grid
from tests.interop.tahoe_client import start_tahoe_client
from tests.interop.tahoe_env import cache_root, ensure_tahoe_env
from tests.interop.tahoe_nodes import NodeSupervisor
from tests.system.grid_processes import GRID, start_grid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["ours", pytest.param("tahoe", marks=pytest.mark.interop)])
def client_dir(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A running client node's directory with a ``tahoe:`` alias made by ``grid create-alias``."""
    supervisor = NodeSupervisor()
    base = tmp_path_factory.mktemp(request.param)
    try:
        if request.param == "ours":
            node_dir = start_grid(supervisor, base, storage_nodes=3, happy=3).client_dir
        else:
            env = ensure_tahoe_env(cache_root(os.environ))
            storage = start_storage_grid(
                supervisor,
                base,
                env.tahoe,
                [(env.tahoe, f"tahoe-storage-{index}") for index in range(3)],
                introducer_web=False,
            )
            node_dir = start_tahoe_client(
                supervisor,
                env,
                base / "client",
                ClientSettings(needed=2, happy=3, total=3),
                introducer_furl=storage.introducer.furl,
                server_ids=storage.server_ids,
            ).node.node_dir
        created = cli(node_dir, "create-alias", "tahoe")
        assert created.returncode == 0, created.stderr
        yield node_dir
    finally:
        supervisor.stop_all()


def cli(
    node_dir: Path, *argv: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``grid -d NODE_DIR ARGV...`` as a user would."""
    return subprocess.run(  # noqa: S603  our own console script
        [str(GRID), "-d", str(node_dir), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=environment,
    )


def ok(node_dir: Path, *argv: str) -> str:
    """Run a command that must succeed; return its stdout."""
    result = cli(node_dir, *argv)
    assert result.returncode == 0, f"grid {' '.join(argv)}: {result.stderr}"
    return result.stdout


def make_tree(root: Path, files: int, *, per_directory: int = 10) -> None:
    """A local tree of ``files`` files of assorted sizes in nested directories, one empty."""
    root.mkdir(parents=True)
    (root / "empty").mkdir()
    for index in range(files):
        directory = root / f"d{index // per_directory}" / f"e{index % 3}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{index}.bin").write_bytes(os.urandom(index * 37 % 3000))


def assert_same_tree(left: Path, right: Path) -> None:
    """Both trees hold the same directories and byte-identical files."""
    left_entries = sorted(path.relative_to(left) for path in left.rglob("*"))
    right_entries = sorted(path.relative_to(right) for path in right.rglob("*"))
    assert left_entries == right_entries
    for relative in left_entries:
        if (left / relative).is_file():
            assert (left / relative).read_bytes() == (right / relative).read_bytes(), relative


def test_aliases_file_is_tahoes_format(client_dir: Path) -> None:
    """create-alias wrote 'tahoe: URI:DIR2:...'; list-aliases shows it, also as JSON."""
    lines = (client_dir / "private" / "aliases").read_text().splitlines()
    assert lines[0].startswith("tahoe: URI:DIR2:")
    cap = lines[0].split(": ", 1)[1]
    assert ok(client_dir, "list-aliases").split() == ["tahoe:", cap]
    document = json.loads(ok(client_dir, "list-aliases", "--json"))
    assert document["tahoe"]["readwrite"] == cap
    assert document["tahoe"]["readonly"].startswith("URI:DIR2-RO:")


def test_mkdir_put_get_ls(client_dir: Path, tmp_path: Path) -> None:
    """A put to a path creates the directories on the way; get and ls find it there."""
    data = os.urandom(5000)
    (tmp_path / "in").write_bytes(data)
    dircap = ok(client_dir, "mkdir", "tahoe:basic").strip()
    assert dircap.startswith("URI:DIR2:")
    cap = ok(client_dir, "put", str(tmp_path / "in"), "tahoe:basic/sub/file.bin").strip()
    assert cap.startswith("URI:CHK:")
    assert ok(client_dir, "get", "basic/sub/file.bin", str(tmp_path / "out")) == ""
    assert (tmp_path / "out").read_bytes() == data
    assert ok(client_dir, "ls", "tahoe:basic").split() == ["sub"]
    assert ok(client_dir, "ls", "-F", "basic").split() == ["sub/"]
    assert ok(client_dir, "ls", "--uri", "basic/sub").split() == ["file.bin", cap]
    long_line = ok(client_dir, "ls", "-l", "basic/sub").split()
    assert long_line[:2] == ["-r--", "5000"]
    assert long_line[-1] == "file.bin"
    kind, details = json.loads(ok(client_dir, "ls", "--json", "basic/sub/file.bin"))
    assert kind == "filenode"
    assert details["ro_uri"] == cap
    ok(client_dir, "get", f"{dircap}/sub/file.bin", str(tmp_path / "by-cap"))
    assert (tmp_path / "by-cap").read_bytes() == data


def test_cp_tree_in_and_back_out(client_dir: Path, tmp_path: Path) -> None:
    """A cp -r of a local tree into the grid and back out gives the same bytes and layout."""
    make_tree(tmp_path / "tree", 40)
    ok(client_dir, "cp", "-r", str(tmp_path / "tree"), "tahoe:copies")
    assert "tree" in ok(client_dir, "ls", "copies").split()
    ok(client_dir, "cp", "-r", "tahoe:copies/tree", str(tmp_path / "back"))
    assert_same_tree(tmp_path / "tree", tmp_path / "back" / "tree")
    ok(client_dir, "cp", "-r", "tahoe:copies", "tahoe:copies-again")
    ok(client_dir, "cp", "-r", "tahoe:copies-again/copies/tree", str(tmp_path / "again"))
    assert_same_tree(tmp_path / "tree", tmp_path / "again" / "tree")


def test_cp_single_files_both_ways(client_dir: Path, tmp_path: Path) -> None:
    """A file to a new grid name, to an existing directory, and back to a local directory."""
    (tmp_path / "one.txt").write_bytes(b"one" * 100)
    ok(client_dir, "mkdir", "tahoe:files")
    ok(client_dir, "cp", str(tmp_path / "one.txt"), "tahoe:files/renamed.txt")
    ok(client_dir, "cp", str(tmp_path / "one.txt"), "tahoe:files")
    assert ok(client_dir, "ls", "files").split() == ["one.txt", "renamed.txt"]
    (tmp_path / "down").mkdir()
    ok(client_dir, "cp", "tahoe:files/renamed.txt", "tahoe:files/one.txt", str(tmp_path / "down"))
    assert sorted(path.name for path in (tmp_path / "down").iterdir()) == [
        "one.txt",
        "renamed.txt",
    ]
    assert (tmp_path / "down" / "renamed.txt").read_bytes() == b"one" * 100


def test_mv_ln_unlink_rm(client_dir: Path, tmp_path: Path) -> None:
    """Here mv renames and moves into directories; ln adds a link; unlink and rm remove names."""
    (tmp_path / "f").write_bytes(b"moving" * 50)
    ok(client_dir, "put", str(tmp_path / "f"), "tahoe:moves/a")
    ok(client_dir, "mkdir", "tahoe:moves/dir")
    assert ok(client_dir, "mv", "moves/a", "moves/b").strip() == "OK"
    ok(client_dir, "mv", "tahoe:moves/b", "tahoe:moves/dir")
    assert ok(client_dir, "ls", "moves/dir").split() == ["b"]
    ok(client_dir, "ln", "moves/dir/b", "moves/c")
    assert ok(client_dir, "ls", "moves").split() == ["c", "dir"]
    ok(client_dir, "unlink", "moves/c")
    ok(client_dir, "rm", "moves/dir/b")
    assert ok(client_dir, "ls", "moves").split() == ["dir"]
    assert ok(client_dir, "ls", "moves/dir") == ""


def test_backup_twice_uploads_nothing_the_second_time(client_dir: Path, tmp_path: Path) -> None:
    """The second backup of an unchanged tree reuses every file and directory."""
    make_tree(tmp_path / "home", 12)
    (tmp_path / "home" / "skip.tmp").write_bytes(b"excluded")
    first = ok(client_dir, "backup", "--exclude", "*.tmp", str(tmp_path / "home"), "tahoe:bk")
    assert first.startswith("12 files uploaded (0 reused)")
    second = ok(client_dir, "backup", "-v", "--exclude", "*.tmp", str(tmp_path / "home"), "bk")
    assert "0 files uploaded (12 reused)" in second
    assert "0 directories created" in second
    assert "uploading" not in second
    assert len(ok(client_dir, "ls", "bk/Archives").split()) >= 1
    ok(client_dir, "cp", "-r", "tahoe:bk/Latest", str(tmp_path / "restored"))
    (tmp_path / "home" / "skip.tmp").unlink()
    assert_same_tree(tmp_path / "home", tmp_path / "restored" / "Latest")


def test_manifest_and_stats(client_dir: Path, tmp_path: Path) -> None:
    """The manifest lists every object with its path; stats counts them."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "big").write_bytes(os.urandom(3000))
    (tmp_path / "m" / "small").write_bytes(b"tiny")
    ok(client_dir, "cp", "-r", str(tmp_path / "m"), "tahoe:manifested")
    lines = ok(client_dir, "manifest", "manifested/m").splitlines()
    assert sorted(line.split(" ")[-1] for line in lines[1:]) == ["big", "small"]
    assert lines[0].startswith("URI:DIR2:")
    assert len(ok(client_dir, "manifest", "--storage-index", "manifested/m").split()) == 2
    pairs = (line.split(": ") for line in ok(client_dir, "stats", "manifested/m").splitlines())
    stats = {pair[0].strip(): pair[1].strip() for pair in pairs if len(pair) == 2}
    assert stats["count-files"] == "2"
    assert stats["count-literal-files"] == "1"
    assert json.loads(ok(client_dir, "stats", "--raw", "manifested/m"))["count-directories"] == 1


def test_webopen_prints_the_url_without_a_browser(client_dir: Path) -> None:
    """With no usable browser, webopen prints the page's URL."""
    environment = {**os.environ, "BROWSER": str(client_dir / "no-such-browser")}
    result = cli(client_dir, "webopen", "tahoe:", environment=environment)
    assert result.returncode == 0, result.stderr
    url = (client_dir / "node.url").read_text().strip().rstrip("/")
    assert result.stdout.startswith(url + "/uri/URI%3ADIR2%3A")


def test_dir_cap_stands_in_for_the_tahoe_alias(client_dir: Path, tmp_path: Path) -> None:
    """--dir-cap makes 'tahoe:' (and alias-less paths) mean that directory, for one command."""
    other = ok(client_dir, "mkdir").strip()
    (tmp_path / "note").write_bytes(b"kept under another root")
    ok(client_dir, "put", "--dir-cap", other, str(tmp_path / "note"), "tahoe:note.txt")
    assert ok(client_dir, "ls", "--dir-cap", other).split() == ["note.txt"]
    assert ok(client_dir, "ls", "--dir-cap", other, "tahoe:").split() == ["note.txt"]
    assert "note.txt" not in ok(client_dir, "ls").split()
    assert ok(client_dir, "get", "--dir-cap", other, "note.txt", "-") == "kept under another root"


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "--dir-cap", "URI:CHK:not-a-directory"],
        ["get", "tahoe:no/such/file"],
        ["ls", "tahoe:nothing-here"],
        ["cp", "/no/such/local/file", "tahoe:x"],
        ["unlink", "tahoe:"],
        ["mv", "tahoe:absent", "tahoe:elsewhere"],
        ["ls", "unknown-alias:"],
    ],
)
def test_failures_are_one_line(client_dir: Path, argv: list[str]) -> None:
    """Missing things, roots and unknown aliases: one line on stderr, status 1."""
    result = cli(client_dir, *argv)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_cp_directory_without_recursive_is_refused(client_dir: Path, tmp_path: Path) -> None:
    """A directory source without -r: one line, nothing copied."""
    (tmp_path / "d").mkdir()
    result = cli(client_dir, "cp", str(tmp_path / "d"), "tahoe:norec")
    assert result.returncode == 1
    assert "-r" in result.stderr
    assert cli(client_dir, "ls", "norec").returncode == 1


def test_cp_a_thousand_files_and_back(client_dir: Path, tmp_path: Path) -> None:
    """A cp -r of 1,000 files in nested directories and back is byte for byte the same."""
    make_tree(tmp_path / "many", 1000, per_directory=100)
    ok(client_dir, "-q", "cp", "-r", str(tmp_path / "many"), "tahoe:many")
    ok(client_dir, "-q", "cp", "-r", "tahoe:many/many", str(tmp_path / "out"))
    assert_same_tree(tmp_path / "many", tmp_path / "out" / "many")
