"""``grid debug encode-chk``: the cap a file gets, and optionally its shares, offline."""

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from grid import base32
from grid.caps import CHKReadCap, LiteralCap
from grid.chk_encode import convergent_key, encode_chk
from grid.chk_plan import DEFAULT_MAX_SEGMENT_SIZE, LIT_THRESHOLD, ChkPlan
from grid.cli.parsing import UsageError
from grid.errors import EncodingError, EncodingParametersError

_READ_CHUNK = 1024 * 1024


def add_parser(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid debug encode-chk``."""
    parser = commands.add_parser(
        "encode-chk",
        help="print the cap a file gets (CHK, or LIT up to 55 bytes), without a network",
    )
    keys = parser.add_mutually_exclusive_group(required=True)
    keys.add_argument("--convergence-secret", metavar="B32", help="convergence secret, base32")
    keys.add_argument("--key", metavar="B32", help="a fixed 16-byte AES key, base32")
    keys.add_argument("--random-key", action="store_true", help="encrypt under a random key")
    parser.add_argument("--needed", type=int, default=3, metavar="K", help="shares needed (3)")
    parser.add_argument("--total", type=int, default=10, metavar="N", help="shares total (10)")
    parser.add_argument(
        "--max-segment-size",
        type=int,
        default=DEFAULT_MAX_SEGMENT_SIZE,
        metavar="BYTES",
        help=f"largest segment ({DEFAULT_MAX_SEGMENT_SIZE})",
    )
    parser.add_argument(
        "--shares-dir", type=Path, metavar="DIR", help="also write each share's bytes to DIR/<n>"
    )
    parser.add_argument("file", metavar="FILE", help="the file to encode, or - for stdin")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    """Encode the file and print its cap."""
    fixed_key = None if arguments.key is None else _decode_option("--key", arguments.key, 16)
    secret = (
        None
        if arguments.convergence_secret is None
        else _decode_option("--convergence-secret", arguments.convergence_secret, None)
    )
    with ExitStack() as stack:
        source = _open_seekable(arguments.file, stack)
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
        if size <= LIT_THRESHOLD:
            print(LiteralCap(data=source.read()).to_string())
            return 0
        try:
            plan = ChkPlan(
                size=size,
                needed=arguments.needed,
                total=arguments.total,
                max_segment_size=arguments.max_segment_size,
            )
        except EncodingParametersError as error:
            raise UsageError(f"grid debug encode-chk: {error}") from error
        key = _choose_key(fixed_key, secret, plan, source)
        sink = _ShareFiles(arguments.shares_dir, plan.total, stack)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as executor:
            result = encode_chk(key, plan, _segments(source, plan), sink, executor=executor)
        cap = CHKReadCap(
            key=key,
            uri_extension_hash=result.uri_extension_hash,
            needed_shares=plan.needed,
            total_shares=plan.total,
            size=plan.size,
        )
        print(cap.to_string())
    return 0


def _open_seekable(name: str, stack: ExitStack) -> IO[bytes]:
    if name != "-":
        return stack.enter_context(Path(name).open("rb"))
    spool: IO[bytes] = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115  closed by the ExitStack
    shutil.copyfileobj(sys.stdin.buffer, spool)
    return spool


def _choose_key(
    fixed_key: bytes | None, secret: bytes | None, plan: ChkPlan, source: IO[bytes]
) -> bytes:
    if fixed_key is not None:
        return fixed_key
    if secret is None:
        return os.urandom(16)
    key = convergent_key(secret, plan, iter(lambda: source.read(_READ_CHUNK), b""))
    source.seek(0)
    return key


def _decode_option(option: str, text: str, size: int | None) -> bytes:
    try:
        value = base32.a2b(text)
    except EncodingError as error:
        raise UsageError(f"grid debug encode-chk: {option}: {error}") from error
    if size is not None and len(value) != size:
        raise UsageError(f"grid debug encode-chk: {option} must encode {size} bytes")
    return value


def _segments(source: IO[bytes], plan: ChkPlan) -> Iterator[bytes]:
    for index in range(plan.num_segments):
        start, end = plan.segment_span(index)
        segment = source.read(end - start)
        if len(segment) != end - start:
            raise EncodingParametersError("the file changed size while it was being encoded")
        yield segment


class _ShareFiles:
    """Writes each share's body to DIR/<shnum>, or nowhere without a directory."""

    def __init__(self, directory: Path | None, total: int, stack: ExitStack) -> None:
        self._files: list[IO[bytes]] = []
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._files = [
                stack.enter_context((directory / str(shnum)).open("wb")) for shnum in range(total)
            ]

    def write(self, shnum: int, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` of share ``shnum``'s file."""
        if self._files:
            share = self._files[shnum]
            share.seek(offset)
            share.write(data)
