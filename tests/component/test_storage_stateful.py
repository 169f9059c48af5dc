"""A stateful property: the storage server behaves like a small in-memory model.

Random sequences of allocate / write / close / abort / read on immutable
buckets and of test-and-write / read on mutable slots, with restarts, are run
against a real server on a temporary directory and against a model made of
dicts and byte strings; every answer must agree.
"""

import shutil
import tempfile
from pathlib import Path

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    rule,
)
from twisted.internet.task import Clock

from storage_server.errors import (
    BadWriteEnablerError,
    BucketClosedError,
    ConflictingWriteError,
    DataTooLargeError,
)
from storage_server.server import BucketWriter, StorageServer

IMMUTABLE_SIS = [b"I" * 16, b"J" * 16]
MUTABLE_SIS = [b"M" * 16, b"N" * 16]
SHNUMS = st.integers(min_value=0, max_value=3)
SECRETS = (b"w" * 32, b"r" * 32, b"c" * 32)
WRONG_SECRETS = (b"X" * 32, b"r" * 32, b"c" * 32)
READ_VECTORS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=30)),
    max_size=3,
)


@attrs.define
class Upload:
    """The model of one bucket being uploaded."""

    storage_index: bytes
    shnum: int
    writer: BucketWriter
    content: bytearray
    written: set[int] = attrs.field(factory=set)
    state: str = "open"


def apply_slot_write(
    current: bytes, writes: list[tuple[int, bytes]], new_length: int | None
) -> bytes:
    """The model of a share's data after data vectors and a new length."""
    data = bytearray(current)
    for offset, piece in writes:
        if offset > len(data):
            data.extend(bytes(offset - len(data)))
        data[offset : offset + len(piece)] = piece
    if new_length is not None and new_length < len(data):
        del data[new_length:]
    return bytes(data)


@st.composite
def write_for(draw: st.DrawFn, upload: Upload) -> tuple[int, bytes]:
    """An (offset, data) write biased towards the interesting cases for ``upload``.

    Fresh bytes, a rewrite of the same bytes, a rewrite changing one written
    byte, or a write reaching past the allocated size.
    """
    size = len(upload.content)
    kind = draw(st.sampled_from(["fresh", "same", "conflict", "past-end"]))
    if kind == "past-end":
        offset = draw(st.integers(min_value=0, max_value=size + 5))
        minimum = max(0, size - offset + 1)
        return offset, draw(st.binary(min_size=minimum, max_size=minimum + 5))
    offset = draw(st.integers(min_value=0, max_value=size))
    end = draw(st.integers(min_value=offset, max_value=size))
    if kind == "fresh":
        return offset, draw(st.binary(min_size=end - offset, max_size=end - offset))
    data = bytearray(upload.content[offset:end])
    touched = sorted(upload.written & set(range(offset, end)))
    if kind == "conflict" and touched:
        position = draw(st.sampled_from(touched)) - offset
        data[position] ^= draw(st.integers(min_value=1, max_value=255))
    return offset, bytes(data)


