"""Deep-check over real HTTP on an in-process grid of ten real storage servers.

The tree holds every kind of object (CHK, LIT, SDMF, MDMF files; SDMF and
MDMF directories) and a cycle (a directory linked into its own child).
Shares are lost (a CHK and an MDMF file) or corrupted (one block of a CHK
file) by changing the servers' share files on disk;
``t=start-deep-check`` and ``t=stream-deep-check`` must count what is wrong,
a deep-check with ``repair=true`` must repair it, and the next deep-check
must find everything healthy. ``t=check`` without ``output=JSON`` answers
the HTML page.
"""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import attrs
import pytest

from grid.base32 import b2a
from grid.caps import parse_cap
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from tests.integration.inprocess_grid import InProcessGrid, server_id
from tests.integration.web_grid import WebGrid, serving, url

pytestmark = pytest.mark.slow

POLL_LIMIT = 200_000
CONTAINER_HEADER_SIZE = 12
CHK_SIZE = 5000


@attrs.frozen
class Served:
    """The grid and the web API over it."""

    grid: InProcessGrid
    web: WebGrid


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The web API over ten real storage servers on loopback."""
    with serving(tmp_path_factory.mktemp("deep-check")) as (grid, web):
        yield Served(grid, web)


@attrs.frozen
class Tree:
    """A damaged tree: its root cap, and what was done to which file."""

    root: str
    caps: dict[str, str]
    corrupt_server: str
    corrupt_shnum: int


def _ok(answer: Any) -> str:
    assert answer.status in (200, 201), answer.text
    text: str = answer.text
    return text.strip()


def _storage_index(cap: str) -> bytes:
    index = parse_cap(cap).storage_index
    assert index is not None
    return index


def _remove_shares(grid: InProcessGrid, cap: str, count: int) -> None:
    """Delete the shares of ``count`` servers (the last in permuted order)."""
    index = _storage_index(cap)
    for server in grid.permuted_indexes(index)[-count:]:
        for path in grid.servers[server].share_paths(index).values():
            path.unlink()


def _corrupt_a_block(grid: InProcessGrid, cap: str) -> tuple[str, int]:
    """Flip one byte of the first block of the first share in permuted order."""
    index = _storage_index(cap)
    server = grid.permuted_indexes(index)[0]
    ((shnum, path),) = grid.servers[server].share_paths(index).items()
    original = path.read_bytes()
    layout = parse_share(parse_container(original).share_data).layout
    corrupted = bytearray(original)
    corrupted[CONTAINER_HEADER_SIZE + layout.data + 7] ^= 0x01
    path.write_bytes(bytes(corrupted))
    return server_id(server), shnum


def _damaged_tree(served: Served, label: bytes) -> Tree:
    """Every kind of object, a cycle, and three damaged files (see the module docstring).

    File contents start with ``label``: convergent encryption would otherwise
    make two trees share files (and their damage).
    """
    web = served.web
    root = _ok(web.request("POST", "/uri?t=mkdir"))
    caps = {"": root}
    for name, data, query in (
        ("chk.bin", label + b"c" * CHK_SIZE, {}),
        ("lit.txt", label + b"tiny", {}),
        ("sdmf", label + b"sdmf contents", {"format": "SDMF"}),
        ("mdmf", label + b"mdmf contents " * 100, {"format": "MDMF"}),
    ):
        caps[name] = _ok(web.request("PUT", url(root, name, **query), data))
    caps["sub"] = _ok(web.request("POST", url(root, "sub", t="mkdir", format="MDMF")))
    caps["sub/inner"] = _ok(web.request("POST", url(root, "sub", "inner", t="mkdir")))
    for name in ("lost.bin", "corrupt.bin"):
        data = label + name.encode() * CHK_SIZE
        caps[f"sub/{name}"] = _ok(web.request("PUT", url(root, "sub", name), data))
    _ok(web.request("PUT", url(root, "sub", "inner", "up", t="uri"), caps["sub"].encode()))
    _remove_shares(served.grid, caps["sub/lost.bin"], 3)
    _remove_shares(served.grid, caps["mdmf"], 2)
    corrupt_server, corrupt_shnum = _corrupt_a_block(served.grid, caps["sub/corrupt.bin"])
    return Tree(root, caps, corrupt_server, corrupt_shnum)


@pytest.fixture(scope="module")
def tree(served: Served) -> Tree:
    """A damaged tree that the tests below only check, never repair."""
    return _damaged_tree(served, b"checked")


def _poll(web: WebGrid, handle: str) -> Any:
    for _ in range(POLL_LIMIT):
        answer = web.request("GET", f"/operations/{handle}?output=JSON")
        assert answer.status == 200, answer.text
        status = answer.json()
        if status["finished"]:
            return status
    raise AssertionError(f"operation {handle} did not finish")


def _deep_check(web: WebGrid, root: str, handle: str, **query: str) -> Any:
    started = web.request(
        "POST", url(root, t="start-deep-check", ophandle=handle, output="JSON", **query)
    )
    assert started.status == 302, started.text
    assert started.headers["location"] == f"/operations/{handle}?output=JSON"
    return _poll(web, handle)


UNHEALTHY_WHEN_VERIFIED = [["mdmf"], ["sub", "corrupt.bin"], ["sub", "lost.bin"]]


def test_deep_check_counts_lost_shares(served: Served, tree: Tree) -> None:
    """A plain deep-check counts each non-LIT object once and finds the files missing shares."""
    status = _deep_check(served.web, tree.root, "plain")
    assert status["finished"] is True
    assert status["root-storage-index"] == b2a(_storage_index(tree.root))
    assert status["count-objects-checked"] == 8
    assert status["count-objects-healthy"] == 6
    assert status["count-objects-unhealthy"] == 2
    assert status["count-corrupt-shares"] == 0
    assert status["list-corrupt-shares"] == []
    unhealthy = {tuple(path): results for path, results in status["list-unhealthy-files"]}
    assert set(unhealthy) == {("mdmf",), ("sub", "lost.bin")}
    assert unhealthy[("sub", "lost.bin")]["results"]["count-shares-good"] == 7
    assert unhealthy[("sub", "lost.bin")]["summary"] == "Not Healthy: 7 shares (enc 3-of-10)"
    assert unhealthy[("mdmf",)]["results"]["count-shares-good"] == 8
    stats = status["stats"]
    assert stats["count-directories"] == 3
    assert stats["count-files"] == 6
    assert stats["count-literal-files"] == 1
    assert stats["count-mutable-files"] == 2
    assert stats["count-immutable-files"] == 3


def test_verifying_deep_check_finds_the_corrupt_share(served: Served, tree: Tree) -> None:
    """With verify=true the corrupt share is listed by server, storage index and number."""
    status = _deep_check(served.web, tree.root, "verified", verify="true")
    assert status["count-objects-checked"] == 8
    assert status["count-objects-healthy"] == 5
    assert status["count-objects-unhealthy"] == 3
    corrupt_index = b2a(_storage_index(tree.caps["sub/corrupt.bin"]))
    assert status["count-corrupt-shares"] == 1
    assert status["list-corrupt-shares"] == [
        [tree.corrupt_server, corrupt_index, tree.corrupt_shnum]
    ]
    assert sorted(path for path, _ in status["list-unhealthy-files"]) == UNHEALTHY_WHEN_VERIFIED


def _stream(web: WebGrid, root: str, **query: str) -> list[dict[str, Any]]:
    answer = web.request("POST", url(root, t="stream-deep-check", **query))
    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    lines = answer.text.splitlines()
    assert not any(line.startswith("ERROR:") for line in lines), lines
    return [json.loads(line) for line in lines]


def test_stream_deep_check_gives_one_unit_per_object(served: Served, tree: Tree) -> None:
    """t=stream-deep-check: one unit per node with its check results, the stats unit last."""
    units = _stream(served.web, tree.root, verify="true")
    assert units[-1]["type"] == "stats"
    assert units[-1]["stats"]["count-directories"] == 3
    by_path = {"/".join(unit["path"]): unit for unit in units[:-1]}
    assert sorted(by_path) == sorted(name for name in tree.caps)
    assert {unit["type"] for unit in units[:-1]} == {"file", "directory"}
    assert by_path[""]["type"] == "directory"
    assert by_path[""]["cap"] == tree.root
    literal = by_path["lit.txt"]
    assert literal["verifycap"] == ""
    assert literal["repaircap"] == ""
    assert literal["storage-index"] == ""
    assert literal["check-results"] == {"storage-index": "", "results": {"healthy": True}}
    chk = by_path["chk.bin"]
    assert chk["verifycap"].startswith("URI:CHK-Verifier:")
    assert chk["repaircap"] == chk["verifycap"]
    assert chk["storage-index"] == b2a(_storage_index(tree.caps["chk.bin"]))
    assert chk["check-results"]["results"]["healthy"] is True
    assert by_path["mdmf"]["repaircap"] == tree.caps["mdmf"]
    corrupt = by_path["sub/corrupt.bin"]["check-results"]["results"]
    assert corrupt["healthy"] is False
    assert corrupt["count-corrupt-shares"] == 1
    unhealthy = sorted(
        unit["path"] for unit in units[:-1] if not unit["check-results"]["results"]["healthy"]
    )
    assert unhealthy == UNHEALTHY_WHEN_VERIFIED


def test_deep_check_with_repair_repairs_and_then_all_is_healthy(served: Served) -> None:
    """repair=true repairs the three damaged files; the next deep-check finds all healthy."""
    tree = _damaged_tree(served, b"repaired")
    web = served.web
    repaired = _deep_check(web, tree.root, "repair", verify="true", repair="true")
    assert repaired["count-objects-checked"] == 8
    assert repaired["count-objects-healthy-pre-repair"] == 5
    assert repaired["count-objects-unhealthy-pre-repair"] == 3
    assert repaired["count-repairs-attempted"] == 3
    assert repaired["count-repairs-successful"] == 3
    assert repaired["count-repairs-unsuccessful"] == 0
    assert repaired["count-objects-healthy-post-repair"] == 8
    assert repaired["count-objects-unhealthy-post-repair"] == 0
    assert repaired["count-corrupt-shares-pre-repair"] == 1
    assert len(repaired["list-corrupt-shares"]) == 1
    assert sorted(path for path, _ in repaired["list-unhealthy-files"]) == UNHEALTHY_WHEN_VERIFIED
    assert "count-objects-healthy" not in repaired

    again = _deep_check(web, tree.root, "after-repair")
    assert again["count-objects-checked"] == 8
    assert again["count-objects-healthy"] == 8
    assert again["count-objects-unhealthy"] == 0
    assert again["list-unhealthy-files"] == []
    units = _stream(web, tree.root, verify="true")
    assert all(unit["check-results"]["results"]["healthy"] for unit in units[:-1])


def test_stream_deep_check_with_repair_reports_check_and_repair_results(
    served: Served,
) -> None:
    """stream-deep-check&repair=true gives check-and-repair-results per object."""
    tree = _damaged_tree(served, b"streamed")
    units = _stream(served.web, tree.root, repair="true")
    by_path = {"/".join(unit["path"]): unit for unit in units[:-1]}
    lost = by_path["sub/lost.bin"]["check-and-repair-results"]
    assert lost["repair-attempted"] is True
    assert lost["repair-successful"] is True
    assert lost["pre-repair-results"]["results"]["count-shares-good"] == 7
    assert lost["post-repair-results"]["results"]["healthy"] is True
    assert by_path["lit.txt"]["check-and-repair-results"] == {
        "storage-index": "",
        "repair-attempted": False,
    }
    assert by_path["chk.bin"]["check-and-repair-results"]["repair-attempted"] is False


def test_an_unreadable_directory_ends_the_stream_with_an_error_line(served: Served) -> None:
    """A directory no server holds any more ends stream-deep-check with one ERROR: line."""
    web = served.web
    root = _ok(web.request("POST", "/uri?t=mkdir"))
    lost = _ok(web.request("POST", url(root, "gone", t="mkdir")))
    _remove_shares(served.grid, lost, 10)
    answer = web.request("POST", url(root, t="stream-deep-check"))
    lines = answer.text.splitlines()
    assert lines[-1].startswith("ERROR:")
    assert json.loads(lines[0])["path"] == []
    started = web.request("POST", url(root, t="start-deep-check", ophandle="broken"))
    assert started.status == 302
    failed = web.request("GET", "/operations/broken?output=JSON")
    for _ in range(POLL_LIMIT):
        if failed.status != 200 or failed.json()["finished"]:
            break
        failed = web.request("GET", "/operations/broken?output=JSON")
    assert failed.status == 410, failed.text


def test_start_deep_check_needs_an_ophandle(served: Served, tree: Tree) -> None:
    """Without ophandle= the request is refused with 400 and one line."""
    answer = served.web.request("POST", url(tree.root, t="start-deep-check"))
    assert answer.status == 400
    assert "ophandle" in answer.text


def test_check_answers_an_html_page_unless_json_or_text_is_asked(
    served: Served, tree: Tree
) -> None:
    """t=check answers HTML by default (Tahoe's), JSON with output=JSON, one line with text."""
    web = served.web
    corrupt = tree.caps["sub/corrupt.bin"]
    page = web.request("POST", f"/uri/{quote(corrupt)}?t=check&verify=true")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in page.headers
    assert "Not Healthy!" in page.text
    assert "Corrupt shares" in page.text
    assert tree.corrupt_server in page.text
    assert corrupt not in page.text
    healthy = web.request("POST", url(tree.root, "chk.bin", t="check"))
    assert "Check: Healthy" in healthy.text
    literal = web.request("POST", url(tree.root, "lit.txt", t="check"))
    assert "literal file" in literal.text
    text = web.request("POST", url(tree.root, "chk.bin", t="check", output="text"))
    assert text.text == "Healthy\n"
    as_json = web.request("POST", url(tree.root, "chk.bin", t="check", output="JSON"))
    assert as_json.json()["results"]["healthy"] is True
