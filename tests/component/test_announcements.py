"""Signed announcements: signing, parsing, hostile input, and the replacement rule."""

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import assume, given
from hypothesis import strategies as st

from grid.base32 import a2b, b2a
from grid.crypto.ed25519 import NodeSigningKey
from introducer.announcements import (
    ANNOUNCEMENT_MAX_BYTES,
    AnnouncementTable,
    SignedAnnouncement,
    base_announcement_fields,
    parse_announcement,
    sign_announcement,
    storage_announcement_fields,
)
from introducer.errors import (
    AnnouncementError,
    AnnouncementSignatureError,
    AnnouncementTooLargeError,
    IntroducerError,
)
from tests.strategies.crypto import mutated_bytes, node_signing_keys

SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))
FURL = "pb://ah3ptpgr4ukvohm5qaqncbm43itd7ikj@tcp:127.0.0.1:45678/swissnumswissnumswissnumswissnum"
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
ANY_OBJECTS = st.recursive(
    st.none() | st.integers() | st.binary(max_size=40) | st.text(max_size=20) | st.floats(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children, children)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


def storage_fields(seqnum: int = 1, nickname: str = "alpha") -> dict[str, Any]:
    """Typical storage announcement fields."""
    return storage_announcement_fields(
        nickname=nickname,
        furl=FURL,
        permutation_seed_b32="aaaa",
        seqnum=seqnum,
        nonce=b2a(b"n" * 32),
        app_version="grid/0.1.0",
    )


def raw_wire(message: bytes, seed: bytes = SEED) -> tuple[bytes, bytes, bytes]:
    """A wire triple signing arbitrary ``message`` bytes with cryptography directly."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return message, b"v0-" + b2a(private.sign(message)).encode(), b"v0-" + b2a(public).encode()


@st.composite
def announcement_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Arbitrary JSON fields that make a valid announcement."""
    fields = draw(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6))
    fields["service-name"] = draw(st.text(min_size=1, max_size=12))
    fields["seqnum"] = draw(st.integers(min_value=0, max_value=2**70))
    return fields


@given(fields=announcement_fields(), key=node_signing_keys(), as_list=st.booleans())
def test_sign_then_parse_round_trips(
    fields: dict[str, Any], key: NodeSigningKey, as_list: bool
) -> None:
    """Parsing what was signed (as a tuple or a list) gives the same announcement and fields."""
    signed = sign_announcement(fields, key)
    wire = signed.to_wire()
    parsed = parse_announcement(list(wire) if as_list else wire)
    assert parsed == signed
    assert dict(parsed.fields) == fields == parsed.as_dict()
    assert parsed.server_id == key.verifying_key.to_id()
    assert parsed.index == (fields["service-name"], key.verifying_key.to_id())


def test_signature_is_ed25519_over_the_exact_message_bytes() -> None:
    """The wire values are v0-b32 of the raw key and of Ed25519(message), per cryptography."""
    signed = sign_announcement(storage_fields(), NodeSigningKey(SEED))
    message, signature, key = signed.to_wire()
    assert message == json.dumps(storage_fields()).encode("utf-8")
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert key == b"v0-" + b2a(public).encode()
    assert signature == b"v0-" + b2a(private.sign(message)).encode()
    Ed25519PublicKey.from_public_bytes(a2b(key[3:].decode())).verify(
        a2b(signature[3:].decode()), message
    )


def test_foreign_message_bytes_are_kept_exactly() -> None:
    """An announcement signed elsewhere, with its own JSON spacing, is accepted byte for byte."""
    message = b'{"service-name":"storage",  "seqnum": 7,"nickname":"\\u00e9t\\u00e9"}'
    parsed = parse_announcement(raw_wire(message))
    assert parsed.message == message
    assert (parsed.service_name, parsed.seqnum, parsed.nickname) == ("storage", 7, "été")
    assert parsed.nonce == ""


def test_fields_are_read_only() -> None:
    """A parsed announcement's fields cannot be changed through the mapping."""
    signed = sign_announcement(storage_fields(), NodeSigningKey(SEED))
    with pytest.raises(TypeError):
        signed.fields["seqnum"] = 99  # type: ignore[index]
    copy = signed.as_dict()
    copy["seqnum"] = 99
    assert signed.seqnum == 1


def test_every_single_byte_change_of_the_message_fails_verification() -> None:
    """Changing any one byte of the signed message makes the signature fail."""
    message, signature, key = sign_announcement(storage_fields(), NodeSigningKey(SEED)).to_wire()
    for position in range(len(message)):
        changed = bytearray(message)
        changed[position] ^= 0x01
        with pytest.raises(AnnouncementSignatureError):
            parse_announcement((bytes(changed), signature, key))


