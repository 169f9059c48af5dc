"""Talking to a client node's web gateway, the way the CLI does for every file command.

Rules: the gateway's URL comes from ``NODEDIR/node.url``; every failure
(no node directory, node not running, an HTTP error) becomes a
:class:`~grid.errors.GridError` with one line saying what went wrong.
"""

import urllib.error
import urllib.request
from http.client import HTTPResponse
from pathlib import Path
from urllib.parse import quote

from grid.cli.progress import Readable
from grid.errors import GridError

DEFAULT_NODE_DIRECTORY = Path("~/.tahoe")


def gateway_url(node_dir: Path, node_url: str | None = None) -> str:
    """Return the web gateway URL (``node_url``, else NODEDIR/node.url), ending in ``/``."""
    if node_url:
        return node_url if node_url.endswith("/") else node_url + "/"
    url_file = node_dir.expanduser() / "node.url"
    try:
        url = url_file.read_text().strip()
    except FileNotFoundError:
        raise GridError(
            f"{url_file} not found: is the client node running? (grid run DIR)"
        ) from None
    return url if url.endswith("/") else url + "/"


def cap_url(node_dir: Path, cap: str, node_url: str | None = None) -> str:
    """The gateway URL of a cap."""
    return f"{gateway_url(node_dir, node_url)}uri/{quote(cap, safe='')}"


def open_url(
    url: str,
    *,
    method: str = "GET",
    body: Readable | None = None,
    length: int | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    """Send one request; raise GridError with the gateway's one-line message on failure."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310  the node's own http URL
    if length is not None:
        request.add_header("Content-Length", str(length))
    try:
        response: HTTPResponse = urllib.request.urlopen(request)  # noqa: S310  the node's own http URL
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip().splitlines()
        raise GridError(f"{error.code} {error.reason}: {detail[0] if detail else ''}") from None
    except urllib.error.URLError as error:
        raise GridError(
            f"cannot reach the node at {url.split('/uri', maxsplit=1)[0]}: {error.reason}"
        ) from None
    return response
