"""The HTML pages for people: directory, info and welcome pages, and their headers."""

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs
import pytest
from twisted.web import pages
from twisted.web.resource import Resource
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyRequest

from client.web.ui_directory import directory_page, directory_url
from client.web.ui_file import info_page
from client.web.ui_headers import NoReferrer, set_page_headers
from client.web.ui_page import PAGE_CSS_HASH, format_size, format_time
from client.web.welcome import welcome_page
from grid.caps import (
    CHKReadCap,
    DirectoryCap,
    LiteralCap,
    MutableFormat,
    MutableWriteCap,
    UnknownCap,
)
from grid.formats.dirnode import DirectoryEntry

XSS_NAME = "<script>alert(\"x\")<script> & 'quoted' <img src=x onerror=alert(1)>"

DIR_CAP = DirectoryCap(MutableWriteCap(MutableFormat.SDMF, b"\x01" * 16, b"\x02" * 32))
SUBDIR_CAP = DirectoryCap(MutableWriteCap(MutableFormat.MDMF, b"\x03" * 16, b"\x04" * 32))
CHK_CAP = CHKReadCap(b"\x05" * 16, b"\x06" * 32, 3, 10, 123_456)
MUTABLE_CAP = MutableWriteCap(MutableFormat.SDMF, b"\x07" * 16, b"\x08" * 32)
LIT_CAP = LiteralCap(b"hello")
LINKMOTIME = 1_700_000_000.5


@attrs.define
class Element:
    """One parsed HTML element: its tag, attributes, text and children."""

    tag: str
    attrs: dict[str, str]
    children: list["Element"] = attrs.field(factory=list)
    text: str = ""

    def walk(self) -> Iterator["Element"]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str, **wanted: str) -> list["Element"]:
        """Every element below with ``tag`` and the ``wanted`` attribute values."""
        return [
            element
            for element in self.walk()
            if element.tag == tag
            and all(element.attrs.get(key) == value for key, value in wanted.items())
        ]

    def all_text(self) -> str:
        """The text of this element and everything below it."""
        return self.text + "".join(child.all_text() for child in self.children)


_VOID = {"meta", "input", "br", "img", "link", "hr"}


