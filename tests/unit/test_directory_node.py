import asyncio
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import pytest

from client.directory import (
    BodyChange,
    CannotLinkError,
    ChildKind,
    ChildLink,
    ChildOfWrongTypeError,
    DirectoryNode,
    ExistingChildError,
    InvalidChildNameError,
    LiteralDirectoryBacking,
    NoSuchChildError,
    NotWritableError,
    Replace,
    build_immutable_directory_body,
    build_mutable_directory_body,
    get_child_at_path,
    open_directory_at_path,
    update_link_metadata,
)
from grid.caps import (
    CHKVerifyCap,
    DirectoryCap,
    LiteralCap,
    MutableFormat,
    MutableWriteCap,
    UnknownCap,
    parse_cap,
)
from grid.formats.dirnode import unpack_directory
from grid.netstring import parse_netstrings

T = TypeVar("T")
NormalForm = Literal["NFC", "NFD", "NFKC", "NFKD"]
NORMAL_FORMS: list[NormalForm] = ["NFC", "NFD", "NFKC", "NFKD"]

CHK = (
    "URI:CHK:dx7tvyr2fc4u7lxjc6kehq2svq:"
    "tiy4qh2g6lqejxcaym3rr7ymkdkinn4qised6kgxloj7sptsqu4a:3:10:1024"
)
FINGERPRINT = bytes(range(32))
VERIFY_CAP = CHKVerifyCap(bytes(16), bytes(32), 3, 10, 1024)


def run(coroutine: Awaitable[T]) -> T:
    """Run one coroutine to completion on a fresh event loop."""

    async def wrapper() -> T:
        return await coroutine

    return asyncio.run(wrapper())


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


class FakeMutableFile:
    """A mutable file in memory that publishes like a mutable file does.

    ``modify`` computes the new body from the version it read, yields to
    other tasks (where a real publish would wait on the network), and then
    publishes only if nobody else published in between; otherwise it has
    collided and calls ``change`` again on the winner's body. With
    ``lose_first_answer`` the first publish lands but is reported as a
    collision, as an uncoordinated write sometimes is.
    """

    def __init__(self, body: bytes = b"", *, lose_first_answer: bool = False) -> None:
        """Hold ``body`` as version 0."""
        self.body = body
        self.version = 0
        self.collisions = 0
        self.lose_first_answer = lose_first_answer

    async def read(self) -> bytes:
        """The current body."""
        return self.body

    async def modify(self, change: BodyChange) -> None:
        """Apply ``change``, retrying on the newer body after each collision."""
        while True:
            version = self.version
            new_body = change(self.body)
            if new_body is None:
                return
            await asyncio.sleep(0)
            if self.version != version:
                self.collisions += 1
                continue
            self.body = new_body
            self.version += 1
            if self.lose_first_answer:
                self.lose_first_answer = False
                self.collisions += 1
                continue
            return


def write_cap(seed: int, file_format: MutableFormat = MutableFormat.SDMF) -> MutableWriteCap:
    """A mutable write cap made from a seed."""
    return MutableWriteCap(file_format, bytes([seed]) * 16, FINGERPRINT)


def new_directory(
    clock: FakeClock | None = None, seed: int = 1, **backing_options: Any
) -> tuple[DirectoryNode, FakeMutableFile]:
    """An empty writable directory over a fake mutable file."""
    backing = FakeMutableFile(**backing_options)
    node = DirectoryNode(DirectoryCap(write_cap(seed)), backing, clock or FakeClock())
    return node, backing


def read_only_view(node: DirectoryNode, backing: FakeMutableFile) -> DirectoryNode:
    """The same directory opened through its read-only cap."""
    return DirectoryNode(node.cap.read_only(), backing, FakeClock())


# --- Listing and linking -------------------------------------------------------------------


def test_an_empty_directory_lists_nothing() -> None:
    """A new directory has no children and any lookup fails with NoSuchChildError."""
    node, _ = new_directory()
    assert run(node.list_children()) == {}
    with pytest.raises(NoSuchChildError, match="nope"):
        run(node.get_child("nope"))
    assert not run(node.has_child("nope"))


