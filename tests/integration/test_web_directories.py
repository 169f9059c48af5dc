"""The directory web API over real HTTP, on an in-process grid of ten real storage servers.

Requests go over loopback HTTP to a twisted.web Site serving
:class:`~client.web.directory.DirectoryResource` and friends (see
:mod:`tests.integration.web_grid`); every directory and file is really
stored on the grid (k=3, N=10) and read back through the same API.
"""

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.directory import ChildLink
from client.web.common import BadRequestError
from client.web.dir_json import children_from_json
from client.web.dir_walk import Visit, WalkCancelledError, walk
from grid.base32 import b2a
from grid.caps import DirectoryCap, parse_cap
from tests.integration.reactor_thread import in_reactor
from tests.integration.web_grid import Response, WebGrid, serving, url

POLL_LIMIT = 10_000


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebGrid]:
    """The web API over ten real storage servers on loopback."""
    with serving(tmp_path_factory.mktemp("web-dir")) as (_grid, served):
        yield served


def _mkdir(web: WebGrid, **query: str) -> str:
    answer = web.request(
        "POST", "/uri?" + "&".join(f"{k}={v}" for k, v in {"t": "mkdir", **query}.items())
    )
    assert answer.status == 200, answer.text
    return answer.text


def _put(web: WebGrid, cap: str, *names: str, data: bytes, **query: str) -> Response:
    return web.request("PUT", url(cap, *names, **query), data)


def _json(web: WebGrid, cap: str, *names: str) -> Any:
    answer = web.request("GET", url(cap, *names, t="json"))
    assert answer.status == 200, answer.text
    return answer.json()


def _one_line_error(answer: Response, status: int) -> None:
    assert answer.status == status, (answer.status, answer.text)
    assert "Traceback" not in answer.text
    assert answer.text.strip()
    assert "\n" not in answer.text.strip()


def test_mkdir_and_empty_listing(web: WebGrid) -> None:
    """POST /uri?t=mkdir makes a writable SDMF directory whose t=json is Tahoe's shape."""
    cap = _mkdir(web)
    parsed = parse_cap(cap)
    assert isinstance(parsed, DirectoryCap)
    assert cap.startswith("URI:DIR2:")
    kind, details = _json(web, cap)
    assert kind == "dirnode"
    assert details == {
        "rw_uri": cap,
        "ro_uri": parsed.read_only().to_string(),
        "verify_uri": parsed.verify_cap().to_string(),  # type: ignore[union-attr]
        "mutable": True,
        "children": {},
    }
    answer = web.request("GET", url(cap, t="json"))
    assert answer.body.endswith(b"\n")
    assert answer.text.startswith('[\n "dirnode"')


def test_put_file_at_path_creates_directories(web: WebGrid) -> None:
    """PUT to a path makes the intermediate directories, links the file (201), reads back."""
    root = _mkdir(web)
    answer = _put(web, root, "a", "b", "hello.txt", data=b"hello, world\n" * 100)
    assert answer.status == 201, answer.text
    file_cap = answer.text
    assert file_cap.startswith("URI:CHK:")
    got = web.request("GET", url(root, "a", "b", "hello.txt"))
    assert got.status == 200
    assert got.body == b"hello, world\n" * 100
    assert got.headers["content-type"].startswith("text/plain")
    kind, details = _json(web, root, "a", "b", "hello.txt")
    assert kind == "filenode"
    assert details["ro_uri"] == file_cap
    assert details["format"] == "CHK"
    assert details["size"] == 1300
    assert details["mutable"] is False
    assert set(details["metadata"]["tahoe"]) == {"linkcrtime", "linkmotime"}
    kind, listing = _json(web, root, "a")
    assert list(listing["children"]) == ["b"]
    child_kind, child = listing["children"]["b"]
    assert child_kind == "dirnode"
    assert child["mutable"] is True
    assert child["rw_uri"].startswith("URI:DIR2:")
    assert "metadata" in child


def test_put_replaces_and_refuses(web: WebGrid) -> None:
    """A second PUT replaces (200); replace=false gives 409; only-files will not replace a dir."""
    root = _mkdir(web)
    assert _put(web, root, "f", data=b"one").status == 201
    second = _put(web, root, "f", data=b"two")
    assert second.status == 200
    assert web.request("GET", url(root, "f")).body == b"two"
    _one_line_error(_put(web, root, "f", data=b"three", replace="false"), 409)
    assert web.request("GET", url(root, "f")).body == b"two"
    assert _put(web, root, "f", data=b"four", replace="only-files").status == 200
    assert web.request("PUT", url(root, "d", t="mkdir")).status == 200
    _one_line_error(_put(web, root, "d", data=b"x", replace="only-files"), 409)
    assert _json(web, root, "d")[0] == "dirnode"