class _TreeBuilder(HTMLParser):
    """Builds an Element tree; text lands in the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attributes})
        self._open[-1].children.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self._open) > 1:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(Element("#text", {}, text=data))


def parse(page: bytes) -> Element:
    """Parse a page into an Element tree."""
    builder = _TreeBuilder()
    builder.feed(page.decode("utf-8"))
    builder.close()
    return builder.root


def entry(name: str, cap: Any, write_cap: Any = None, **metadata: Any) -> DirectoryEntry:
    """A directory entry with a linkmotime."""
    meta = {"tahoe": {"linkmotime": LINKMOTIME, "linkcrtime": LINKMOTIME}, **metadata}
    return DirectoryEntry(name, cap, write_cap, meta)


def sample_children() -> list[DirectoryEntry]:
    """A file, a mutable file, a literal file, a subdirectory and an unknown child."""
    return [
        entry("report.pdf", CHK_CAP),
        entry("notes.txt", MUTABLE_CAP.read_only(), MUTABLE_CAP),
        entry("tiny", LIT_CAP),
        entry("photos", SUBDIR_CAP.read_only(), SUBDIR_CAP),
        entry("future", UnknownCap("ro.URI:NEW:something")),
    ]


def hrefs(tree: Element) -> list[str]:
    """Every link target on the page."""
    return [element.attrs["href"] for element in tree.find_all("a")]


def form_fields(form: Element) -> dict[str, str]:
    """The named inputs of a form with their values."""
    return {
        element.attrs["name"]: element.attrs.get("value", "")
        for element in form.walk()
        if element.tag in {"input", "select"} and "name" in element.attrs
    }


def test_directory_page_lists_children_with_type_size_and_time() -> None:
    """Each child is a row with its name, type, size (when known) and link time."""
    tree = parse(directory_page(DIR_CAP, [], sample_children(), writable=True))
    rows = {
        row.find_all("td")[0].all_text(): [cell.all_text() for cell in row.find_all("td")]
        for row in tree.find_all("tr")
        if row.find_all("td")
    }
    time = format_time(LINKMOTIME)
    assert time == "2023-11-14 22:13:20 UTC"
    assert rows["report.pdf"][1:4] == ["file", "123.5 kB", time]
    assert rows["notes.txt"][1:4] == ["mutable", "\u2014", time]
    assert rows["tiny"][1:4] == ["file", "5 B", time]
    assert rows["photos/"][1:4] == ["dir", "\u2014", time]
    assert rows["future"][1:4] == ["unknown", "\u2014", time]
    assert list(rows) == ["future", "notes.txt", "photos/", "report.pdf", "tiny"]


def test_directory_page_links_files_by_read_cap_and_directories_by_path() -> None:
    """Files open and download by their read-only cap; directories by their path here."""
    tree = parse(directory_page(DIR_CAP, ["a b"], sample_children(), writable=True))
    links = hrefs(tree)
    here = "/uri/" + DIR_CAP.to_string().replace(":", "%3A") + "/a%20b"
    assert directory_url(DIR_CAP, ["a b"]) == here
    assert f"/uri/{CHK_CAP.to_string().replace(':', '%3A')}?filename=report.pdf" in links
    download = f"/uri/{CHK_CAP.to_string().replace(':', '%3A')}?save=true&filename=report.pdf"
    assert download in links
    mutable_read = MUTABLE_CAP.read_only().to_string().replace(":", "%3A")
    assert f"/uri/{mutable_read}?filename=notes.txt" in links
    assert here + "/photos" in links
    assert here + "/future?t=info" in links
    assert not any("future" in link and "t=info" not in link for link in links)


def test_no_write_cap_appears_anywhere_on_a_directory_page() -> None:
    """Caps are not printed, and write caps of children are not even in links."""
    page = directory_page(DIR_CAP, [], sample_children(), writable=True)
    text = page.decode()
    assert MUTABLE_CAP.to_string() not in text
    assert SUBDIR_CAP.to_string() not in text
    assert "URI:" not in parse(page).all_text()


def test_writable_directory_has_forms_posting_back_with_when_done() -> None:
    """Upload, mkdir, rename and one unlink per child POST to this page and come back."""
    tree = parse(directory_page(DIR_CAP, ["docs"], sample_children(), writable=True))
    here = directory_url(DIR_CAP, ["docs"])
    forms = tree.find_all("form")
    assert all(form.attrs["method"] == "post" and form.attrs["action"] == here for form in forms)
    by_t: dict[str, list[dict[str, str]]] = {}
    for form in forms:
        fields = form_fields(form)
        assert fields["when_done"] == here
        by_t.setdefault(fields["t"], []).append(fields)
    assert set(by_t) == {"upload", "mkdir", "rename", "unlink"}
    assert set(by_t["upload"][0]) == {"t", "when_done", "file", "name"}
    (upload_form,) = tree.find_all("form", **{"class": "upload"})
    assert upload_form.attrs["enctype"] == "multipart/form-data"
    assert set(by_t["mkdir"][0]) == {"t", "when_done", "name"}
    assert set(by_t["rename"][0]) == {"t", "when_done", "from_name", "to_name"}
    assert sorted(fields["name"] for fields in by_t["unlink"]) == sorted(
        child.name for child in sample_children()
    )
    options = [option.attrs["value"] for option in tree.find_all("option")]
    assert options == ["future", "notes.txt", "photos", "report.pdf", "tiny"]


def test_read_only_directory_shows_no_forms() -> None:
    """A read-only directory lists its children but offers no way to change them."""
    page = directory_page(DIR_CAP.read_only(), [], sample_children(), writable=False)
    tree = parse(page)
    assert tree.find_all("form") == []
    assert tree.find_all("input") == []
    assert "read-only" in tree.all_text()
    assert len([row for row in tree.find_all("tr") if row.find_all("td")]) == 5


def test_empty_writable_directory_offers_upload_and_mkdir_only() -> None:
    """With no children there is nothing to rename: upload and mkdir remain."""
    tree = parse(directory_page(DIR_CAP, [], [], writable=True))
    assert "empty" in tree.all_text()
    assert sorted(form_fields(form)["t"] for form in tree.find_all("form")) == ["mkdir", "upload"]


def test_breadcrumbs_lead_back_along_the_path() -> None:
    """Root and every ancestor are links; the current directory is not."""
    tree = parse(directory_page(DIR_CAP, ["one", "two/%", "three"], [], writable=True))
    (nav,) = tree.find_all("nav")
    links = [(link.all_text(), link.attrs["href"]) for link in nav.find_all("a")]
    assert links == [
        ("root", directory_url(DIR_CAP, [])),
        ("one", directory_url(DIR_CAP, ["one"])),
        ("two/%", directory_url(DIR_CAP, ["one", "two/%"])),
    ]
    assert links[2][1].endswith("/one/two%2F%25")
    (current,) = nav.find_all("span", **{"aria-current": "page"})
    assert current.all_text() == "three"
    assert tree.find_all("h1")[0].all_text() == "three"


def test_hostile_names_are_escaped_everywhere() -> None:
    """A name that looks like markup stays text: in cells, links, forms, titles and crumbs."""
    children = [entry(XSS_NAME, CHK_CAP), entry(XSS_NAME + " dir", SUBDIR_CAP.read_only())]
    pages = [
        directory_page(DIR_CAP, [XSS_NAME], children, writable=True),
        info_page(CHK_CAP, name=XSS_NAME, metadata={}, back_url="/x?a=1&b=<2>"),
    ]
    for page in pages:
        text = page.decode()
        assert "<script" not in text
        assert "<img" not in text
        tree = parse(page)
        assert tree.find_all("script") == []
        assert tree.find_all("img") == []
        assert XSS_NAME in tree.all_text()
        assert all(not name.startswith("on") for e in tree.walk() for name in e.attrs)
    tree = parse(pages[0])
    assert XSS_NAME in [option.attrs["value"] for option in tree.find_all("option")]
    unlink_names = [
        form_fields(form)["name"]
        for form in tree.find_all("form")
        if form_fields(form)["t"] == "unlink"
    ]
    assert XSS_NAME in unlink_names
    file_link = next(link for link in hrefs(tree) if "filename=" in link and "save" not in link)
    assert parse_qs(urlsplit(file_link).query)["filename"] == [XSS_NAME]
    assert tree.find_all("title")[0].all_text().startswith(XSS_NAME)


def test_info_page_shows_every_cap_of_a_mutable_file() -> None:
    """Write, read-only and verify caps are printed, labelled, strongest first."""
    tree = parse(info_page(MUTABLE_CAP, name="notes.txt", metadata={}, back_url="/back"))
    (caps,) = tree.find_all("table", **{"class": "caps"})
    rows = [
        (row.find_all("th")[0].all_text(), row.find_all("td")[0].all_text())
        for row in caps.walk()
        if row.tag == "tr"
    ]
    assert rows == [
        ("read-write cap", MUTABLE_CAP.to_string()),
        ("read-only cap", MUTABLE_CAP.read_only().to_string()),
        ("verify cap", MUTABLE_CAP.verify_cap().to_string()),
    ]
    assert "/back" in hrefs(tree)


def test_info_page_of_immutable_literal_directory_and_unknown_caps() -> None:
    """Each kind shows the caps it has: CHK read and verify, LIT read only, unknown verbatim."""

    def cap_labels(page: bytes) -> list[str]:
        (caps,) = parse(page).find_all("table", **{"class": "caps"})
        return [row.find_all("th")[0].all_text() for row in caps.walk() if row.tag == "tr"]

    assert cap_labels(info_page(CHK_CAP)) == ["read-only cap", "verify cap"]
    assert cap_labels(info_page(LIT_CAP)) == ["read-only cap"]
    assert cap_labels(info_page(SUBDIR_CAP)) == ["read-write cap", "read-only cap", "verify cap"]
    unknown = UnknownCap("ro.URI:NEW:x", error="a newer kind")
    tree = parse(info_page(unknown, name="future"))
    assert cap_labels(info_page(unknown)) == ["cap of an unknown kind"]
    assert "a newer kind" in tree.all_text()
    assert not any(link.startswith("/uri/") for link in hrefs(tree))
    chk_links = hrefs(parse(info_page(CHK_CAP, name="r.pdf")))
    assert f"/uri/{CHK_CAP.to_string().replace(':', '%3A')}?save=true&filename=r.pdf" in chk_links


def test_pages_load_nothing_and_need_no_script() -> None:
    """No script, no external resource, one inline style, and a no-referrer meta tag."""
    facts = {"introducers": {"statuses": []}, "servers": []}
    for page in [
        directory_page(DIR_CAP, [], sample_children(), writable=True),
        info_page(CHK_CAP),
        welcome_page(facts),
    ]:
        tree = parse(page)
        assert tree.find_all("script") == []
        assert tree.find_all("link") == []
        assert len(tree.find_all("style")) == 1
        assert tree.find_all("meta", name="referrer", content="no-referrer")
        for element in tree.walk():
            assert "style" not in element.attrs
            for name in ("src", "href", "action"):
                target = element.attrs.get(name, "")
                assert not urlsplit(target).netloc, target


def welcome_facts() -> dict[str, Any]:
    """Two servers (one connected) and one introducer, with a hostile nickname."""
    return {
        "introducers": {"statuses": ["connected to pb://intro"]},
        "servers": [
            {
                "nodeid": "v0-aaaa",
                "connection_status": "connected",
                "available_space": 2_500_000_000,
                "nickname": XSS_NAME,
                "version": "grid/0.1",
                "last_received_data": 1.0,
            },
            {
                "nodeid": "v0-bbbb",
                "connection_status": "trying to connect",
                "available_space": None,
                "nickname": "beta",
                "version": None,
                "last_received_data": None,
            },
        ],
    }


def test_welcome_page_shows_servers_introducers_and_start_forms() -> None:
    """Servers with nickname, state and space; introducers; open-a-cap and mkdir forms."""
    page = welcome_page(welcome_facts())
    assert b"<script" not in page
    tree = parse(page)
    text = tree.all_text()
    assert "1 of 2 connected" in text
    rows = [
        [cell.all_text() for cell in row.find_all("td")]
        for row in tree.find_all("tr")
        if row.find_all("td")
    ]
    assert rows == [
        [XSS_NAME, "v0-aaaa", "connected", "2.5 GB", "grid/0.1"],
        ["beta", "v0-bbbb", "trying to connect", "\u2014", ""],
    ]
    assert "connected to pb://intro" in [li.all_text() for li in tree.find_all("li")]
    (open_form,) = tree.find_all("form", method="get")
    assert open_form.attrs["action"] == "/uri"
    assert "uri" in form_fields(open_form)
    (mkdir_form,) = tree.find_all("form", method="post")
    action = urlsplit(mkdir_form.attrs["action"])
    assert action.path == "/uri"
    assert parse_qs(action.query) == {"t": ["mkdir"], "redirect_to_result": ["true"]}


def test_welcome_page_without_servers_says_so() -> None:
    """An empty grid is described in words, with 'none' for introducers."""
    text = parse(welcome_page({"introducers": {"statuses": []}, "servers": []})).all_text()
    assert "No storage server is known yet." in text
    assert "none" in text


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (None, "\u2014"),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1_500_000, "1.5 MB"),
        (10**18, "1000.0 PB"),
    ],
)
def test_format_size(size: int | None, shown: str) -> None:
    """Sizes are written in decimal units with one decimal."""
    assert format_size(size) == shown


def test_format_time_of_absurd_values_is_a_dash() -> None:
    """A timestamp no calendar holds is shown as unknown rather than failing."""
    assert format_time(None) == "\u2014"
    assert format_time(1e300) == "\u2014"
    assert format_time(0) == "1970-01-01 00:00:00 UTC"


def test_page_headers_forbid_referrer_scripts_and_foreign_resources() -> None:
    """HTML pages go out as UTF-8 HTML with no-referrer and a CSP allowing only our style."""
    request = DummyRequest([b""])
    set_page_headers(request)
    headers = request.responseHeaders
    assert headers.getRawHeaders(b"content-type") == [b"text/html; charset=utf-8"]
    assert headers.getRawHeaders(b"referrer-policy") == [b"no-referrer"]
    (policy,) = headers.getRawHeaders(b"content-security-policy")
    assert b"default-src 'none'" in policy
    assert f"style-src '{PAGE_CSS_HASH}'".encode() in policy
    assert b"script-src" not in policy


class _Leaf(Resource):
    """A resource answering a fixed body."""

    isLeaf = True  # noqa: N815  Twisted's name

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  Twisted's name
        return b"leaf"


def test_no_referrer_wrapper_marks_every_response() -> None:
    """Whatever child answers, a response through the wrapper carries no-referrer."""
    root = Resource()
    root.putChild(b"leaf", _Leaf())
    root.putChild(b"missing", pages.notFound())
    wrapped = NoReferrer(root)
    for path in ([b"leaf"], [b"missing"]):
        request = DummyRequest(path)
        child = wrapped.getChildWithDefault(path[0], request)
        child.render(request)
        assert request.responseHeaders.getRawHeaders(b"referrer-policy") == [b"no-referrer"]
    request = DummyRequest([])
    root_leaf = NoReferrer(_Leaf())
    assert root_leaf.render(request) == b"leaf"
    assert request.responseHeaders.getRawHeaders(b"referrer-policy") == [b"no-referrer"]


def test_directory_urls_survive_a_round_trip() -> None:
    """Percent-decoding each segment of a directory URL gives back the cap and the names."""
    names = ["sp ace", "q?uery", "h#ash", "pct%", "\u00e9t\u00e9"]
    url = directory_url(DIR_CAP, names)
    segments = [unquote(segment) for segment in url.split("/")[2:]]
    assert segments == [DIR_CAP.to_string(), *names]
