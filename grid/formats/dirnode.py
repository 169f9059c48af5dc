"""Directory bodies: the plaintext a directory's file holds, packed as Tahoe-LAFS 1.20 packs it.

Rules (``tahoe-formats.md`` §8):

- A body is the concatenation of ``netstring(entry)``, one per child, in
  order of name (NFC-normalized; code point order, which is also UTF-8 byte
  order). The empty directory is the empty body.
- ``entry = netstring(name) + netstring(read_cap) + netstring(rwcapdata) +
  netstring(metadata)``. Bytes after an entry's four netstrings are ignored,
  as Tahoe ignores them.
- Names are UTF-8, NFC-normalized when read and when written, never empty and
  never containing ``/``. When two entries' names normalize alike, the later
  one wins, as in Tahoe's reader.
- The read slot holds the child's read-only cap (UTF-8) or nothing. Readers
  strip trailing spaces; empty means none. It is always read as if it carried
  ``ro.`` (``imm.`` in an immutable directory), so a write cap found there is
  never granted: it becomes an :class:`~grid.caps.UnknownCap` with an error.
  An unknown cap read from it keeps that prefix, as Tahoe's web API shows it,
  and the prefix is stripped again when it is written back. A new entry's
  unknown read cap must carry ``ro.`` or ``imm.``: nothing of unknown
  strength is written in clear.
- ``rwcapdata`` in a mutable directory is ``salt(16) + AES-128-CTR(key,
  write_cap) + MAC(32)``: the salt is derived from the write cap itself, the
  key from the salt and the directory's writekey, and the MAC (Tahoe's
  non-standard HMAC over salt and ciphertext) is written but never checked. A
  child without a write cap gets the encryption of ``b""`` (48 bytes). Readers
  take an empty field as "no write cap", refuse 1 to 47 bytes, and decrypt
  only when given the writekey (a read-only view hides every write cap).
- ``rwcapdata`` in an immutable directory is empty; anything else is refused.
  An immutable directory holds only CHK, LIT, DIR2-CHK and DIR2-LIT caps and
  unknown caps under ``imm.`` (checked when writing; readers are lenient).
- Metadata is a JSON object written like Python's ``json.dumps`` defaults
  (``", "`` and ``": "`` separators, ASCII, insertion order). Readers accept
  any JSON object.
- An entry that is unchanged since it was read is written back byte for byte
  (:func:`pack_directory` with ``unchanged_from``), as Tahoe does, so old
  encodings (random salts, longer float reprs) survive a rewrite.
- Malformed input raises :class:`DirectoryFormatError` and nothing else.
"""

import json
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from grid.caps import (
    ALLEGED_IMMUTABLE_PREFIX,
    ALLEGED_READONLY_PREFIX,
    ChildCap,
    DirectoryCap,
    UnknownCap,
    parse_child_cap,
)
from grid.caps.directory import FILE_CAP_TYPES
from grid.crypto.aes import aes_ctr
from grid.errors import CapError, EncodingError, KeyFormatError
from grid.formats.dirnode_errors import DirectoryFormatError
from grid.hashing import HASH_SIZE, KEY_SIZE, dirnode_child_key, dirnode_child_salt, tahoe_hmac
from grid.netstring import netstring, parse_netstring

SALT_SIZE = KEY_SIZE
MAC_SIZE = HASH_SIZE
MIN_RWCAPDATA_SIZE = SALT_SIZE + MAC_SIZE
IMMUTABLE_DIRECTORY_KINDS = frozenset({"CHK", "LIT", "DIR2-CHK", "DIR2-LIT"})
"""The kinds of known cap an immutable directory may hold."""

_CHILD_CAP_TYPES = (*FILE_CAP_TYPES, DirectoryCap, UnknownCap)
_ENTRY_FIELD_COUNT = 4
_SHOWN_NAME_LENGTH = 60


def _shown(name: str) -> str:
    """A child name as quoted in an error message, cut if long."""
    return repr(name[:_SHOWN_NAME_LENGTH])


def normalize_child_name(name: str) -> str:
    """Return ``name`` NFC-normalized; raise DirectoryFormatError if no child may have it."""
    if not isinstance(name, str):
        raise DirectoryFormatError(f"a child name is str, not {type(name).__name__}")
    normalized = unicodedata.normalize("NFC", name)
    if not normalized:
        raise DirectoryFormatError("a child name must not be empty")
    if "/" in normalized:
        raise DirectoryFormatError(f"child name {_shown(normalized)} contains '/'")
    try:
        normalized.encode("utf-8")
    except UnicodeEncodeError as error:
        raise DirectoryFormatError(
            f"child name {_shown(normalized)} is not encodable as UTF-8"
        ) from error
    return normalized