@pytest.mark.parametrize("fmt", ["SDMF", "MDMF"])
def test_put_mutable_file_and_overwrite_in_place(web: WebGrid, fmt: str) -> None:
    """format= makes a mutable file; a later PUT to its path overwrites it under the same cap."""
    root = _mkdir(web)
    first = _put(web, root, "m", data=b"version one", format=fmt)
    assert first.status == 201
    prefix = "URI:SSK:" if fmt == "SDMF" else "URI:MDMF:"
    assert first.text.startswith(prefix)
    again = _put(web, root, "m", data=b"version two")
    assert again.status == 200
    assert again.text == first.text
    assert web.request("GET", url(root, "m")).body == b"version two"
    kind, details = _json(web, root, "m")
    assert kind == "filenode"
    assert details["format"] == fmt
    assert details["mutable"] is True
    assert details["rw_uri"] == first.text
    assert details["size"] == len(b"version two")
    listed = _json(web, root)[1]["children"]["m"][1]
    assert listed["rw_uri"] == first.text
    assert listed["format"] == fmt
    mutable_put = _put(web, root, "n", data=b"x", mutable="true")
    assert mutable_put.status == 201
    assert mutable_put.text.startswith("URI:SSK:")


def test_caps_as_text(web: WebGrid) -> None:
    """t=uri and t=readonly-uri answer the directory's and a child's caps."""
    root = _mkdir(web)
    readonly = parse_cap(root).read_only().to_string()
    assert web.request("GET", url(root, t="uri")).text == root
    assert web.request("GET", url(root, t="readonly-uri")).text == readonly
    sub = web.request("PUT", url(root, "sub", t="mkdir")).text
    assert web.request("GET", url(root, "sub", t="uri")).text == sub
    file_cap = _put(web, root, "sub", "f", data=b"x" * 100, format="MDMF").text
    assert web.request("GET", url(root, "sub", "f", t="uri")).text == file_cap
    ro_file = web.request("GET", url(root, "sub", "f", t="readonly-uri")).text
    assert ro_file == parse_cap(file_cap).read_only().to_string()


def test_read_only_directory_lists_without_write_caps_and_refuses_changes(web: WebGrid) -> None:
    """Through a read-only cap: no rw_uri anywhere, and every change is a 403."""
    root = _mkdir(web)
    _put(web, root, "m", data=b"mutable", format="SDMF")
    web.request("PUT", url(root, "sub", t="mkdir"))
    readonly = parse_cap(root).read_only().to_string()
    _kind, details = _json(web, readonly)
    assert "rw_uri" not in details
    assert details["ro_uri"] == readonly
    for _kind, child in details["children"].values():
        assert "rw_uri" not in child
        assert child["ro_uri"]
    _one_line_error(_put(web, readonly, "new", data=b"x"), 403)
    _one_line_error(web.request("DELETE", url(readonly, "m")), 403)
    _one_line_error(web.request("POST", url(readonly, t="mkdir", name="x")), 403)
    _one_line_error(web.request("POST", url(readonly, t="unlink", name="m")), 403)


def test_put_t_uri_links_a_cap(web: WebGrid) -> None:
    """PUT t=uri links the body's cap (201 new, 200 replaced) and honours replace=."""
    root = _mkdir(web)
    target = _mkdir(web)
    file_cap = _put(web, root, "f", data=b"x" * 200).text
    linked = web.request("PUT", url(root, "deep", "link", t="uri"), target.encode())
    assert linked.status == 201
    assert linked.text == target
    assert _json(web, root, "deep", "link")[1]["rw_uri"] == target
    relinked = web.request("PUT", url(root, "deep", "link", t="uri"), file_cap.encode())
    assert relinked.status == 200
    assert _json(web, root, "deep")[1]["children"]["link"][0] == "filenode"
    refused = web.request("PUT", url(root, "f", t="uri", replace="false"), target.encode())
    _one_line_error(refused, 409)
    web.request("PUT", url(root, "dir", t="uri"), target.encode())
    only_files = web.request("PUT", url(root, "dir", t="uri", replace="only-files"), b"URI:LIT:")
    _one_line_error(only_files, 409)
    _one_line_error(web.request("PUT", url(root, "g", t="uri"), b"not a cap"), 400)
    _one_line_error(web.request("PUT", url(root, "g", t="uri"), b""), 400)


