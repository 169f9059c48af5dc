from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.base32 import a2b, b2a
from grid.caps import CHKReadCap, parse_cap
from grid.chk_encode import (
    ChkEncoder,
    convergent_key,
    encode_chk,
    encode_chk_segment,
    encode_chk_segments,
    plaintext_segments,
    share_hash_chain_order,
)
from grid.chk_plan import ChkPlan
from grid.errors import EncodingParametersError
from grid.formats.immutable_container import parse_container
from grid.formats.immutable_share import parse_share
from grid.formats.uri_extension import parse_uri_extension
from grid.hashtree import needed_hashes
from tests.chk_samples import (
    MemorySink,
    chk_vectors,
    encode_convergent,
    manifest,
    sample_plaintext,
    vector_inputs,
)
from tests.vectors import TAHOE_SHARES_DIR

CONVERGENCE_A = b"a" * 16
ALL_CHK_VECTORS = list(chk_vectors())


def cap_string(key: bytes, ueb_hash: bytes, plan: ChkPlan) -> str:
    """Build the CHK read cap text for an encoding."""
    return CHKReadCap(
        key=key,
        uri_extension_hash=ueb_hash,
        needed_shares=plan.needed,
        total_shares=plan.total,
        size=plan.size,
    ).to_string()


def test_worked_example_1024_bytes() -> None:
    """1024 x 'a' at 3/10 reproduces every intermediate value of the worked example."""
    plan = ChkPlan(size=1024, needed=3, total=10, max_segment_size=131072)
    key, ueb_hash, sink = encode_convergent(b"a" * 1024, CONVERGENCE_A, plan)
    assert b2a(key) == "dx7tvyr2fc4u7lxjc6kehq2svq"
    share0 = parse_share(sink.bodies()[0])
    ueb = parse_uri_extension(share0.uri_extension)
    assert len(share0.uri_extension) == 316
    assert b2a(ueb.crypttext_hash) == "kger2gaay7xwqgbjapwvmellt7eikz5kwcfb55s6rbtqhhyvwg5a"
    assert b2a(ueb.crypttext_root_hash) == "vjg64hnsyo4ht2kymlha3unguxvipmd4gpisiku43rjtg3imgq3a"
    assert b2a(ueb.share_root_hash) == "37f3grchgd2ibgluq6mhnhz5kuaghnutdhqxfbr5gylbahnnjzua"
    assert b2a(share0.block_hash_tree[0]) == "gsrekjtdl7ywvpncm5re5q3ftxsoyulxiyzom3wepfkvx6wjz7iq"
    assert [node for node, _ in share0.share_hashes] == [2, 4, 8, 15, 16]
    assert all(len(body) == 964 for body in sink.bodies().values())
    assert cap_string(key, ueb_hash, plan) == (
        "URI:CHK:dx7tvyr2fc4u7lxjc6kehq2svq:"
        "tiy4qh2g6lqejxcaym3rr7ymkdkinn4qised6kgxloj7sptsqu4a:3:10:1024"
    )


def _check_vector(entry: dict[str, object]) -> None:
    plaintext, secret, plan = vector_inputs(entry)  # type: ignore[arg-type]
    key, ueb_hash, _ = encode_convergent(plaintext, secret, plan)
    assert cap_string(key, ueb_hash, plan) == entry["expected"]


SMALL_VECTORS = [entry for entry in ALL_CHK_VECTORS if entry["sample"]["length"] <= 131073]


@pytest.mark.parametrize("entry", SMALL_VECTORS, ids=lambda entry: entry["expected"][-24:])
def test_small_chk_vectors(entry: dict[str, object]) -> None:
    """Every CHK vector up to one segment gives Tahoe's exact cap."""
    _check_vector(entry)


@pytest.mark.slow
@pytest.mark.parametrize(
    "entry",
    [entry for entry in ALL_CHK_VECTORS if entry not in SMALL_VECTORS],
    ids=lambda entry: entry["expected"][-24:],
)
def test_large_chk_vectors(entry: dict[str, object]) -> None:
    """Every multi-segment CHK vector (up to 8 MiB + 1) gives Tahoe's exact cap."""
    _check_vector(entry)


def test_every_chk_vector_is_run() -> None:
    """The two tests above cover all 120 CHK vectors of test_vectors.yaml."""
    assert len(ALL_CHK_VECTORS) == 120


def test_shares_are_byte_identical_to_tahoe_1_20() -> None:
    """Encoding the sample file gives exactly the share data Tahoe 1.20 stored."""
    entry = next(item for item in manifest()["files"] if item["kind"] == "CHK")
    plaintext = sample_plaintext(b"chk-sample", entry["plaintext"]["length"])
    plan = ChkPlan(size=len(plaintext), needed=3, total=5, max_segment_size=131072)
    key, ueb_hash, sink = encode_convergent(plaintext, b"\x42" * 16, plan)
    assert cap_string(key, ueb_hash, plan) == entry["read_cap"]
    for shnum, body in sink.bodies().items():
        stored = (TAHOE_SHARES_DIR / "chk" / f"share-{shnum}.bin").read_bytes()
        assert body == parse_container(stored).share_data