class StorageMachine(RuleBasedStateMachine):
    """A real server and its model, driven by the same random operations."""

    uploads = Bundle("uploads")

    def __init__(self) -> None:
        """Start a server on a fresh directory, with empty models."""
        super().__init__()
        self.directory = Path(tempfile.mkdtemp())
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.server = self.new_server()
        self.finished: dict[tuple[bytes, int], bytes] = {}
        self.open_uploads: list[Upload] = []
        self.slots: dict[bytes, dict[int, bytes]] = {si: {} for si in MUTABLE_SIS}

    def new_server(self) -> StorageServer:
        """A started server on the machine's directory."""
        server = StorageServer(
            self.directory, b"n" * 20, clock=self.clock.seconds, free_space=lambda _: None
        )
        server.start()
        return server

    def teardown(self) -> None:
        """Remove the directory."""
        shutil.rmtree(self.directory)

    @rule(
        target=uploads,
        storage_index=st.sampled_from(IMMUTABLE_SIS),
        shnums=st.frozensets(SHNUMS, max_size=3),
        size=st.integers(min_value=0, max_value=40),
    )
    def allocate(self, storage_index: bytes, shnums: frozenset[int], size: int) -> object:
        """Allocation reports exactly the finished shares and allocates the free numbers."""
        already, writers = self.server.allocate_buckets(
            storage_index, SECRETS[1], SECRETS[2], shnums, size
        )
        held = {shnum for (si, shnum) in self.finished if si == storage_index}
        busy = {up.shnum for up in self.open_uploads if up.storage_index == storage_index}
        assert already == held
        assert set(writers) == set(shnums) - held - busy
        new = [
            Upload(storage_index, shnum, writer, bytearray(size))
            for shnum, writer in sorted(writers.items())
        ]
        self.open_uploads.extend(new)
        return multiple(*new)

    @rule(upload=uploads, draw=st.data())
    def write(self, upload: Upload, draw: st.DataObject) -> None:
        """A write succeeds or fails exactly as the model predicts."""
        offset, data = draw.draw(write_for(upload))
        end = offset + len(data)
        if upload.state != "open":
            expected: type[Exception] | None = BucketClosedError
        elif end > len(upload.content):
            expected = DataTooLargeError
        elif any(
            upload.content[pos] != data[pos - offset]
            for pos in range(offset, end)
            if pos in upload.written
        ):
            expected = ConflictingWriteError
        else:
            expected = None
        event(f"write: {expected.__name__ if expected else 'ok'}")
        if expected is not None:
            with pytest.raises(expected):
                upload.writer.write(offset, data)
            return
        upload.writer.write(offset, data)
        upload.content[offset:end] = data
        upload.written.update(range(offset, end))

    @rule(upload=uploads)
    def close(self, upload: Upload) -> None:
        """Closing an open bucket finishes the share; closing twice fails."""
        if upload.state != "open":
            with pytest.raises(BucketClosedError):
                upload.writer.close()
            return
        upload.writer.close()
        upload.state = "closed"
        self.open_uploads.remove(upload)
        self.finished[upload.storage_index, upload.shnum] = bytes(upload.content)

    @rule(upload=uploads)
    def abort(self, upload: Upload) -> None:
        """Aborting discards an open bucket and does nothing otherwise."""
        upload.writer.abort()
        if upload.state == "open":
            upload.state = "aborted"
            self.open_uploads.remove(upload)

    @rule(
        storage_index=st.sampled_from(IMMUTABLE_SIS),
        offset=st.integers(min_value=0, max_value=50),
        length=st.integers(min_value=0, max_value=50),
    )
    def read_buckets(self, storage_index: bytes, offset: int, length: int) -> None:
        """get_buckets lists the finished shares and reads them like the model."""
        readers = self.server.get_buckets(storage_index)
        expected = {
            shnum: data for (si, shnum), data in self.finished.items() if si == storage_index
        }
        assert set(readers) == set(expected)
        for shnum, reader in readers.items():
            assert reader.read(offset, length) == expected[shnum][offset : offset + length]

    @rule()
    def restart(self) -> None:
        """After the uploaders go away and the server restarts, finished shares remain."""
        for upload in list(self.open_uploads):
            upload.writer.abort()
            upload.state = "aborted"
        self.open_uploads.clear()
        self.server = self.new_server()

    @rule(storage_index=st.sampled_from(MUTABLE_SIS), data=st.data())
    def test_and_write(self, storage_index: bytes, data: st.DataObject) -> None:
        """A test-and-write passes, reads and writes exactly as the model says."""
        model = self.slots[storage_index]
        vectors = {}
        expected_pass = True
        for shnum in data.draw(st.frozensets(SHNUMS, min_size=1, max_size=2)):
            current = model.get(shnum, b"")
            tests = []
            for offset, length in data.draw(READ_VECTORS):
                specimen = current[offset : offset + length]
                if data.draw(st.booleans()):
                    specimen = specimen[:-1] + b"?" if specimen[-1:] != b"?" else specimen + b"!"
                    expected_pass = False
                tests.append((offset, length, b"eq", specimen))
            writes = data.draw(
                st.lists(
                    st.tuples(st.integers(min_value=0, max_value=40), st.binary(max_size=10)),
                    max_size=3,
                )
            )
            new_length = data.draw(st.none() | st.integers(min_value=0, max_value=50))
            vectors[shnum] = (tests, writes, new_length)
        read_vector = data.draw(READ_VECTORS)
        passed, reads = self.server.slot_testv_and_readv_and_writev(
            storage_index, SECRETS, vectors, read_vector
        )
        assert passed == expected_pass
        event(f"test-and-write passed: {passed}")
        assert reads == {
            shnum: [share[offset : offset + length] for offset, length in read_vector]
            for shnum, share in model.items()
        }
        if not passed:
            return
        for shnum, (_, writes, new_length) in vectors.items():
            if new_length == 0:
                model.pop(shnum, None)
            else:
                model[shnum] = apply_slot_write(model.get(shnum, b""), writes, new_length)

    @rule(storage_index=st.sampled_from(MUTABLE_SIS))
    def wrong_write_enabler(self, storage_index: bytes) -> None:
        """A wrong write enabler on a slot with shares is refused and changes nothing."""
        if not self.slots[storage_index]:
            return
        with pytest.raises(BadWriteEnablerError):
            self.server.slot_testv_and_readv_and_writev(
                storage_index, WRONG_SECRETS, {0: ([], [(0, b"bad")], 0)}, []
            )

    @rule(
        storage_index=st.sampled_from(MUTABLE_SIS),
        shares=st.lists(SHNUMS, max_size=3),
        read_vector=READ_VECTORS,
    )
    def slot_readv(
        self, storage_index: bytes, shares: list[int], read_vector: list[tuple[int, int]]
    ) -> None:
        """slot_readv returns the model's bytes for the named (or all) existing shares."""
        model = self.slots[storage_index]
        expected = {
            shnum: [share[offset : offset + length] for offset, length in read_vector]
            for shnum, share in model.items()
            if not shares or shnum in shares
        }
        assert self.server.slot_readv(storage_index, shares, read_vector) == expected


StorageMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestStorageMachine = StorageMachine.TestCase