def test_mkdir_at_paths(web: WebGrid) -> None:
    """PUT/POST t=mkdir at a path make it (and parents); an existing directory is answered."""
    root = _mkdir(web)
    made = web.request("PUT", url(root, "x", "y", t="mkdir"))
    assert made.status == 200
    assert made.text.startswith("URI:DIR2:")
    again = web.request("PUT", url(root, "x", "y", t="mkdir"))
    assert again.text == made.text
    posted = web.request("POST", url(root, "p", "q", t="mkdir"))
    assert posted.status == 200
    assert posted.text.startswith("URI:DIR2:")
    assert _json(web, root, "p", "q")[1]["rw_uri"] == posted.text
    named = web.request("POST", url(root, "x", t="mkdir", name="z", format="MDMF"))
    assert named.status == 200
    assert named.text.startswith("URI:DIR2-MDMF:")
    assert sorted(_json(web, root, "x")[1]["children"]) == ["y", "z"]
    _put(web, root, "file", data=b"f")
    _one_line_error(web.request("PUT", url(root, "file", t="mkdir")), 409)
    _one_line_error(web.request("POST", url(root, "file", "under", t="mkdir")), 400)


def test_mkdir_with_children_and_immutable(web: WebGrid) -> None:
    """mkdir-with-children and mkdir-immutable link the JSON children with their metadata."""
    root = _mkdir(web)
    file_cap = _put(web, root, "f", data=b"y" * 300).text
    children = {
        "file": ["filenode", {"ro_uri": file_cap, "metadata": {"note": "hi"}}],
        "lit": ["filenode", {"ro_uri": "URI:LIT:nbswy3dp"}],
    }
    body = json.dumps(children).encode()
    made = web.request("POST", "/uri?t=mkdir-with-children", body)
    assert made.status == 200
    assert made.text.startswith("URI:DIR2:")
    listed = _json(web, made.text)[1]["children"]
    assert listed["file"][1]["metadata"] == {"note": "hi"}
    assert listed["lit"][1]["size"] == 5
    frozen = web.request("POST", "/uri?t=mkdir-immutable", body)
    assert frozen.status == 200
    assert frozen.text.startswith("URI:DIR2-CHK:")
    _kind, details = _json(web, frozen.text)
    assert details["mutable"] is False
    assert "rw_uri" not in details
    assert sorted(details["children"]) == ["file", "lit"]
    assert web.request("GET", url(frozen.text, "lit")).body == b"hello"
    _one_line_error(_put(web, frozen.text, "new", data=b"x"), 403)
    mutable_child = json.dumps({"d": ["dirnode", {"rw_uri": root}]}).encode()
    _one_line_error(web.request("POST", "/uri?t=mkdir-immutable", mutable_child), 400)
    at_path = web.request("POST", url(root, "kids", t="mkdir-with-children"), body)
    assert at_path.status == 200
    assert sorted(_json(web, root, "kids")[1]["children"]) == ["file", "lit"]
    named = web.request("POST", url(root, t="mkdir-immutable", name="imm"), body)
    assert named.status == 200
    assert named.text.startswith("URI:DIR2-CHK:")


def test_mkdir_unlinked_variants(web: WebGrid) -> None:
    """/uri?t=mkdir takes PUT, format=MDMF and redirect_to_result=true."""
    put = web.request("PUT", "/uri?t=mkdir")
    assert put.status == 200
    assert put.text.startswith("URI:DIR2:")
    mdmf = web.request("POST", "/uri?t=mkdir&format=MDMF")
    assert mdmf.text.startswith("URI:DIR2-MDMF:")
    redirected = web.request("POST", "/uri?t=mkdir&redirect_to_result=true")
    assert redirected.status == 302
    location = redirected.headers["location"]
    assert location.startswith("/uri/URI%3ADIR2%3A")
    assert location.endswith("/")
    _one_line_error(web.request("POST", "/uri?t=mkdir&format=CHK"), 400)
    _one_line_error(web.request("POST", "/uri?t=mkdir-with-children", b"{nope"), 400)
    _one_line_error(web.request("POST", "/uri?t=mkdir-with-children", b"[1, 2]"), 400)
    _one_line_error(web.request("POST", "/uri?t=mkdir-with-children", b""), 400)