def _check_name(_instance: Any, _attribute: Any, value: Any) -> None:
    """Validate (for attrs) that a name is a usable child name, already normalized."""
    if normalize_child_name(value) != value:
        raise DirectoryFormatError(f"child name {_shown(value)} is not NFC-normalized")


def _check_child_cap(_instance: Any, attribute: Any, value: Any) -> None:
    """Validate (for attrs) that a slot holds a cap or nothing."""
    if value is not None and not isinstance(value, _CHILD_CAP_TYPES):
        raise DirectoryFormatError(f"{attribute.name} must be a cap, not {type(value).__name__}")
    if isinstance(value, UnknownCap):
        try:
            value.text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise DirectoryFormatError(f"{attribute.name} is not encodable as UTF-8") from error


def _check_read_cap(instance: Any, attribute: Any, value: Any) -> None:
    """Validate (for attrs) that the read slot holds nothing that could grant writing."""
    _check_child_cap(instance, attribute, value)
    if isinstance(value, UnknownCap):
        if not value.text.startswith((ALLEGED_READONLY_PREFIX, ALLEGED_IMMUTABLE_PREFIX)):
            raise DirectoryFormatError(
                "an unknown read cap must carry 'ro.' or 'imm.': its strength is not known"
            )
    elif value is not None and not value.is_readonly:
        raise DirectoryFormatError(f"a {value.kind} write cap cannot be a read cap")


def _copy_metadata(value: Mapping[str, Any]) -> dict[str, Any]:
    """Convert (for attrs) metadata to a private dict copy."""
    if not isinstance(value, Mapping):
        raise DirectoryFormatError(f"metadata is a mapping, not {type(value).__name__}")
    return dict(value)


@attrs.frozen
class DirectoryEntry:
    """One child of a directory: its name, caps and metadata.

    ``write_cap`` is None for a read-only child, and for every child of a
    directory read without its writekey. ``metadata`` is a copy of what was
    given; treat it as read-only.
    """

    name: str = attrs.field(validator=_check_name)
    read_cap: ChildCap | None = attrs.field(validator=_check_read_cap)
    write_cap: ChildCap | None = attrs.field(default=None, validator=_check_child_cap)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_copy_metadata, hash=False)

    @property
    def cap(self) -> ChildCap | None:
        """The strongest cap this entry gives: the write cap if known, else the read cap."""
        if self.write_cap is not None:
            return self.write_cap
        return self.read_cap


@attrs.frozen(eq=False)
class UnpackedDirectory:
    """The children read from a directory body, with the bytes each was read from."""

    entries: Mapping[str, DirectoryEntry]
    entry_bytes: Mapping[str, bytes] = attrs.field(repr=False)
    mutable: bool
    writekey: bytes | None = attrs.field(repr=False)

    def unchanged_bytes(
        self, entry: DirectoryEntry, mutable: bool, writekey: bytes | None
    ) -> bytes | None:
        """The bytes ``entry`` was read from, if it is unchanged and packed the same way."""
        original = self.entries.get(entry.name)
        if original != entry or mutable != self.mutable or writekey != self.writekey:
            return None
        return self.entry_bytes[entry.name]


def _check_writekey(writekey: bytes) -> None:
    """Refuse a directory writekey of the wrong size."""
    if len(writekey) != KEY_SIZE:
        raise KeyFormatError(f"a directory writekey is {KEY_SIZE} bytes, got {len(writekey)}")


def encrypt_write_cap(dir_writekey: bytes, write_cap: bytes) -> bytes:
    """Seal a child's write cap (``b""`` if none) as a mutable directory's rwcapdata."""
    _check_writekey(dir_writekey)
    salt = dirnode_child_salt(write_cap)
    key = dirnode_child_key(salt, dir_writekey)
    ciphertext = aes_ctr(key, write_cap)
    return salt + ciphertext + tahoe_hmac(key, salt + ciphertext)


def decrypt_write_cap(dir_writekey: bytes, rwcapdata: bytes) -> bytes:
    """Open a mutable directory's rwcapdata; the MAC is not checked, as in Tahoe."""
    _check_writekey(dir_writekey)
    if len(rwcapdata) < MIN_RWCAPDATA_SIZE:
        raise DirectoryFormatError(
            f"rwcapdata is {len(rwcapdata)} bytes, at least {MIN_RWCAPDATA_SIZE} expected"
        )
    salt = rwcapdata[:SALT_SIZE]
    return aes_ctr(dirnode_child_key(salt, dir_writekey), rwcapdata[SALT_SIZE:-MAC_SIZE])


