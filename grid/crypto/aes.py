"""AES-128 in CTR mode, exactly as Tahoe-LAFS encrypts file data and keys.

Rules: the key is 16 bytes; the initial counter block is 16 zero bytes for
stream offset 0, and the counter is the whole 128-bit block read as a
big-endian integer, incremented once per 16 bytes. A stream opened at byte
``offset`` therefore starts at counter ``offset // 16`` and discards
``offset % 16`` keystream bytes, so it yields exactly the bytes the stream
from offset 0 yields from ``offset`` on. Encryption and decryption are the
same operation. A bad key raises :class:`~grid.errors.KeyFormatError`; a
negative offset is a caller bug and raises :class:`ValueError`.
"""

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from grid.errors import KeyFormatError

AES_KEY_SIZE = 16
AES_BLOCK_SIZE = 16
_COUNTER_BYTES = 16


def _update_into_slack() -> int:
    """How many bytes beyond the input ``update_into`` wants in its output buffer.

    Older ``cryptography`` releases asked for ``len(data) + 15`` even for CTR;
    newer ones accept exactly ``len(data)``. We ask once, at import.
    """
    context = Cipher(algorithms.AES(bytes(AES_KEY_SIZE)), modes.CTR(bytes(_COUNTER_BYTES)))
    probe = b"\x00" * AES_BLOCK_SIZE
    try:
        context.encryptor().update_into(probe, bytearray(len(probe)))
    except ValueError:
        return AES_BLOCK_SIZE - 1
    return 0


_UPDATE_INTO_SLACK = _update_into_slack()


class CtrStream:
    """One AES-128-CTR keystream, consumed in order by successive calls.

    Build it with :func:`open_ctr_stream`. Each call continues where the last
    one stopped, so feeding data in any split gives the same bytes as one call.
    """

    __slots__ = ("_context",)

    def __init__(self, context: CipherContext) -> None:
        """Wrap a ``cryptography`` CTR context already positioned in the stream."""
        self._context = context

    def process(self, data: bytes | bytearray | memoryview) -> bytes:
        """Encrypt (or decrypt) the next ``len(data)`` bytes of the stream."""
        return self._context.update(data)

    def process_into(
        self, data: bytes | bytearray | memoryview, out: bytearray | memoryview
    ) -> None:
        """Encrypt the next ``len(data)`` bytes of the stream into ``out[:len(data)]``.

        ``out`` must be writable and at least ``len(data)`` bytes long.
        """
        size = len(data)
        if len(out) < size:
            raise ValueError(f"output buffer has {len(out)} bytes, need {size}")
        if len(out) >= size + _UPDATE_INTO_SLACK:
            self._context.update_into(data, out)
        else:
            out[:size] = self._context.update(data)


def open_ctr_stream(key: bytes, offset: int = 0) -> CtrStream:
    """Open the AES-128-CTR stream under ``key``, positioned at byte ``offset``."""
    if len(key) != AES_KEY_SIZE:
        raise KeyFormatError(f"AES key must be {AES_KEY_SIZE} bytes, got {len(key)}")
    if offset < 0:
        raise ValueError(f"stream offset must not be negative, got {offset}")
    block_index, skip = divmod(offset, AES_BLOCK_SIZE)
    counter_block = (block_index % (1 << (8 * _COUNTER_BYTES))).to_bytes(_COUNTER_BYTES, "big")
    context = Cipher(algorithms.AES(key), modes.CTR(counter_block)).encryptor()
    if skip:
        context.update(bytes(skip))
    return CtrStream(context)


def aes_ctr(key: bytes, data: bytes | bytearray | memoryview, offset: int = 0) -> bytes:
    """Encrypt (or decrypt) ``data`` that sits at byte ``offset`` of the stream under ``key``."""
    return open_ctr_stream(key, offset).process(data)