def test_post_upload(web: WebGrid) -> None:
    """t=upload stores the form's file under name= (or its file name); when_done redirects."""
    root = _mkdir(web)
    answer = web.upload_form(url(root, t="upload"), {"name": "named.bin"}, b"\x00\x01" * 500)
    assert answer.status == 200
    assert answer.text.startswith("URI:CHK:")
    assert web.request("GET", url(root, "named.bin")).body == b"\x00\x01" * 500
    by_filename = web.upload_form(url(root, t="upload"), {}, b"abc", filename="some/dir/n.txt")
    assert by_filename.status == 200
    assert by_filename.text.startswith("URI:LIT:")
    assert web.request("GET", url(root, "n.txt")).body == b"abc"
    back = url(root)
    redirected = web.upload_form(
        url(root), {"t": "upload", "name": "r", "when_done": back}, b"data"
    )
    assert redirected.status == 302
    assert redirected.headers["location"] == back
    mutable = web.upload_form(url(root, t="upload", format="MDMF"), {"name": "mm"}, b"m")
    assert mutable.text.startswith("URI:MDMF:")
    _one_line_error(web.request("POST", url(root, t="upload", name="x")), 400)
    evil = web.upload_form(url(root), {"t": "upload", "name": "e", "when_done": "http://x/"}, b"")
    _one_line_error(evil, 400)


def test_post_upload_of_a_large_binary_file(web: WebGrid) -> None:
    """A form file of several segments, full of CRLFs and dashes, is stored byte for byte."""
    root = _mkdir(web)
    data = (b"\r\n--" + os.urandom(61)) * 50_000
    answer = web.upload_form(url(root, t="upload"), {"name": "big.bin"}, data)
    assert answer.status == 200, answer.text
    assert web.request("GET", url(root, "big.bin")).body == data
    direct = web.upload_form("/uri?t=upload", {}, data)
    assert direct.text == answer.text


def test_malformed_forms_are_one_line_400s(web: WebGrid) -> None:
    """A multipart body cut short, without a boundary, or with too many field bytes: 400."""
    root = _mkdir(web)
    cut = b'--b0\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nabc'
    multipart = {"Content-Type": "multipart/form-data; boundary=b0"}
    _one_line_error(web.request("POST", url(root, t="upload", name="x"), cut, multipart), 400)
    no_boundary = {"Content-Type": "multipart/form-data"}
    _one_line_error(web.request("POST", url(root, t="upload", name="x"), cut, no_boundary), 400)
    fields = {f"f{index}": "v" * 1_000_000 for index in range(5)}
    _one_line_error(web.upload_form(url(root, t="upload", name="x"), fields, b"data"), 400)
    assert "x" not in _json(web, root)[1]["children"]


def test_url_encoded_form_fields_are_arguments(web: WebGrid) -> None:
    """A POST whose body is an url-encoded form gives its fields as arguments (t, name)."""
    root = _mkdir(web)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = web.request("POST", url(root), b"t=mkdir&name=from-form", form)
    assert answer.status == 200, answer.text
    assert "from-form" in _json(web, root)[1]["children"]


def test_post_uri_links(web: WebGrid) -> None:
    """POST t=uri&name=&uri= links the cap and answers it."""
    root = _mkdir(web)
    other = _mkdir(web)
    answer = web.request("POST", url(root, t="uri", name="o", uri=other))
    assert answer.status == 200
    assert answer.text == other
    assert _json(web, root, "o")[1]["rw_uri"] == other
    _one_line_error(
        web.request("POST", url(root, t="uri", name="o", uri=other, replace="false")), 409
    )
    _one_line_error(web.request("POST", url(root, t="uri", name="p")), 400)
    _one_line_error(web.request("POST", url(root, t="uri", uri=other)), 400)
    _one_line_error(web.request("POST", url(root, t="uri", name="p", uri="URI:CHK:zz")), 400)