@given(data=st.data())
def test_any_change_of_a_signed_triple_is_rejected(data: st.DataObject) -> None:
    """Truncating, extending or overwriting any part of a valid triple raises AnnouncementError."""
    wire = list(sign_announcement(storage_fields(), NodeSigningKey(SEED)).to_wire())
    part = data.draw(st.integers(min_value=0, max_value=2))
    mutated = data.draw(mutated_bytes(wire[part]))
    assume(mutated != wire[part])
    wire[part] = mutated
    with pytest.raises(AnnouncementError):
        parse_announcement(tuple(wire))


def test_signature_by_another_key_is_rejected() -> None:
    """A message signed by one key and presented with another key's id does not verify."""
    message, signature, _ = raw_wire(b'{"service-name": "storage", "seqnum": 1}')
    _, _, other_key = raw_wire(b"", OTHER_SEED)
    with pytest.raises(AnnouncementSignatureError):
        parse_announcement((message, signature, other_key))


@pytest.mark.parametrize(
    ("signature", "key"),
    [
        (b"", b"v0-key"),
        (b"", b""),
        (b"v1-" + b"a" * 103, None),
        (None, b"pub-v0-" + b"a" * 52),
        (None, b"v0-" + b"A" * 52),
        (None, b"v0-" + b"a" * 51 + b"b"),
        (b"v0-" + b"8" * 103, None),
        (b"v0-" + "é".encode() * 52, None),
    ],
)
def test_unsigned_or_malformed_prefixes_are_rejected(
    signature: bytes | None, key: bytes | None
) -> None:
    """Missing signatures, other prefixes and non-canonical base32 raise AnnouncementError."""
    message, good_signature, good_key = raw_wire(b'{"service-name": "storage", "seqnum": 1}')
    with pytest.raises(AnnouncementError):
        parse_announcement(
            (
                message,
                good_signature if signature is None else signature,
                good_key if key is None else key,
            )
        )


@pytest.mark.parametrize(
    "message",
    [
        b'{"seqnum": 1}',
        b'{"service-name": "", "seqnum": 1}',
        b'{"service-name": 5, "seqnum": 1}',
        b'{"service-name": "storage"}',
        b'{"service-name": "storage", "seqnum": -1}',
        b'{"service-name": "storage", "seqnum": true}',
        b'{"service-name": "storage", "seqnum": 1.0}',
        b'{"service-name": "storage", "seqnum": "1"}',
        b'{"service-name": "storage", "seqnum": NaN}',
        b'{"service-name": "storage", "seqnum": 1, "x": Infinity}',
        b'{"service-name": "storage", "seqnum": 1, "nickname": "\\ud800"}',
        b'{"service-name": "storage", "seqnum": 1, "\\udfff": 0}',
        b'{"service-name": "st\xff", "seqnum": 1}',
        b'["service-name", "storage"]',
        b"",
        b"null",
        b"[" * 30000 + b"]" * 30000,
        b'{"service-name": "storage", "seqnum": 1' + b"1" * 5000 + b"}",
    ],
)
def test_signed_but_unusable_messages_are_rejected(message: bytes) -> None:
    """Correctly signed messages that are not a usable JSON announcement raise AnnouncementError."""
    with pytest.raises(AnnouncementError):
        parse_announcement(raw_wire(message))


def test_oversized_announcements_are_rejected() -> None:
    """A message over the size limit is refused, whether parsed or signed."""
    fields = storage_fields(nickname="x" * ANNOUNCEMENT_MAX_BYTES)
    with pytest.raises(AnnouncementTooLargeError):
        sign_announcement(fields, NodeSigningKey(SEED))
    with pytest.raises(AnnouncementTooLargeError):
        parse_announcement(raw_wire(json.dumps(fields).encode()))


@pytest.mark.parametrize(
    "fields",
    [
        {"service-name": "storage", "seqnum": 1, "bad": object()},
        {"service-name": "storage", "seqnum": 1, "bad": float("nan")},
        {"service-name": "storage"},
        {"seqnum": 1},
    ],
)
def test_signing_unusable_fields_raises_announcement_error(fields: dict[str, Any]) -> None:
    """Fields that are not JSON or lack the required keys are refused before signing."""
    with pytest.raises(AnnouncementError):
        sign_announcement(fields, NodeSigningKey(SEED))


@given(wire=ANY_OBJECTS)
def test_garbage_objects_raise_only_announcement_error(wire: object) -> None:
    """Arbitrary objects are rejected with AnnouncementError, never another exception."""
    with pytest.raises(AnnouncementError):
        parse_announcement(wire)