def test_linking_stores_both_caps_and_link_times() -> None:
    """A linked write cap is stored with its read cap and fresh linkcrtime/linkmotime."""
    clock = FakeClock(100.0)
    node, _ = new_directory(clock)
    child = DirectoryCap(write_cap(2))
    run(node.set_child("sub", child))
    entry = run(node.get_child("sub"))
    assert entry.write_cap == child
    assert entry.read_cap == child.read_only()
    assert entry.metadata == {"tahoe": {"linkcrtime": 100.0, "linkmotime": 100.0}}


def test_replacing_keeps_linkcrtime_and_moves_linkmotime() -> None:
    """Replacing a child keeps its linkcrtime, updates linkmotime, and takes new user keys."""
    clock = FakeClock(100.0)
    node, _ = new_directory(clock)
    run(node.set_child("f", ChildLink.to(parse_cap(CHK), {"note": "one"})))
    clock.now = 200.0
    run(node.set_child("f", ChildLink.to(LiteralCap(b"x"), {"other": 2, "tahoe": "ignored"})))
    entry = run(node.get_child("f"))
    assert entry.cap == LiteralCap(b"x")
    assert entry.metadata == {"other": 2, "tahoe": {"linkcrtime": 100.0, "linkmotime": 200.0}}


def test_replacing_without_metadata_keeps_the_old_keys() -> None:
    """Relinking with no metadata keeps the user keys already there."""
    clock = FakeClock(1.0)
    node, _ = new_directory(clock)
    run(node.set_child("f", ChildLink.to(LiteralCap(b"1"), {"keep": True})))
    clock.now = 2.0
    run(node.set_child("f", LiteralCap(b"2")))
    assert run(node.get_child("f")).metadata == {
        "keep": True,
        "tahoe": {"linkcrtime": 1.0, "linkmotime": 2.0},
    }


def test_legacy_ctime_becomes_linkcrtime() -> None:
    """Metadata from before Tahoe 1.4 (ctime, no tahoe key) gives its ctime as linkcrtime."""
    updated = update_link_metadata({"ctime": 5.0, "mtime": 6.0}, None, 9.0)
    assert updated == {"ctime": 5.0, "mtime": 6.0, "tahoe": {"linkcrtime": 5.0, "linkmotime": 9.0}}


def test_replace_false_refuses_an_existing_name() -> None:
    """replace=False on a taken name raises ExistingChildError and changes nothing."""
    node, backing = new_directory()
    run(node.set_child("f", LiteralCap(b"1")))
    before = backing.body
    with pytest.raises(ExistingChildError, match="'f'"):
        run(node.set_child("f", LiteralCap(b"2"), replace=False))
    assert backing.body == before
    run(node.set_child("g", LiteralCap(b"2"), replace=False))
    assert set(run(node.list_children())) == {"f", "g"}


def test_replace_only_files_refuses_to_replace_a_directory() -> None:
    """Replace.ONLY_FILES replaces a file but not a directory."""
    node, _ = new_directory()
    run(
        node.set_children(
            {"f": ChildLink.to(LiteralCap(b"1")), "d": ChildLink.to(DirectoryCap(write_cap(3)))}
        )
    )
    run(node.set_child("f", LiteralCap(b"2"), replace=Replace.ONLY_FILES))
    with pytest.raises(ExistingChildError, match="directory"):
        run(node.set_child("d", LiteralCap(b"2"), replace=Replace.ONLY_FILES))
    assert run(node.get_child("f")).cap == LiteralCap(b"2")


def test_set_children_is_all_or_nothing() -> None:
    """If one of several links is refused, none of them lands."""
    node, backing = new_directory()
    run(node.set_child("taken", LiteralCap(b"1")))
    before = backing.body
    links = {"new": ChildLink.to(LiteralCap(b"2")), "taken": ChildLink.to(LiteralCap(b"3"))}
    with pytest.raises(ExistingChildError):
        run(node.set_children(links, replace=False))
    assert backing.body == before


@pytest.mark.parametrize("name", ["", "a/b", "/"])
def test_bad_names_are_refused(name: str) -> None:
    """Empty names and names with '/' raise InvalidChildNameError."""
    node, _ = new_directory()
    with pytest.raises(InvalidChildNameError):
        run(node.set_child(name, LiteralCap(b"")))