@pytest.mark.parametrize("spelling", ["set_children", "set-children"])
def test_set_children(web: WebGrid, spelling: str) -> None:
    """t=set_children links every child of the JSON body; overwrite=false refuses taken names."""
    root = _mkdir(web)
    other = _mkdir(web)
    body = json.dumps(
        {
            "a": ["dirnode", {"rw_uri": other, "metadata": {"k": 1}}],
            "b": ["filenode", {"ro_uri": "URI:LIT:mfrgg"}],
            "c": ["unknown", {"ro_uri": "ro.x-future:abc"}],
        }
    ).encode()
    answer = web.request("POST", url(root, t=spelling), body)
    assert answer.status == 200, answer.text
    children = _json(web, root)[1]["children"]
    assert sorted(children) == ["a", "b", "c"]
    assert children["a"][1]["rw_uri"] == other
    assert children["a"][1]["metadata"]["k"] == 1
    unknown = web.request("GET", url(root, "c", t="json"))
    assert unknown.json() == ["unknown", children["c"][1]]
    assert web.request("GET", url(root, "c", t="uri")).text == "ro.x-future:abc"
    _one_line_error(web.request("GET", url(root, "c")), 400)
    assert children["c"][0] == "unknown"
    assert children["c"][1]["ro_uri"] == "ro.x-future:abc"
    _one_line_error(web.request("POST", url(root, t=spelling, overwrite="false"), body), 409)
    _one_line_error(web.request("POST", url(root, t=spelling), b"not json"), 400)
    bad_child = json.dumps({"x": "URI:LIT:mfrgg"}).encode()
    _one_line_error(web.request("POST", url(root, t=spelling), bad_child), 400)
    slash = json.dumps({"x/y": ["filenode", {"ro_uri": "URI:LIT:mfrgg"}]}).encode()
    _one_line_error(web.request("POST", url(root, t=spelling), slash), 400)


def test_unlink(web: WebGrid) -> None:
    """DELETE and POST t=unlink / t=delete unlink a child and answer its cap."""
    root = _mkdir(web)
    caps = {name: _put(web, root, name, data=name.encode() * 30).text for name in "abc"}
    deleted = web.request("DELETE", url(root, "a"))
    assert deleted.status == 200
    assert deleted.text == caps["a"]
    unlinked = web.request("POST", url(root, t="unlink", name="b"))
    assert unlinked.status == 200
    assert unlinked.text == caps["b"]
    assert web.request("POST", url(root, t="delete", name="c")).text == caps["c"]
    assert _json(web, root)[1]["children"] == {}
    _one_line_error(web.request("DELETE", url(root, "a")), 404)
    _one_line_error(web.request("POST", url(root, t="unlink", name="zz")), 404)
    _one_line_error(web.request("POST", url(root, t="unlink")), 400)
    _one_line_error(web.request("DELETE", url(root)), 400)
    _one_line_error(web.request("GET", url(root, "a")), 404)


def test_rename_and_relink(web: WebGrid) -> None:
    """t=rename moves within a directory; t=relink moves into another one, by cap or path."""
    root = _mkdir(web)
    file_cap = _put(web, root, "old", data=b"z" * 100).text
    web.request("PUT", url(root, "sub", t="mkdir"))
    renamed = web.request("POST", url(root, t="rename", from_name="old", to_name="new"))
    assert renamed.status == 200, renamed.text
    assert sorted(_json(web, root)[1]["children"]) == ["new", "sub"]
    relinked = web.request(
        "POST", url(root, t="relink", from_name="new", to_dir="sub", to_name="moved")
    )
    assert relinked.status == 200, relinked.text
    assert _json(web, root, "sub", "moved")[1]["ro_uri"] == file_cap
    other = _mkdir(web)
    web.request("PUT", url(other, "inner", t="mkdir"))
    by_cap = web.request(
        "POST", url(root, "sub", t="relink", from_name="moved", to_dir=other + "/inner")
    )
    assert by_cap.status == 200, by_cap.text
    assert _json(web, other, "inner", "moved")[1]["ro_uri"] == file_cap
    assert _json(web, root, "sub")[1]["children"] == {}
    _one_line_error(web.request("POST", url(root, t="rename", from_name="nope", to_name="x")), 404)
    _one_line_error(web.request("POST", url(root, t="rename", from_name="sub", to_name="a/b")), 400)
    _one_line_error(web.request("POST", url(root, t="rename", from_name="sub")), 400)
    _put(web, root, "f", data=b"f")
    taken = url(root, t="rename", from_name="f", to_name="sub", replace="false")
    _one_line_error(web.request("POST", taken), 409)
    _one_line_error(
        web.request("POST", url(root, t="relink", from_name="f", to_dir="URI:bad")), 400
    )


def _poll(web: WebGrid, handle: str) -> Any:
    for _ in range(POLL_LIMIT):
        answer = web.request("GET", f"/operations/{handle}?output=JSON")
        assert answer.status == 200, answer.text
        status = answer.json()
        if status["finished"]:
            return status
    raise AssertionError(f"operation {handle} did not finish")