def _read_slot_text(cap: ChildCap | None, deep_immutable: bool) -> str:
    """The text written in an entry's read slot: one alleged prefix stripped."""
    if cap is None:
        return ""
    text = cap.to_string()
    if text.startswith(ALLEGED_READONLY_PREFIX):
        return text[len(ALLEGED_READONLY_PREFIX) :]
    if deep_immutable and text.startswith(ALLEGED_IMMUTABLE_PREFIX):
        return text[len(ALLEGED_IMMUTABLE_PREFIX) :]
    return text


def check_allowed_in_immutable_directory(entry: DirectoryEntry) -> None:
    """Raise DirectoryFormatError unless ``entry`` may be a child of an immutable directory."""
    cap = entry.read_cap
    where = f"child {_shown(entry.name)}"
    if entry.write_cap is not None:
        raise DirectoryFormatError(f"{where}: an immutable directory holds no write caps")
    if cap is None:
        raise DirectoryFormatError(f"{where}: a child of an immutable directory needs a cap")
    if isinstance(cap, UnknownCap):
        if cap.error is not None or not cap.text.startswith(ALLEGED_IMMUTABLE_PREFIX):
            raise DirectoryFormatError(
                f"{where}: an unknown cap in an immutable directory must be a valid 'imm.' cap"
            )
    elif cap.kind not in IMMUTABLE_DIRECTORY_KINDS:
        raise DirectoryFormatError(
            f"{where}: a {cap.kind} cap cannot be a child of an immutable directory"
        )


def serialize_metadata(metadata: Mapping[str, Any]) -> bytes:
    """Serialize metadata as Python's ``json.dumps`` does by default."""
    try:
        return json.dumps(metadata).encode("ascii")
    except (TypeError, ValueError, RecursionError) as error:
        raise DirectoryFormatError(f"metadata is not serializable as JSON: {error}") from error


def _dump_metadata(entry: DirectoryEntry) -> bytes:
    """Serialize an entry's metadata, saying which child it belongs to if it cannot be."""
    try:
        return serialize_metadata(entry.metadata)
    except DirectoryFormatError as error:
        raise DirectoryFormatError(f"child {_shown(entry.name)}: {error}") from error


def _pack_entry(entry: DirectoryEntry, mutable: bool, writekey: bytes | None) -> bytes:
    """Pack one entry afresh (without its netstring wrapper)."""
    if mutable:
        if writekey is None:
            raise DirectoryFormatError(
                f"child {_shown(entry.name)}: a mutable directory's entry needs its writekey"
            )
        write_text = "" if entry.write_cap is None else entry.write_cap.to_string()
        rwcapdata = encrypt_write_cap(writekey, write_text.encode("utf-8"))
    else:
        check_allowed_in_immutable_directory(entry)
        rwcapdata = b""
    read_text = _read_slot_text(entry.read_cap, deep_immutable=not mutable)
    return b"".join(
        [
            netstring(entry.name.encode("utf-8")),
            netstring(read_text.encode("utf-8")),
            netstring(rwcapdata),
            netstring(_dump_metadata(entry)),
        ]
    )


def pack_directory(
    entries: Iterable[DirectoryEntry],
    *,
    mutable: bool,
    writekey: bytes | None = None,
    unchanged_from: UnpackedDirectory | None = None,
) -> bytes:
    """Pack children into a directory body.

    A mutable directory needs its ``writekey`` for every entry not reused;
    an immutable one takes none. Entries equal to those read into
    ``unchanged_from`` (the previous body of the same directory, read with
    the same writekey) are written back exactly as they were read.
    """
    if not mutable and writekey is not None:
        raise DirectoryFormatError("an immutable directory has no writekey")
    if writekey is not None:
        _check_writekey(writekey)
    by_name: dict[str, DirectoryEntry] = {}
    for entry in entries:
        if entry.name in by_name:
            raise DirectoryFormatError(f"two children are named {_shown(entry.name)}")
        by_name[entry.name] = entry
    packed: list[bytes] = []
    for name in sorted(by_name):
        entry = by_name[name]
        reused = None
        if unchanged_from is not None:
            reused = unchanged_from.unchanged_bytes(entry, mutable, writekey)
        packed.append(
            netstring(reused if reused is not None else _pack_entry(entry, mutable, writekey))
        )
    return b"".join(packed)