def test_every_normal_form_of_a_name_is_one_child() -> None:
    """NFC, NFD, NFKC and NFKD spellings of a name all reach the same child."""
    node, _ = new_directory()
    name = "Cafe\u0301 \u00c5ngstr\u00f6m"
    for index, form in enumerate(NORMAL_FORMS):
        run(node.set_child(unicodedata.normalize(form, name), LiteralCap(bytes([index]))))
    children = run(node.list_children())
    assert list(children) == [unicodedata.normalize("NFC", name)]
    for form in NORMAL_FORMS:
        assert run(node.get_child(unicodedata.normalize(form, name))).cap == LiteralCap(b"\x03")


def test_compatibility_forms_stay_distinct_as_in_tahoe() -> None:
    """Names are NFC-normalized only: a ligature and its NFKC letters are two children."""
    node, _ = new_directory()
    run(node.set_child("\ufb01le", LiteralCap(b"1")))
    run(node.set_child("file", LiteralCap(b"2")))
    assert set(run(node.list_children())) == {"\ufb01le", "file"}


def test_no_write_metadata_links_read_only() -> None:
    """Metadata with no-write true stores only the read cap."""
    node, _ = new_directory()
    child = write_cap(4)
    run(node.set_child("ro", ChildLink.to(child, {"no-write": True})))
    entry = run(node.get_child("ro"))
    assert entry.write_cap is None
    assert entry.cap == child.read_only()


def test_set_metadata_replaces_user_keys_and_can_drop_write_access() -> None:
    """set_metadata keeps linkcrtime, sets linkmotime and honours no-write."""
    clock = FakeClock(1.0)
    node, _ = new_directory(clock)
    run(node.set_child("f", ChildLink.to(write_cap(5), {"a": 1})))
    clock.now = 3.0
    run(node.set_metadata("f", {"b": 2, "no-write": True}))
    entry = run(node.get_child("f"))
    assert entry.metadata == {
        "b": 2,
        "no-write": True,
        "tahoe": {"linkcrtime": 1.0, "linkmotime": 3.0},
    }
    assert entry.write_cap is None
    with pytest.raises(NoSuchChildError):
        run(node.set_metadata("missing", {}))


# --- Caps that need care -------------------------------------------------------------------


def test_unknown_caps_link_only_with_a_known_strength() -> None:
    """An unknown cap alone links only under ro./imm.; with its read cap it links as a pair."""
    node, _ = new_directory()
    with pytest.raises(CannotLinkError, match="unknown kind"):
        run(node.set_child("u", UnknownCap("x-future:rw")))
    run(node.set_child("r", UnknownCap("ro.x-future:ro")))
    run(node.set_child("p", ChildLink(UnknownCap("x-future:rw"), UnknownCap("x-future:ro"))))
    children = run(node.list_children())
    assert children["r"].write_cap is None
    assert children["r"].read_cap == UnknownCap("ro.x-future:ro")
    assert children["p"].write_cap == UnknownCap("x-future:rw")
    assert children["p"].read_cap == UnknownCap("ro.x-future:ro")


def test_refused_caps_are_never_linked() -> None:
    """A cap refused when parsed (a write cap under 'ro.') cannot be linked."""
    node, _ = new_directory()
    with pytest.raises(CannotLinkError, match="read-only context"):
        run(
            node.set_child(
                "w",
                UnknownCap(
                    "ro." + write_cap(6).to_string(),
                    error="a write cap used in a read-only context",
                ),
            )
        )
    with pytest.raises(CannotLinkError, match="write cap"):
        run(node.set_child("w", ChildLink(None, write_cap(6))))


# --- Read-only and immutable directories ---------------------------------------------------


def test_read_only_directories_hide_write_caps_and_refuse_changes() -> None:
    """Through a read-only cap children have no write caps and every change is refused."""
    node, backing = new_directory()
    run(node.set_child("sub", DirectoryCap(write_cap(7))))
    viewer = read_only_view(node, backing)
    entry = run(viewer.get_child("sub"))
    assert entry.write_cap is None
    assert entry.cap == DirectoryCap(write_cap(7)).read_only()
    for change in [
        viewer.set_child("x", LiteralCap(b"")),
        viewer.delete_child("sub"),
        viewer.rename_child("sub", "other"),
        viewer.set_metadata("sub", {}),
    ]:
        with pytest.raises(NotWritableError, match="read-only"):
            run(change)
    assert write_cap(7).to_string().encode() not in backing.body