def _tree(web: WebGrid) -> tuple[str, dict[str, str]]:
    root = _mkdir(web)
    caps = {
        "big": _put(web, root, "big", data=b"b" * 5000).text,
        "lit": _put(web, root, "lit", data=b"tiny").text,
        "mut": _put(web, root, "sub", "mut", data=b"m" * 20, format="SDMF").text,
    }
    caps["sub"] = web.request("GET", url(root, "sub", t="uri")).text
    web.request("PUT", url(root, "sub", "loop", t="uri"), root.encode())
    return root, caps


def test_manifest_deep_size_and_stats(web: WebGrid) -> None:
    """start-manifest / deep-size / deep-stats run under an ophandle and are polled as JSON."""
    root, caps = _tree(web)
    started = web.request("POST", url(root, t="start-manifest", ophandle="m1", output="JSON"))
    assert started.status == 302
    assert started.headers["location"] == "/operations/m1?output=JSON"
    manifest = _poll(web, "m1")
    assert sorted(manifest["manifest"]) == sorted(
        [
            ["", root],
            ["big", caps["big"]],
            ["lit", caps["lit"]],
            ["sub", caps["sub"]],
            ["sub/mut", caps["mut"]],
        ]
    )
    assert manifest["origin"] == b2a(parse_cap(root).storage_index)  # type: ignore[arg-type]
    assert len(manifest["storage-index"]) == 4
    assert len(manifest["verifycaps"]) == 4
    assert manifest["stats"]["count-files"] == 3
    page = web.request("GET", "/operations/m1")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in page.headers
    assert "Operation m1" in page.text
    assert "http-equiv" not in page.text
    assert f'<td class="name">sub/mut</td><td class="name">{caps["mut"]}</td>' in page.text
    assert "5 items" in page.text
    web.request("POST", url(root, t="start-deep-stats", ophandle="s1"))
    stats = _poll(web, "s1")
    assert stats["count-directories"] == 2
    assert stats["count-immutable-files"] == 1
    assert stats["count-literal-files"] == 1
    assert stats["count-mutable-files"] == 1
    assert stats["size-immutable-files"] == 5000
    assert stats["size-literal-files"] == 4
    assert stats["size-mutable-files"] == 20
    assert stats["largest-immutable-file"] == 5000
    assert stats["size-directories"] > 0
    assert stats["largest-directory-children"] == 3
    assert stats["size-files-histogram"] == [[4, 10, 1], [11, 31, 1], [3163, 10000, 1]]
    assert stats["api-version"] == 1
    web.request("POST", url(root, t="start-deep-size", ophandle="z1"))
    size = _poll(web, "z1")
    assert size["size"] == 5000 + 4 + 20 + stats["size-directories"]
    _one_line_error(web.request("POST", url(root, t="start-deep-size", ophandle="z1")), 400)
    _one_line_error(web.request("POST", url(root, t="start-manifest")), 400)
    assert web.request("GET", "/operations/never?output=JSON").status == 404
    cancelled = web.request("POST", "/operations/z1?t=cancel&output=JSON")
    assert cancelled.status == 200
    assert cancelled.json()["finished"] is True


def test_release_after_complete(web: WebGrid) -> None:
    """release-after-complete=true drops the operation once a poll has seen it finished."""
    root = _mkdir(web)
    query = {"t": "start-deep-size", "ophandle": "rel", "release-after-complete": "true"}
    web.request("POST", url(root, **query))
    assert _poll(web, "rel")["size"] == 0
    assert web.request("GET", "/operations/rel?output=JSON").status == 404


def test_stream_manifest(web: WebGrid) -> None:
    """t=stream-manifest answers one JSON unit per node and a final stats unit."""
    root, caps = _tree(web)
    answer = web.request("POST", url(root, t="stream-manifest"))
    assert answer.status == 200
    units = [json.loads(line) for line in answer.text.splitlines()]
    assert units[-1]["type"] == "stats"
    assert units[-1]["stats"]["count-files"] == 3
    by_path = {"/".join(unit["path"]): unit for unit in units[:-1]}
    assert sorted(by_path) == ["", "big", "lit", "sub", "sub/mut"]
    assert by_path[""]["type"] == "directory"
    assert by_path[""]["cap"] == root
    assert by_path["sub/mut"]["path"] == ["sub", "mut"]
    assert by_path["big"]["type"] == "file"
    assert by_path["big"]["cap"] == caps["big"]
    assert by_path["big"]["verifycap"].startswith("URI:CHK-Verifier:")
    assert by_path["big"]["repaircap"] == by_path["big"]["verifycap"]
    assert by_path["sub/mut"]["repaircap"] == caps["mut"]
    assert by_path["lit"]["verifycap"] is None
    assert by_path["lit"]["storage-index"] is None


