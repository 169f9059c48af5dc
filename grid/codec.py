"""The zfec erasure code: one segment into N blocks, any k of which restore it.

Rules: the caller pads (:func:`pad_to_multiple`); :func:`encode_segment`
requires a length that k divides. Blocks 0..k-1 are the segment's own k
slices (the code is systematic), so decoding from them is a join. Parameters
must satisfy 1 <= k <= N <= 256, else
:class:`~grid.errors.EncodingParametersError`.
"""

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Protocol, cast

import zfec

from grid.errors import EncodingParametersError

MAX_SHARES = 256


class _Encoder(Protocol):
    def encode(self, blocks: Sequence[bytes | memoryview]) -> list[bytes | memoryview]: ...


class _Decoder(Protocol):
    def decode(self, blocks: Sequence[bytes], share_numbers: Sequence[int]) -> list[bytes]: ...


def check_parameters(needed: int, total: int) -> None:
    """Raise EncodingParametersError unless 1 <= needed <= total <= 256."""
    if not 1 <= needed <= total <= MAX_SHARES:
        raise EncodingParametersError(
            f"need 1 <= k <= N <= {MAX_SHARES}, got k={needed}, N={total}"
        )


@lru_cache(maxsize=64)
def _encoder(needed: int, total: int) -> _Encoder:
    return cast(_Encoder, zfec.Encoder(needed, total))


@lru_cache(maxsize=64)
def _decoder(needed: int, total: int) -> _Decoder:
    return cast(_Decoder, zfec.Decoder(needed, total))


def pad_to_multiple(data: bytes, needed: int) -> bytes:
    """Append zero bytes until ``needed`` divides the length."""
    return data + b"\x00" * (-len(data) % needed)


def encode_segment(segment: bytes | memoryview, needed: int, total: int) -> list[bytes]:
    """Split a padded segment into ``total`` blocks of ``len(segment) // needed`` bytes."""
    check_parameters(needed, total)
    if len(segment) % needed:
        raise EncodingParametersError(f"segment of {len(segment)} bytes is not a multiple of k")
    view = memoryview(segment)
    size = len(segment) // needed
    inputs = [view[i * size : (i + 1) * size] for i in range(needed)]
    if needed == total:
        return [bytes(block) for block in inputs]
    parity = _encoder(needed, total).encode(inputs)[needed:]
    return [bytes(block) for block in inputs] + [bytes(block) for block in parity]


def decode_segment(blocks: Mapping[int, bytes], needed: int, total: int) -> bytes:
    """Rebuild a padded segment from any ``needed`` blocks, keyed by block number."""
    check_parameters(needed, total)
    chosen = sorted(number for number in blocks if 0 <= number < total)[:needed]
    if len(chosen) < needed:
        raise EncodingParametersError(f"need {needed} distinct blocks, got {len(chosen)}")
    sizes = {len(blocks[number]) for number in chosen}
    if len(sizes) != 1:
        raise EncodingParametersError("blocks of one segment must all be the same size")
    if chosen == list(range(needed)):
        return b"".join(blocks[number] for number in chosen)
    restored = _decoder(needed, total).decode([blocks[number] for number in chosen], chosen)
    return b"".join(restored)