def test_literal_directories_read_and_refuse_changes() -> None:
    """A DIR2-LIT directory lists the children its cap carries and cannot change."""
    body = build_immutable_directory_body({"a": ChildLink.to(parse_cap(CHK))})
    cap = DirectoryCap(LiteralCap(body))
    node = DirectoryNode(cap, LiteralDirectoryBacking(body), FakeClock())
    assert run(node.get_child("a")).cap == parse_cap(CHK)
    with pytest.raises(NotWritableError, match="immutable"):
        run(node.set_child("b", LiteralCap(b"")))
    with pytest.raises(NotWritableError, match="immutable"):
        run(LiteralDirectoryBacking(body).modify(lambda body: body))


# --- Unlink, rename, move ------------------------------------------------------------------


def test_delete_returns_the_removed_child() -> None:
    """Deleting returns the old entry; a missing name fails unless must_exist is False."""
    node, _ = new_directory()
    run(node.set_child("f", LiteralCap(b"1")))
    removed = run(node.delete_child("f"))
    assert removed is not None
    assert removed.cap == LiteralCap(b"1")
    assert run(node.list_children()) == {}
    with pytest.raises(NoSuchChildError):
        run(node.delete_child("f"))
    assert run(node.delete_child("f", must_exist=False)) is None


def test_delete_can_insist_on_the_childs_kind() -> None:
    """must_be refuses a file where a directory is expected, and the other way round."""
    node, _ = new_directory()
    run(
        node.set_children(
            {
                "file": ChildLink.to(LiteralCap(b"1")),
                "dir": ChildLink.to(DirectoryCap(write_cap(8))),
                "odd": ChildLink.to(UnknownCap("ro.x-future:1")),
            }
        )
    )
    with pytest.raises(ChildOfWrongTypeError):
        run(node.delete_child("file", must_be=ChildKind.DIRECTORY))
    with pytest.raises(ChildOfWrongTypeError):
        run(node.delete_child("dir", must_be=ChildKind.FILE))
    run(node.delete_child("odd", must_be=ChildKind.FILE))
    run(node.delete_child("dir", must_be=ChildKind.DIRECTORY))
    assert set(run(node.list_children())) == {"file"}


def test_rename_moves_the_child_as_a_new_link() -> None:
    """A rename keeps caps and user keys, and gives the new link fresh link times."""
    clock = FakeClock(1.0)
    node, _ = new_directory(clock)
    run(node.set_child("old", ChildLink.to(write_cap(9), {"k": "v"})))
    clock.now = 5.0
    run(node.rename_child("old", "new"))
    children = run(node.list_children())
    assert list(children) == ["new"]
    assert children["new"].write_cap == write_cap(9)
    assert children["new"].metadata == {"k": "v", "tahoe": {"linkcrtime": 5.0, "linkmotime": 5.0}}


def test_rename_over_an_existing_child_follows_replace() -> None:
    """Renaming onto a taken name replaces it (keeping its linkcrtime) unless replace=False."""
    clock = FakeClock(1.0)
    node, _ = new_directory(clock)
    run(node.set_child("a", LiteralCap(b"a")))
    clock.now = 2.0
    run(node.set_child("b", LiteralCap(b"b")))
    with pytest.raises(ExistingChildError):
        run(node.rename_child("a", "b", replace=False))
    clock.now = 3.0
    run(node.rename_child("a", "b"))
    entry = run(node.get_child("b"))
    assert entry.cap == LiteralCap(b"a")
    assert entry.metadata["tahoe"] == {"linkcrtime": 2.0, "linkmotime": 3.0}
    assert list(run(node.list_children())) == ["b"]


def test_rename_to_the_same_name_changes_nothing() -> None:
    """Renaming a child to its own name publishes nothing; a missing child is an error."""
    node, backing = new_directory()
    run(node.set_child("a", LiteralCap(b"a")))
    version = backing.version
    run(node.rename_child("a", "a"))
    assert backing.version == version
    with pytest.raises(NoSuchChildError):
        run(node.rename_child("missing", "other"))


def test_move_between_directories() -> None:
    """move_child_to links the child in the new parent and unlinks it here."""
    source, _ = new_directory(seed=10)
    target, _ = new_directory(seed=11)
    run(source.set_child("f", ChildLink.to(write_cap(12), {"k": 1})))
    run(source.move_child_to("f", target, "g"))
    assert run(source.list_children()) == {}
    entry = run(target.get_child("g"))
    assert entry.write_cap == write_cap(12)
    assert entry.metadata["k"] == 1
    run(target.move_child_to("g", target, "h"))
    assert list(run(target.list_children())) == ["h"]