def test_thousand_children(web: WebGrid) -> None:
    """A directory of 1,000 children lists them all with their caps and metadata."""
    children = {
        f"child-{index:04d}": [
            "filenode",
            {"ro_uri": f"URI:LIT:{'mfrgg' if index % 2 else 'nbswy3dp'}"},
        ]
        for index in range(1000)
    }
    made = web.request("POST", "/uri?t=mkdir-with-children", json.dumps(children).encode())
    assert made.status == 200, made.text
    listed = _json(web, made.text)[1]["children"]
    assert len(listed) == 1000
    assert listed["child-0001"][1]["ro_uri"] == "URI:LIT:mfrgg"
    assert listed["child-0998"][1]["size"] == 5
    assert web.request("GET", url(made.text, "child-0999")).body == b"abc"


def test_html_page_and_info(web: WebGrid) -> None:
    """A plain GET of a directory is its HTML page; t=info shows a child's info page."""
    root = _mkdir(web)
    assert _put(web, root, "<img src=x onerror=alert(1)>", data=b"x").status == 201
    page = web.request("GET", url(root) + "/")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<img" not in page.text
    info = web.request("GET", url(root, "<img src=x onerror=alert(1)>", t="info"))
    assert info.status == 200
    assert info.headers["content-type"].startswith("text/html")


def test_file_range_and_check_through_a_path(web: WebGrid) -> None:
    """A file reached by a path honours Range and POST t=check like one reached by cap."""
    root = _mkdir(web)
    _put(web, root, "r.bin", data=bytes(range(256)) * 10)
    ranged = web.request("GET", url(root, "r.bin"), headers={"Range": "bytes=10-19"})
    assert ranged.status == 206
    assert ranged.body == bytes(range(10, 20))
    checked = web.request("POST", url(root, "r.bin", t="check", output="JSON"))
    assert checked.status == 200
    assert checked.json()["results"]["healthy"] is True


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status"),
    [
        ("GET", "?t=bogus", b"", 400),
        ("POST", "?t=bogus", b"", 400),
        ("PUT", "/x?t=bogus", b"", 400),
        ("PUT", "", b"data", 400),
        ("GET", "/missing", b"", 404),
        ("GET", "/missing/deeper?t=json", b"", 404),
        ("GET", "/a%2Fb", b"", 400),
        ("GET", "/a//b", b"", 400),
        ("PUT", "/a%2Fb", b"data", 400),
        ("POST", "?t=mkdir&name=a%2Fb", b"", 400),
        ("POST", "?t=mkdir&format=XYZ&name=q", b"", 400),
        ("POST", "?t=set_children", b"\xff\xfe", 400),
        ("POST", "?t=set_children", b'{"a": ["filenode", {"ro_uri": 5}]}', 400),
        ("POST", "?t=set_children", b'{"a": ["filenode", {}]}', 400),
        ("POST", "?t=set_children", b'{"a": ["filenode", {"ro_uri": "URI:SSK:x:y"}]}', 400),
        ("POST", "?t=mkdir&replace=maybe&name=n", b"", 400),
        ("POST", "?t=start-deep-stats&ophandle=g1&retain-for=soon", b"", 400),
        ("POST", "?t=rename&from_name=&to_name=x", b"", 400),
        ("POST", "?t=mkdir&name=%ff", b"", 400),
        ("POST", "?t=relink&from_name=a&to_dir=URI%3ADIR2%3Abad", b"", 400),
        ("POST", "?t=uri&name=x&uri=URI%3ADIR2%3A", b"", 400),
        ("DELETE", "/a%2Fb", b"", 400),
    ],
)
def test_garbage_requests_get_one_line_4xx(
    web: WebGrid, method: str, suffix: str, body: bytes, status: int
) -> None:
    """Malformed requests are answered with a 4xx and one line, never a traceback or a 500."""
    root = _mkdir(web)
    answer = web.request(method, "/uri/" + quote(root, safe="") + suffix, body)
    _one_line_error(answer, status)