@pytest.mark.parametrize("total", [1, 2, 3, 5, 7, 10, 16, 17, 100, 256])
def test_share_hash_order_is_the_needed_set(total: int) -> None:
    """The stored chain is always exactly the leaf plus its uncles, each once."""
    for shnum in range(total):
        order = share_hash_chain_order(total, shnum)
        assert len(order) == len(set(order))
        assert set(order) == needed_hashes(total, shnum, include_leaf=True)


def test_fixed_key_is_used_as_given() -> None:
    """With a fixed key, the cap carries that key and its storage index derives from it."""
    plan = ChkPlan(size=1000, needed=2, total=4, max_segment_size=300)
    key = a2b("aeaqcaibaeaqcaibaeaqcaibae")
    sink = MemorySink()
    result = encode_chk(key, plan, plaintext_segments(plan, b"x" * 1000), sink)
    cap = parse_cap(cap_string(key, result.uri_extension_hash, plan))
    assert isinstance(cap, CHKReadCap)
    assert cap.key == key
    assert cap.storage_index == result.storage_index


def test_convergent_key_depends_on_secret_and_parameters() -> None:
    """The same plaintext gives different keys under a different secret, k, N or segment size."""
    data = b"z" * 5000
    base = ChkPlan(size=5000, needed=3, total=10, max_segment_size=4096)
    keys = {
        convergent_key(b"s1", base, [data]),
        convergent_key(b"s2", base, [data]),
        convergent_key(
            b"s1", ChkPlan(size=5000, needed=2, total=10, max_segment_size=4096), [data]
        ),
        convergent_key(b"s1", ChkPlan(size=5000, needed=3, total=9, max_segment_size=4096), [data]),
        convergent_key(
            b"s1", ChkPlan(size=5000, needed=3, total=10, max_segment_size=2048), [data]
        ),
    }
    assert len(keys) == 5


@settings(max_examples=30, deadline=None)
@given(
    st.binary(min_size=56, max_size=3000), st.integers(1, 5), st.integers(0, 5), st.integers(1, 700)
)
def test_threaded_and_serial_encodings_agree(
    plaintext: bytes, needed: int, extra: int, max_segment: int
) -> None:
    """Encoding with worker threads writes the same bytes as encoding on one thread."""
    plan = ChkPlan(
        size=len(plaintext), needed=needed, total=needed + extra, max_segment_size=max_segment
    )
    key = b"\x05" * 16
    serial, threaded = MemorySink(), MemorySink()
    encode_chk(key, plan, plaintext_segments(plan, plaintext), serial)
    with ThreadPoolExecutor(max_workers=2) as executor:
        encode_chk(
            key, plan, plaintext_segments(plan, plaintext), threaded, executor=executor, window=2
        )
    assert serial.bodies() == threaded.bodies()


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=600),
    max_segment_size=st.integers(min_value=1, max_value=90),
    first_fraction=st.floats(min_value=0, max_value=1),
    run=st.integers(min_value=1, max_value=8),
)
def test_a_run_of_segments_encodes_as_each_segment_alone(
    size: int, max_segment_size: int, first_fraction: float, run: int
) -> None:
    """Encoding joined whole segments gives each segment's own encoding, in order."""
    plan = ChkPlan(size=size, needed=3, total=5, max_segment_size=max_segment_size)
    key = b"\x07" * 16
    plaintext = sample_plaintext(b"run", size)
    first = int(first_fraction * (plan.num_segments - 1))
    last = min(first + run, plan.num_segments) - 1
    start, end = plan.segment_span(first)[0], plan.segment_span(last)[1]
    together = encode_chk_segments(key, plan, first, plaintext[start:end])
    alone = [
        encode_chk_segment(key, plan, index, plaintext[slice(*plan.segment_span(index))])
        for index in range(first, last + 1)
    ]
    assert together == alone


def test_a_run_must_be_whole_segments() -> None:
    """A run that ends inside a segment, or is empty, is refused."""
    plan = ChkPlan(size=100, needed=1, total=2, max_segment_size=40)
    key = b"\x01" * 16
    for first, data in ((0, b"x" * 50), (0, b""), (1, b"x" * 30), (2, b"x" * 40), (3, b"x")):
        with pytest.raises(EncodingParametersError):
            encode_chk_segments(key, plan, first, data)
    assert len(encode_chk_segments(key, plan, 1, b"x" * 60)) == 2


def test_segments_must_arrive_in_order_and_complete() -> None:
    """The encoder refuses out-of-order segments, wrong sizes and early finishing."""
    plan = ChkPlan(size=100, needed=1, total=2, max_segment_size=40)
    key = b"\x01" * 16
    encoder = ChkEncoder(key, plan)
    with pytest.raises(EncodingParametersError):
        encoder.add_segment(encode_chk_segment(key, plan, 1, b"x" * 40))
    with pytest.raises(EncodingParametersError):
        encode_chk_segment(key, plan, 2, b"x" * 40)
    encoder.add_segment(encode_chk_segment(key, plan, 0, b"x" * 40))
    with pytest.raises(EncodingParametersError):
        encoder.finish()
    with pytest.raises(EncodingParametersError):
        ChkEncoder(b"short", plan)