def test_move_into_a_read_only_directory_is_refused_before_anything_changes() -> None:
    """Moving into a read-only directory fails and leaves the source as it was."""
    source, _ = new_directory(seed=10)
    target, target_file = new_directory(seed=11)
    run(source.set_child("f", LiteralCap(b"1")))
    with pytest.raises(NotWritableError):
        run(source.move_child_to("f", read_only_view(target, target_file)))
    assert set(run(source.list_children())) == {"f"}


# --- Concurrent writers --------------------------------------------------------------------


def test_two_concurrent_adders_both_land() -> None:
    """Two writers adding different names at once collide once, retry, and both land."""
    node, backing = new_directory()
    other = DirectoryNode(node.cap, backing, FakeClock())

    async def both() -> None:
        await asyncio.gather(
            node.set_child("one", LiteralCap(b"1")), other.set_child("two", LiteralCap(b"2"))
        )

    run(both())
    assert backing.collisions == 1
    assert set(run(node.list_children())) == {"one", "two"}


def test_concurrent_adders_of_one_name_with_replace_false() -> None:
    """When two writers race for one name with replace=False, exactly one wins."""
    node, _ = new_directory()

    async def both() -> tuple[BaseException | None, BaseException | None]:
        return await asyncio.gather(
            node.set_child("x", LiteralCap(b"1"), replace=False),
            node.set_child("x", LiteralCap(b"2"), replace=False),
            return_exceptions=True,
        )

    results = run(both())
    assert results[0] is None
    assert isinstance(results[1], ExistingChildError)
    assert run(node.get_child("x")).cap == LiteralCap(b"1")


def test_a_landed_change_reported_as_a_collision_still_succeeds() -> None:
    """If our own publish landed but looked like a collision, the retry sees it and succeeds."""
    node, backing = new_directory(lose_first_answer=True)
    run(node.set_child("x", LiteralCap(b"1"), replace=False))
    assert backing.collisions == 1
    backing.lose_first_answer = True
    assert run(node.delete_child("x")) is None
    assert run(node.list_children()) == {}


def test_many_concurrent_writers_all_land() -> None:
    """Ten writers linking at once all end up in the directory."""
    node, backing = new_directory()

    async def many() -> None:
        await asyncio.gather(
            *(node.set_child(f"n{index}", LiteralCap(bytes([index]))) for index in range(10))
        )

    run(many())
    assert set(run(node.list_children())) == {f"n{index}" for index in range(10)}
    assert backing.collisions > 0


# --- Paths ---------------------------------------------------------------------------------


def make_tree() -> tuple[DirectoryNode, Callable[[DirectoryCap], DirectoryNode | None]]:
    """A root with a/b/c (c a file) and an opener that finds each directory by cap."""
    nodes: dict[DirectoryCap, DirectoryNode] = {}
    backings: dict[DirectoryCap, FakeMutableFile] = {}
    for seed in (20, 21, 22):
        node, backing = new_directory(seed=seed)
        nodes[node.cap] = node
        backings[node.cap.read_only()] = backing
    root, a, b = nodes.values()
    run(root.set_child("a", a.cap))
    run(a.set_child("b", b.cap))
    run(b.set_child("c", LiteralCap(b"leaf")))

    def open_directory(cap: DirectoryCap) -> DirectoryNode | None:
        if cap.verify_cap() == cap:
            return None
        if cap in nodes:
            return nodes[cap]
        return DirectoryNode(cap, backings[cap], FakeClock())

    return root, open_directory


def test_paths_walk_down_to_a_child() -> None:
    """a/b/c reaches the file c; a/b opens the directory b; the empty path is the root."""
    root, open_directory = make_tree()
    assert run(get_child_at_path(root, "a/b/c", open_directory)).cap == LiteralCap(b"leaf")
    assert run(get_child_at_path(root, ["a", "b", "c"], open_directory)).cap == LiteralCap(b"leaf")
    b = run(open_directory_at_path(root, "a/b", open_directory))
    assert set(run(b.list_children())) == {"c"}
    assert run(open_directory_at_path(root, "", open_directory)) is root