def _decode_text(data: bytes, what: str) -> str:
    """Decode UTF-8 text from an entry, raising DirectoryFormatError if it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DirectoryFormatError(f"{what} is not UTF-8") from error


def _parse_slot_cap(text: str, where: str, deep_immutable: bool) -> ChildCap:
    """Parse a cap from an entry leniently; only impossible text raises."""
    try:
        return parse_child_cap(text, deep_immutable=deep_immutable)
    except CapError as error:
        raise DirectoryFormatError(f"{where}: {error}") from error


def _read_slot_cap(data: bytes, where: str, deep_immutable: bool) -> ChildCap | None:
    """The cap in an entry's read slot, read as if prefixed ``ro.`` (or ``imm.``)."""
    text = _decode_text(data.rstrip(b" "), f"{where}: the read cap")
    if not text:
        return None
    if not text.startswith((ALLEGED_READONLY_PREFIX, ALLEGED_IMMUTABLE_PREFIX)):
        prefix = ALLEGED_IMMUTABLE_PREFIX if deep_immutable else ALLEGED_READONLY_PREFIX
        text = prefix + text
    return _parse_slot_cap(text, where, deep_immutable)


def _write_slot_cap(
    rwcapdata: bytes, where: str, mutable: bool, writekey: bytes | None
) -> ChildCap | None:
    """The write cap sealed in an entry's rwcapdata, or None if absent or hidden."""
    if not mutable:
        if rwcapdata:
            raise DirectoryFormatError(f"{where}: an immutable directory's rwcapdata is not empty")
        return None
    if not rwcapdata:
        return None
    if len(rwcapdata) < MIN_RWCAPDATA_SIZE:
        raise DirectoryFormatError(
            f"{where}: rwcapdata is {len(rwcapdata)} bytes, at least {MIN_RWCAPDATA_SIZE} expected"
        )
    if writekey is None:
        return None
    text = _decode_text(
        decrypt_write_cap(writekey, rwcapdata).rstrip(b" "), f"{where}: the write cap"
    )
    if not text:
        return None
    return _parse_slot_cap(text, where, deep_immutable=False)


def _load_metadata(data: bytes, where: str) -> dict[str, Any]:
    """Parse an entry's metadata: any JSON object."""
    text = _decode_text(data, f"{where}: metadata")
    try:
        metadata = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DirectoryFormatError(f"{where}: metadata is not JSON") from error
    if not isinstance(metadata, dict):
        raise DirectoryFormatError(f"{where}: metadata is not a JSON object")
    return metadata


def _unpack_entry(data: bytes, index: int, mutable: bool, writekey: bytes | None) -> DirectoryEntry:
    """Read one entry (the payload of its netstring)."""
    fields: list[bytes] = []
    position = 0
    try:
        for _ in range(_ENTRY_FIELD_COUNT):
            field, position = parse_netstring(data, position)
            fields.append(field)
    except EncodingError as error:
        raise DirectoryFormatError(f"directory entry {index}: {error}") from error
    name_bytes, read_bytes, rwcapdata, metadata_bytes = fields
    name = normalize_child_name(_decode_text(name_bytes, f"directory entry {index}: the name"))
    where = f"child {_shown(name)}"
    return DirectoryEntry(
        name,
        _read_slot_cap(read_bytes, where, deep_immutable=not mutable),
        _write_slot_cap(rwcapdata, where, mutable, writekey),
        _load_metadata(metadata_bytes, where),
    )


def unpack_directory(
    body: bytes, *, mutable: bool, writekey: bytes | None = None
) -> UnpackedDirectory:
    """Read a directory body.

    ``mutable`` says which kind of directory it is; ``writekey`` (mutable
    directories only) reveals the write caps, which stay hidden without it.
    """
    if writekey is not None:
        if not mutable:
            raise DirectoryFormatError("an immutable directory has no writekey")
        _check_writekey(writekey)
    entries: dict[str, DirectoryEntry] = {}
    entry_bytes: dict[str, bytes] = {}
    position = 0
    index = 0
    while position < len(body):
        try:
            data, position = parse_netstring(body, position)
        except EncodingError as error:
            raise DirectoryFormatError(f"directory entry {index}: {error}") from error
        entry = _unpack_entry(data, index, mutable, writekey)
        entries[entry.name] = entry
        entry_bytes[entry.name] = data
        index += 1
    return UnpackedDirectory(entries, entry_bytes, mutable, writekey)
