"""``grid put`` and ``grid get``: immutable files through a client node's web gateway."""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from grid.cli.node_http import cap_url, gateway_url, open_url
from grid.cli.progress import CountingReader, progress_for

_CHUNK = 1024 * 1024


def add_parsers(commands: "argparse._SubParsersAction[Any]") -> None:
    """Register ``grid put`` and ``grid get``."""
    put = commands.add_parser("put", help="upload a file; print its cap")
    put.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="the file, or - for stdin"
    )
    put.set_defaults(handler=run_put)
    get = commands.add_parser("get", help="download a file by its cap")
    get.add_argument("cap", metavar="CAP", help="the file's cap")
    get.add_argument(
        "output", nargs="?", default="-", metavar="OUT", help="where to write it (stdout)"
    )
    get.set_defaults(handler=run_get)


def run_put(arguments: argparse.Namespace) -> int:
    """Upload a file (or stdin) and print its cap."""
    url = gateway_url(arguments.node_directory, arguments.node_url) + "uri"
    if arguments.file == "-":
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool, _CHUNK)
            return _put(url, spool, quiet=arguments.quiet)
    with Path(arguments.file).open("rb") as source:
        return _put(url, source, quiet=arguments.quiet)


def _put(url: str, source: IO[bytes], *, quiet: bool) -> int:
    size = source.seek(0, 2)
    source.seek(0)
    progress = progress_for("uploading", size, quiet=quiet)
    body = CountingReader(source, progress)
    with open_url(url, method="PUT", body=body, length=size) as response:
        progress.finish()
        print(response.read().decode("ascii").strip())
    return 0


def run_get(arguments: argparse.Namespace) -> int:
    """Download a file to OUT or stdout."""
    url = cap_url(arguments.node_directory, arguments.cap.strip(), arguments.node_url)
    with open_url(url) as response:
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