def test_bad_caps_in_the_url(web: WebGrid) -> None:
    """A cap that does not parse, or a verify cap, in the URL is a 400."""
    assert web.request("GET", "/uri/URI%3ADIR2%3Anope/x").status == 400
    root = _mkdir(web)
    verify = parse_cap(root).verify_cap().to_string()  # type: ignore[union-attr]
    assert web.request("GET", url(verify, t="json")).status == 400


def test_head_of_a_file_at_a_path(web: WebGrid) -> None:
    """HEAD of a file reached by a path sends a GET's headers and no body."""
    root = _mkdir(web)
    _put(web, root, "h.html", data=b"<p>hi</p>" * 50)
    answer = web.request("HEAD", url(root, "h.html"))
    assert answer.status == 200
    assert answer.headers["content-length"] == "450"
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.body == b""


def _missing_directory_cap() -> str:
    """A well-formed cap of an immutable directory that no server holds."""
    return f"URI:DIR2-CHK:{b2a(b'k' * 16)}:{b2a(b'u' * 32)}:3:10:500"


def test_deep_operations_report_a_lost_directory(web: WebGrid) -> None:
    """A walk that meets an unrecoverable directory fails: 410 when polled, ERROR: when streamed."""
    root = _mkdir(web)
    web.request("PUT", url(root, "lost", t="uri"), _missing_directory_cap().encode())
    web.request("POST", url(root, t="start-manifest", ophandle="lost-1"))
    for _ in range(POLL_LIMIT):
        answer = web.request("GET", "/operations/lost-1?output=JSON")
        if answer.status != 200:
            break
    _one_line_error(answer, 410)
    streamed = web.request("POST", url(root, t="stream-manifest"))
    lines = streamed.text.splitlines()
    assert json.loads(lines[0])["path"] == []
    assert lines[-1].startswith("ERROR: ")


def test_walk_stops_when_cancelled(web: WebGrid) -> None:
    """A walk asked to stop raises WalkCancelledError before visiting anything."""
    root = web.maker.directory_for_cap(parse_cap(_mkdir(web)))  # type: ignore[arg-type]
    visited: list[Visit] = []

    async def visit(node: Visit) -> None:
        visited.append(node)

    with pytest.raises(WalkCancelledError):
        in_reactor(walk, web.maker, root, visit, lambda: None, lambda: True)
    assert visited == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_children_json_garbage_raises_only_bad_request(body: bytes) -> None:
    """Any body parses to links or raises BadRequestError, never anything else."""
    try:
        links = children_from_json(body)
    except BadRequestError:
        return
    assert all(isinstance(link, ChildLink) for link in links.values())


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.tuples(
            st.sampled_from(["filenode", "dirnode", "unknown", 7]),
            st.dictionaries(
                st.sampled_from(["ro_uri", "rw_uri", "metadata"]),
                st.one_of(st.none(), st.integers(), st.text(max_size=20), st.just("URI:LIT:")),
            ),
        ).map(list),
        max_size=4,
    )
)
def test_children_json_shapes_raise_only_bad_request(children: dict[str, Any]) -> None:
    """JSON of the right outline but wrong details parses or raises BadRequestError only."""
    try:
        links = children_from_json(json.dumps(children).encode())
    except BadRequestError:
        return
    assert all(link.write_cap or link.read_cap for link in links.values())


def test_check_of_files_and_directories_answers_tahoe_json(web: WebGrid) -> None:
    """POST t=check on a CHK file, a mutable file and a directory gives Tahoe's check JSON."""
    chk = web.request("PUT", "/uri", b"c" * 5000).text
    sdmf = web.request("PUT", "/uri?format=SDMF", b"mutable").text
    directory = web.request("POST", "/uri?t=mkdir").text
    for cap in (chk, sdmf, directory):
        answer = web.request("POST", f"/uri/{quote(cap)}?t=check&verify=true&output=JSON")
        assert answer.status == 200, answer.text
        results = answer.json()["results"]
        assert results["healthy"] is True
        assert results["count-shares-good"] == 10
        assert results["count-shares-needed"] == 3
    summary = web.request("POST", f"/uri/{quote(chk)}?t=check&add-lease=true&output=text")
    assert summary.text.strip() == "Healthy"
    repaired = web.request("POST", f"/uri/{quote(sdmf)}?t=check&repair=true&output=JSON").json()
    assert repaired["repair-attempted"] is False
    literal = web.request("PUT", "/uri", b"tiny").text
    assert web.request("POST", f"/uri/{quote(literal)}?t=check&output=JSON").json()["results"][
        "healthy"
    ]
