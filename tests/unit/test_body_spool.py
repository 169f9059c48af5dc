import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.web.resource import Resource

from client.web.body_spool import LARGE_BODY, MEMORY_BODY, PooledSpool, SpoolingSite, SpoolPool


def _fill(spool: PooledSpool, data: bytes) -> None:
    spool.write(data)
    spool.seek(0)


def test_a_spool_is_cut_to_the_body_length_and_reads_back() -> None:
    """A new spool has the body's length; what is written reads back from 0."""
    pool = SpoolPool()
    spool = pool.take(10)
    assert spool.seek(0, io.SEEK_END) == 10
    spool.seek(0)
    _fill(spool, b"0123456789")
    assert spool.read() == b"0123456789"
    spool.close()


def test_a_given_back_file_is_reused_and_cut_to_the_next_length() -> None:
    """The next request gets the same file, at its own length, with its own bytes."""
    pool = SpoolPool()
    first = pool.take(8)
    _fill(first, b"AAAAAAAA")
    first.close()
    assert pool.idle == 1
    second = pool.take(3)
    assert pool.idle == 0
    assert second.seek(0, io.SEEK_END) == 3
    second.seek(0)
    _fill(second, b"bbb")
    assert second.read() == b"bbb"


def test_a_closed_spool_refuses_every_use_even_after_its_file_is_lent_again() -> None:
    """A handler still holding a finished request's body gets ValueError, never new bytes."""
    pool = SpoolPool()
    old = pool.take(4)
    _fill(old, b"old!")
    old.close()
    new = pool.take(4)
    _fill(new, b"new!")
    for use in (old.read, old.tell, lambda: old.seek(0), lambda: old.write(b"x")):
        with pytest.raises(ValueError, match="closed"):
            use()
    assert old.closed
    old.close()
    assert pool.idle == 0
    assert new.read() == b"new!"


def test_the_pool_keeps_few_files_and_cuts_big_ones() -> None:
    """At most ``idle`` files wait, each cut to at most ``keep`` bytes."""
    pool = SpoolPool(idle=2, keep=16)
    spools = [pool.take(64) for _ in range(3)]
    for spool in spools:
        spool.close()
    assert pool.idle == 2
    again = pool.take(0)
    assert again.seek(0, io.SEEK_END) == 0
    kept = pool.take(64)
    kept.seek(16)
    assert kept.read() == b"\x00" * 48


@settings(max_examples=30, deadline=None)
@given(bodies=st.lists(st.binary(max_size=300), min_size=1, max_size=6))
def test_reused_spools_always_hold_exactly_their_own_body(bodies: list[bytes]) -> None:
    """Whatever lengths follow one another, each spool reads back exactly its body."""
    pool = SpoolPool(idle=1, keep=128)
    for body in bodies:
        spool = pool.take(len(body))
        _fill(spool, body)
        assert spool.read() == body
        assert spool.seek(0, io.SEEK_END) == len(body)
        spool.close()


def test_the_site_spools_only_large_bodies_in_the_pool() -> None:
    """Small bodies go to memory, unknown lengths to a new file, large ones to the pool."""
    site = SpoolingSite(Resource())
    small = site.getContentFile(MEMORY_BODY - 1)
    assert isinstance(small, io.BytesIO)
    unknown = site.getContentFile(None)
    assert not isinstance(unknown, (io.BytesIO, PooledSpool))
    unknown.close()
    large = site.getContentFile(LARGE_BODY)
    assert isinstance(large, PooledSpool)
    large.close()
    assert site.spools.idle == 1
