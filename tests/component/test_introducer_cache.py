import logging
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from grid.base32 import b2a
from introducer.cache import (
    AnnouncementCache,
    CacheContents,
    CachedAnnouncement,
    CacheFormatError,
    cache_path,
    parse_cache,
    render_cache,
)

SERVER_ID = "v0-" + b2a(bytes(range(32)))
OTHER_ID = "v0-" + b2a(bytes(range(1, 33)))
FIELDS = {
    "version": 0,
    "nickname": "storage-1",
    "app-versions": [],
    "my-version": "tahoe-lafs/1.20.0",
    "oldest-supported": "1.0.0",
    "service-name": "storage",
    "anonymous-storage-FURL": "pb://" + "a" * 32 + "@tcp:127.0.0.1:3457/" + "b" * 32,
    "permutation-seed-base32": b2a(bytes(range(32))),
    "seqnum": 3,
    "nonce": b2a(bytes(32)),
}

# The shape Tahoe-LAFS 1.20 writes (yaml.safe_dump of [{ann: ..., key_s: ...}]).
TAHOE_STYLE_CACHE = f"""\
- ann:
    anonymous-storage-FURL: pb://{"a" * 32}@tcp:127.0.0.1:3457/{"b" * 32}
    app-versions: []
    my-version: tahoe-lafs/1.20.0
    nickname: storage-1
    nonce: {b2a(bytes(32))}
    oldest-supported: 1.0.0
    permutation-seed-base32: {b2a(bytes(range(32)))}
    seqnum: 3
    service-name: storage
    version: 0
  key_s: {SERVER_ID}
"""

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


def test_round_trip(tmp_path: Path) -> None:
    """Stored announcements load back with the same ids and fields."""
    cache = AnnouncementCache(cache_path(tmp_path, "default"))
    stored = [CachedAnnouncement(SERVER_ID, FIELDS), CachedAnnouncement(OTHER_ID, FIELDS)]
    cache.store(stored)
    assert cache.load() == stored
    assert cache.path == tmp_path / "private" / "introducer_default_cache.yaml"


def test_reads_the_file_tahoe_writes() -> None:
    """A cache in Tahoe's layout parses to its announcement."""
    assert parse_cache(TAHOE_STYLE_CACHE) == CacheContents(
        (CachedAnnouncement(SERVER_ID, FIELDS),), 0
    )


def test_writes_the_layout_tahoe_reads() -> None:
    """The rendered file is a YAML list of {ann, key_s} mappings."""
    document = yaml.safe_load(render_cache([CachedAnnouncement(SERVER_ID, FIELDS)]))
    assert document == [{"ann": FIELDS, "key_s": SERVER_ID}]


def test_a_missing_file_holds_nothing(tmp_path: Path) -> None:
    """No cache file means no cached announcements."""
    assert AnnouncementCache(tmp_path / "absent.yaml").load() == []


@pytest.mark.parametrize(
    "text", ["{{{ not yaml", "just a string", "ann: {}", "- [unclosed", "\tkey: value"]
)
def test_a_corrupt_file_is_ignored(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache that is not a YAML list loads as empty, with a warning."""
    path = tmp_path / "cache.yaml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        assert AnnouncementCache(path).load() == []
    assert "introducer.cache.ignored" in caplog.text


def test_undecodable_bytes_are_ignored(tmp_path: Path) -> None:
    """A cache that is not UTF-8 loads as empty."""
    path = tmp_path / "cache.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert AnnouncementCache(path).load() == []


def test_bad_entries_are_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Unusable entries are skipped and counted; good ones survive."""
    entries = [
        "not a mapping",
        {"ann": FIELDS},
        {"ann": "not a dict", "key_s": SERVER_ID},
        {"ann": FIELDS, "key_s": "v0-tooshort"},
        {"ann": {**FIELDS, "service-name": 7}, "key_s": SERVER_ID},
        {"ann": {1: "integer key"}, "key_s": SERVER_ID},
        {"ann": FIELDS, "key_s": OTHER_ID},
    ]
    path = tmp_path / "cache.yaml"
    path.write_text(yaml.safe_dump(entries))
    with caplog.at_level(logging.WARNING):
        assert AnnouncementCache(path).load() == [CachedAnnouncement(OTHER_ID, FIELDS)]
    assert "introducer.cache.entries-skipped" in caplog.text
    assert parse_cache(path.read_text()).skipped == 6


def test_an_empty_file_holds_nothing() -> None:
    """An empty cache file is an empty cache, not an error."""
    assert parse_cache("") == CacheContents((), 0)


def test_store_replaces_a_corrupt_file_atomically(tmp_path: Path) -> None:
    """Storing over a corrupt file rewrites it and leaves no temporary file."""
    cache = AnnouncementCache(tmp_path / "cache.yaml")
    cache.path.write_text("{{{")
    cache.store([CachedAnnouncement(SERVER_ID, FIELDS)])
    assert cache.load() == [CachedAnnouncement(SERVER_ID, FIELDS)]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache.yaml"]


def test_store_of_nothing_writes_an_empty_list(tmp_path: Path) -> None:
    """An empty store writes a file that loads as empty."""
    cache = AnnouncementCache(tmp_path / "cache.yaml")
    cache.store([])
    assert yaml.safe_load(cache.path.read_text()) == []
    assert cache.load() == []


@given(st.text())
def test_arbitrary_text_parses_or_raises_only_cache_format_error(text: str) -> None:
    """Any text gives cache contents or CacheFormatError, nothing else."""
    try:
        contents = parse_cache(text)
    except CacheFormatError:
        return
    assert all(isinstance(entry, CachedAnnouncement) for entry in contents.announcements)


@given(st.lists(yaml_values, max_size=4))
def test_arbitrary_yaml_lists_never_crash(entries: list[object]) -> None:
    """Any YAML list parses; every entry is either kept or counted as skipped."""
    contents = parse_cache(yaml.safe_dump(entries))
    assert len(contents.announcements) + contents.skipped == len(entries)


@given(st.dictionaries(st.text(min_size=1, max_size=8), yaml_values, max_size=5))
def test_any_fields_round_trip(extra: dict[str, object]) -> None:
    """Whatever JSON-like fields an announcement carries survive the cache."""
    fields = {**extra, "service-name": "storage"}
    text = render_cache([CachedAnnouncement(SERVER_ID, fields)])
    assert parse_cache(text).announcements == (CachedAnnouncement(SERVER_ID, fields),)