def test_paths_report_missing_and_non_directory_components() -> None:
    """A missing component or a file in the middle gives a clear error naming the path."""
    root, open_directory = make_tree()
    with pytest.raises(NoSuchChildError, match="'x' in 'a/b'"):
        run(get_child_at_path(root, "a/b/x", open_directory))
    with pytest.raises(NoSuchChildError, match="'zz' in 'the starting directory'"):
        run(get_child_at_path(root, "zz/c", open_directory))
    with pytest.raises(ChildOfWrongTypeError, match="'a/b/c' is not a directory"):
        run(get_child_at_path(root, "a/b/c/d", open_directory))
    run(root.set_child("v", DirectoryCap(VERIFY_CAP)))
    with pytest.raises(ChildOfWrongTypeError, match="'v' is a directory that cannot be opened"):
        run(get_child_at_path(root, "v/x", open_directory))
    with pytest.raises(InvalidChildNameError):
        run(get_child_at_path(root, "a//b", open_directory))
    with pytest.raises(InvalidChildNameError):
        run(get_child_at_path(root, "", open_directory))


def test_paths_through_a_read_only_directory_stay_read_only() -> None:
    """Walking from a read-only root opens read-only directories below it."""
    root, open_directory = make_tree()
    viewer = open_directory(root.cap.read_only())
    assert viewer is not None
    b = run(open_directory_at_path(viewer, "a/b", open_directory))
    assert b.is_readonly
    with pytest.raises(NotWritableError):
        run(b.set_child("new", LiteralCap(b"")))


# --- New directories with children ---------------------------------------------------------


def test_immutable_bodies_take_only_immutable_children() -> None:
    """mkdir-immutable takes CHK, LIT, DIR2-CHK, DIR2-LIT and imm. unknowns, nothing else."""
    allowed = {
        "chk": ChildLink.to(parse_cap(CHK), {"k": 1}),
        "lit": ChildLink.to(LiteralCap(b"x")),
        "dlit": ChildLink.to(parse_cap("URI:DIR2-LIT:mrqxiyi")),
        "dchk": ChildLink.to(parse_cap(CHK.replace("URI:CHK:", "URI:DIR2-CHK:"))),
        "future": ChildLink.to(UnknownCap("imm.x-future:1")),
        "plain-future": ChildLink(None, UnknownCap("x-future:2")),
    }
    body = build_immutable_directory_body(allowed)
    entries = unpack_directory(body, mutable=False).entries
    assert set(entries) == set(allowed)
    assert entries["chk"].metadata == {"k": 1}
    assert entries["plain-future"].cap == UnknownCap("imm.x-future:2")
    refused = [
        ChildLink.to(write_cap(1)),
        ChildLink.to(write_cap(1).read_only()),
        ChildLink.to(DirectoryCap(write_cap(1)).read_only()),
        ChildLink.to(VERIFY_CAP),
        ChildLink.to(DirectoryCap(VERIFY_CAP)),
        ChildLink.to(UnknownCap("ro.x-future:1")),
        ChildLink.to(UnknownCap("x-future:1")),
    ]
    for link in refused:
        with pytest.raises(CannotLinkError):
            build_immutable_directory_body({"bad": link})


def test_mutable_bodies_seal_write_caps_under_the_new_writekey() -> None:
    """mkdir-with-children seals write caps under the new directory's writekey."""
    writekey = bytes([30]) * 16
    body = build_mutable_directory_body(
        {"sub": ChildLink.to(write_cap(31)), "e\u0301": ChildLink.to(LiteralCap(b""))}, writekey
    )
    entries = unpack_directory(body, mutable=True, writekey=writekey).entries
    assert entries["sub"].write_cap == write_cap(31)
    assert list(entries) == ["sub", "\u00e9"]
    with pytest.raises(CannotLinkError, match="two children"):
        build_mutable_directory_body(
            {"\u00e9": ChildLink.to(LiteralCap(b"")), "e\u0301": ChildLink.to(LiteralCap(b""))},
            writekey,
        )


def test_a_thousand_children_through_the_node() -> None:
    """1,000 children linked in one change list back, in order, from a body of sane size."""
    node, backing = new_directory()
    links = {f"f{index:04d}": ChildLink.to(parse_cap(CHK)) for index in range(1000)}
    run(node.set_children(links))
    assert list(run(node.list_children())) == sorted(links)
    assert len(parse_netstrings(backing.body)) == 1000
    assert len(backing.body) < 1000 * 450