@given(
    message=st.binary(max_size=200),
    signature=st.binary(max_size=120).map(lambda tail: b"v0-" + tail),
    key=st.binary(max_size=60).map(lambda tail: b"v0-" + tail),
)
def test_garbage_triples_raise_only_announcement_error(
    message: bytes, signature: bytes, key: bytes
) -> None:
    """Byte triples with the right prefixes but random contents raise only AnnouncementError."""
    with pytest.raises(IntroducerError) as caught:
        parse_announcement((message, signature, key))
    assert isinstance(caught.value, AnnouncementError)


@given(message=st.binary(max_size=300))
def test_validly_signed_garbage_raises_only_announcement_error(message: bytes) -> None:
    """Random message bytes with a good signature are accepted only if they are an announcement."""
    try:
        parsed = parse_announcement(raw_wire(message))
    except AnnouncementError:
        return
    assert parsed.message == message


def test_storage_fields_have_tahoes_keys_in_tahoes_order() -> None:
    """Storage fields carry the common keys, FURL and seed, seqnum and nonce, and no NURLs."""
    assert list(storage_fields()) == [
        "version",
        "nickname",
        "app-versions",
        "my-version",
        "oldest-supported",
        "service-name",
        "anonymous-storage-FURL",
        "permutation-seed-base32",
        "seqnum",
        "nonce",
    ]
    fields = storage_fields(seqnum=4)
    assert fields["version"] == 0
    assert fields["app-versions"] == []
    assert fields["oldest-supported"] == "1.0.0"
    assert fields["service-name"] == "storage"
    assert (fields["anonymous-storage-FURL"], fields["seqnum"]) == (FURL, 4)
    assert "anonymous-storage-NURLs" not in fields


def test_base_fields_name_the_service() -> None:
    """Base fields carry the given service name, version string, seqnum and nonce."""
    fields = base_announcement_fields(
        service_name="helper", nickname="n", seqnum=3, nonce="abc", app_version="grid/1"
    )
    signed = sign_announcement(fields, NodeSigningKey(SEED))
    assert (signed.service_name, signed.seqnum, signed.nonce) == ("helper", 3, "abc")
    assert (signed.nickname, signed.my_version) == ("n", "grid/1")


def signed(seqnum: int, seed: bytes = SEED, nickname: str = "alpha") -> SignedAnnouncement:
    """A storage announcement with the given seqnum from the key of ``seed``."""
    return sign_announcement(storage_fields(seqnum, nickname), NodeSigningKey(seed))


def test_higher_seqnum_replaces() -> None:
    """A newer seqnum from the same key and service replaces the held announcement."""
    table = AnnouncementTable()
    assert table.offer(signed(1))
    assert table.offer(signed(2, nickname="renamed"))
    assert len(table) == 1
    assert table.current("storage")[0].nickname == "renamed"


def test_equal_lower_and_identical_seqnums_are_ignored() -> None:
    """An identical repeat, an equal seqnum with new contents, or a lower one is ignored."""
    table = AnnouncementTable()
    first = signed(5)
    assert table.offer(first)
    assert not table.offer(first)
    assert not table.offer(signed(5, nickname="changed"))
    assert not table.offer(signed(4))
    assert table.current() == [first]


def test_index_is_service_and_key() -> None:
    """Different keys, and different services of one key, are held side by side."""
    table = AnnouncementTable()
    helper = sign_announcement(
        base_announcement_fields(
            service_name="helper", nickname="h", seqnum=1, nonce="x", app_version="v"
        ),
        NodeSigningKey(SEED),
    )
    assert table.offer(signed(9))
    assert table.offer(signed(1, OTHER_SEED))
    assert table.offer(helper)
    assert len(table) == 3
    assert [item.seqnum for item in table.current("storage")] == [9, 1]
    assert table.current("helper") == [helper]
    assert table.get("storage", helper.server_id) == signed(9)
    assert table.get("nothing", helper.server_id) is None


@given(seqnums=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=30))
def test_table_keeps_the_highest_seqnum_in_any_order(seqnums: list[int]) -> None:
    """Whatever order announcements arrive in, the table ends with the highest seqnum only."""
    table = AnnouncementTable()
    announcements = {seqnum: signed(seqnum) for seqnum in set(seqnums)}
    accepted = [table.offer(announcements[seqnum]) for seqnum in seqnums]
    assert len(table) == 1
    assert table.current()[0].seqnum == max(seqnums)
    assert sum(accepted) == len({s for i, s in enumerate(seqnums) if s > max(seqnums[:i] or [-1])})
