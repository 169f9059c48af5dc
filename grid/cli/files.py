"""``grid put`` and ``grid get``: files through a client node's web gateway.

Rules: ``put FILE`` uploads unlinked and prints the new cap; ``put FILE
ALIAS:PATH`` uploads and links it there (creating directories on the way),
or overwrites the mutable file when the target is a bare mutable file cap;
either way it prints the file's cap. ``--mutable`` / ``--format`` choose
SDMF or MDMF instead of an immutable (CHK) file; ``--private-key-path PEM``
makes a mutable file with that RSA-2048 key (so its caps are known in
advance, as with Tahoe-LAFS). ``get`` takes a cap or an
``ALIAS:PATH``; ``--offset`` and ``--length`` read only that range (a
``Range`` request, so only the segments it covers are fetched; an offset
past the end is an error). Paths without an alias use ``tahoe:``.
"""

import argparse
import base64
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from grid.cli.alias_path import parse_grid_path
from grid.cli.aliases import command_aliases
from grid.cli.progress import CountingReader, progress_for
from grid.cli.web_client import WebClient
from grid.crypto.rsa import load_private_key_pem
from grid.errors import GridError

FILE_FORMATS = ("CHK", "SDMF", "MDMF")

_CHUNK = 1024 * 1024


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid put`` and ``grid get``."""
    put = commands.add_parser("put", help="upload a file; print its cap")
    put.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="the file, or - for stdin"
    )
    put.add_argument(
        "target", nargs="?", metavar="TO", help="ALIAS:PATH to link it at, or a mutable file cap"
    )
    put.add_argument("--mutable", action="store_true", help="make a mutable file")
    put.add_argument("--format", type=str.upper, choices=FILE_FORMATS, help="the file format (CHK)")
    put.add_argument(
        "--private-key-path",
        type=Path,
        metavar="PEM",
        help="a mutable file's RSA-2048 key (PEM), which decides its caps",
    )
    put.set_defaults(handler=run_put)
    get = commands.add_parser("get", help="download a file by its cap or ALIAS:PATH")
    get.add_argument("cap", metavar="FROM", help="the file's cap or ALIAS:PATH")
    get.add_argument(
        "output", nargs="?", default="-", metavar="OUT", help="where to write it (stdout)"
    )
    get.add_argument(
        "--offset", type=_non_negative, default=0, metavar="N", help="start at byte N (0)"
    )
    get.add_argument(
        "--length", type=_non_negative, metavar="N", help="at most N bytes (to the end)"
    )
    get.set_defaults(handler=run_get)


def _non_negative(text: str) -> int:
    """An argument that must be a whole number of bytes, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _range_header(offset: int, length: int | None) -> dict[str, str]:
    """The ``Range`` header for ``--offset`` / ``--length`` (none for the whole file)."""
    if offset == 0 and length is None:
        return {}
    end = "" if length is None else str(offset + length - 1)
    return {"Range": f"bytes={offset}-{end}"}


class PutTargetError(GridError, ValueError):
    """``put`` was given a target it cannot write to."""


def run_put(arguments: argparse.Namespace) -> int:
    """Upload a file (or stdin), link it if asked, and print its cap."""
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    url = _put_url(client, arguments)
    if arguments.file == "-":
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool, _CHUNK)
            return _put(client, url, spool, quiet=arguments.quiet)
    with Path(arguments.file).open("rb") as source:
        return _put(client, url, source, quiet=arguments.quiet)


def _private_key_argument(path: Path, file_format: str | None) -> str:
    """The ``private-key=`` value for the key in ``path`` (URL-safe base64 of its DER)."""
    if file_format == "CHK":
        raise PutTargetError("--private-key-path is for mutable files, not --format=CHK")
    key = load_private_key_pem(path.read_bytes())
    return base64.urlsafe_b64encode(key.pkcs8_der).decode("ascii")


def _put_url(client: WebClient, arguments: argparse.Namespace) -> str:
    query = {}
    if arguments.format:
        query["format"] = arguments.format
    elif arguments.mutable or arguments.private_key_path:
        query["mutable"] = "true"
    if arguments.private_key_path:
        query["private-key"] = _private_key_argument(arguments.private_key_path, arguments.format)
    if arguments.target is None:
        return client.url(None, query)
    where = parse_grid_path(arguments.target, command_aliases(arguments))
    if not where.segments:
        if where.root_cap.startswith(("URI:SSK:", "URI:MDMF:")):
            return client.url(where)
        raise PutTargetError(f"{arguments.target}: name the file to create in that directory")
    return client.url(where, query)


def _put(client: WebClient, url: str, source: IO[bytes], *, quiet: bool) -> int:
    size = source.seek(0, 2)
    source.seek(0)
    progress = progress_for("uploading", size, quiet=quiet)
    body = CountingReader(source, progress)
    with client.request(url, method="PUT", body=body, length=size) as response:
        progress.finish()
        print(response.read().decode("ascii").strip())
    return 0


def run_get(arguments: argparse.Namespace) -> int:
    """Download a file to OUT or stdout."""
    where = parse_grid_path(arguments.cap, command_aliases(arguments))
    client = WebClient.for_node(arguments.node_directory, arguments.node_url)
    if arguments.length == 0:
        return 0
    headers = _range_header(arguments.offset, arguments.length)
    with client.request(client.url(where), headers=headers) as response:
        length = response.headers.get("Content-Length")
        progress = progress_for(
            "downloading", int(length) if length else None, quiet=arguments.quiet
        )
        reader = CountingReader(response, progress)
        if arguments.output == "-":
            shutil.copyfileobj(reader, sys.stdout.buffer, _CHUNK)
            sys.stdout.buffer.flush()
        else:
            with Path(arguments.output).open("wb") as output:
                shutil.copyfileobj(reader, output, _CHUNK)
        progress.finish()
    return 0
