"""Proven blocks for a repair: k distinct shares per segment, bad ones replaced.

Rules: the shares are tried in the order given (a repairer puts primary
shares first: decoding them is a join). For each segment the first k usable
shares with distinct numbers are asked for their block side by side; a
share that fails is dropped for good and replaced by the next one, and a
corrupt share's server is told why (``advise_corrupt_share``) once. Blocks
already proven for the segment are kept. Fewer than k usable shares raises
:class:`~grid.errors.NotEnoughSharesError`. Calls for one segment at a
time: a share is never read by two callers at once.
"""

import logging
from collections.abc import Collection, Sequence

from client.check.errors import CorruptShareError
from client.check.share_reader import SHARE_FAILURES, OpenedShare, ShareFailure, ShareReader
from client.download import ShareUnusableError
from client.download.remote_calls import gather
from grid.errors import NotEnoughSharesError

_log = logging.getLogger(__name__)


class BlockSupply:
    """Gives the proven blocks of k distinct shares for each segment of one file."""

    def __init__(self, readers: Sequence[ShareReader], needed: int) -> None:
        """Use ``readers`` in this order of preference; k is ``needed``."""
        self._readers = list(readers)
        self._needed = needed
        self._dropped: set[ShareReader] = set()

    async def open_any(self) -> OpenedShare:
        """Open shares in order until one is proven; return it."""
        for reader in self._readers:
            if reader in self._dropped:
                continue
            try:
                return await reader.open()
            except SHARE_FAILURES as error:
                await self._drop(reader, error)
        raise NotEnoughSharesError(self._needed, 0, "no share could be opened and proven")

    async def blocks(self, index: int) -> dict[int, bytes]:
        """Return k proven blocks of segment ``index``, keyed by share number."""
        found: dict[int, bytes] = {}
        while len(found) < self._needed:
            chosen = self._choose(found.keys())
            if len(found) + len(chosen) < self._needed:
                raise NotEnoughSharesError(
                    self._needed,
                    len(found) + len(chosen),
                    f"too few good shares left to rebuild segment {index}",
                )
            blocks = await gather(*(self._block(reader, index) for reader in chosen))
            for reader, block in zip(chosen, blocks, strict=True):
                if block is not None:
                    found[reader.shnum] = block
        return found

    def _choose(self, have: Collection[int]) -> list[ShareReader]:
        """The next usable shares with numbers not in ``have``, as many as still needed."""
        taken = set(have)
        chosen: list[ShareReader] = []
        for reader in self._readers:
            if len(taken) >= self._needed:
                break
            if reader in self._dropped or reader.shnum in taken:
                continue
            taken.add(reader.shnum)
            chosen.append(reader)
        return chosen

    async def _block(self, reader: ShareReader, index: int) -> bytes | None:
        try:
            (block,) = await reader.read_blocks(index, 1)
        except SHARE_FAILURES as error:
            await self._drop(reader, error)
            return None
        return block

    async def _drop(self, reader: ShareReader, error: ShareFailure) -> None:
        """Stop using ``reader``; tell its server if the share is corrupt."""
        self._dropped.add(reader)
        _log.info("repair.share-dropped share=%r error=%s", reader, error)
        if isinstance(error, CorruptShareError):
            try:
                await reader.advise_corrupt(str(error))
            except ShareUnusableError as failure:
                _log.info("repair.advice-failed share=%r error=%s", reader, failure)
