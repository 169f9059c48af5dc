"""The web API calls the directory commands make, on a client node's gateway (Tahoe 1.20's shape).

Rules: a grid path becomes ``/uri/<cap, fully percent-encoded>/<path,
UTF-8 percent-encoded, slashes kept>``; query values are percent-encoded.
Every HTTP failure becomes a :class:`GatewayError` carrying the status and
the first line of the gateway's answer (never the URL, which holds a cap);
an unreachable node is a GridError naming only the gateway's address.
JSON answers that do not parse, or node descriptions of the wrong shape,
are a GatewayError too.
"""

import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from http.client import HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from grid.cli.alias_path import GridPath
from grid.cli.node_http import gateway_url
from grid.cli.progress import Readable
from grid.errors import GridError

NOT_FOUND = 404
_TAG = re.compile(r"<[^>]*>")
_HTML_HEADINGS = re.compile(r"^(\d{3} - )?Error$")


class GatewayError(GridError):
    """The gateway answered a request with an HTTP error."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        """Record the status and the gateway's one-line explanation."""
        super().__init__(f"{status} {reason}: {detail}" if detail else f"{status} {reason}")
        self.status = status


def error_detail(body: str) -> str:
    """The first line of an error answer that says something (HTML pages lose their markup)."""
    if body.lstrip().startswith("<"):
        body = html.unescape(_TAG.sub("\n", body))
    for line in body.splitlines():
        text = " ".join(line.split())
        if text and not _HTML_HEADINGS.match(text):
            return text
    return ""


def node_description(document: Any) -> tuple[str, dict[str, Any]]:
    """Check a ``t=json`` answer's shape (``[kind, details]``, children likewise)."""
    if not (
        isinstance(document, list)
        and len(document) == 2
        and isinstance(document[0], str)
        and isinstance(document[1], dict)
    ):
        raise GatewayError(200, "OK", "the gateway's description of a node is malformed")
    kind, details = document
    children = details.get("children", {})
    if not isinstance(children, dict) or not all(
        isinstance(child, list)
        and len(child) == 2
        and isinstance(child[0], str)
        and isinstance(child[1], dict)
        for child in children.values()
    ):
        raise GatewayError(200, "OK", "the gateway's list of children is malformed")
    return kind, details


def best_cap(details: dict[str, Any]) -> str:
    """The most powerful cap in a node's details: its write cap if it has one."""
    cap = details.get("rw_uri") or details.get("ro_uri")
    if not isinstance(cap, str):
        raise GatewayError(200, "OK", "the gateway gave no cap for a node")
    return cap


class WebClient:
    """Requests to one gateway, addressed by grid paths."""

    def __init__(self, base_url: str) -> None:
        """Talk to the gateway at ``base_url`` (ending in ``/``)."""
        self.base_url = base_url

    @classmethod
    def for_node(cls, node_dir: Path, node_url: str | None) -> "WebClient":
        """The gateway of the node in ``node_dir`` (or at ``node_url``)."""
        return cls(gateway_url(node_dir, node_url))

    def url(self, where: GridPath | None, query: Mapping[str, str] | None = None) -> str:
        """The URL of a grid path (``/uri`` itself for None), with a query."""
        url = self.base_url + "uri"
        if where is not None:
            url += "/" + quote(where.root_cap, safe="")
            if where.segments:
                url += "/" + quote("/".join(where.segments), safe="/")
        if query:
            url += "?" + urlencode(query)
        return url

    def request(
        self,
        url: str,
        *,
        method: str = "GET",
        body: bytes | Readable | None = None,
        length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPResponse:
        """Send one request; raise GatewayError for an HTTP error status."""
        request = urllib.request.Request(  # noqa: S310  the node's own http URL
            url, data=body, method=method, headers=dict(headers or {})
        )
        if length is not None:
            request.add_header("Content-Length", str(length))
        try:
            response: HTTPResponse = urllib.request.urlopen(request)  # noqa: S310  the node's own http URL
        except urllib.error.HTTPError as error:
            detail = error_detail(error.read().decode("utf-8", "replace"))
            raise GatewayError(error.code, error.reason, detail) from None
        except urllib.error.URLError as error:
            raise GridError(f"cannot reach the node at {self.base_url}: {error.reason}") from None
        return response

    def read_text(self, url: str, *, method: str = "GET", body: bytes | None = None) -> str:
        """Send a request and return the whole answer as text."""
        with self.request(url, method=method, body=body) as response:
            return response.read().decode("utf-8")

    def read_json(self, url: str, *, method: str = "GET", body: bytes | None = None) -> Any:
        """Send a request and parse its JSON answer."""
        text = self.read_text(url, method=method, body=body)
        try:
            return json.loads(text)
        except ValueError:
            raise GatewayError(200, "OK", "the gateway's answer is not JSON") from None

    def info(self, where: GridPath) -> tuple[str, dict[str, Any]]:
        """The ``?t=json`` description of a grid path: ``(kind, details)``."""
        return node_description(self.read_json(self.url(where, {"t": "json"})))

    def info_or_none(self, where: GridPath) -> tuple[str, dict[str, Any]] | None:
        """Like :meth:`info`, but None when nothing is at the path."""
        try:
            return self.info(where)
        except GatewayError as error:
            if error.status == NOT_FOUND:
                return None
            raise

    def create_directory(
        self, where: GridPath | None = None, *, directory_format: str | None = None
    ) -> str:
        """Make a directory (unlinked for None, else at ``where``); return its write cap."""
        query = {"t": "mkdir"}
        if directory_format:
            query["format"] = directory_format
        return self.read_text(self.url(where, query), method="POST").strip()

    def create_immutable_directory(self, children: Mapping[str, Any]) -> str:
        """Make an unlinked deep-immutable directory from ``t=json``-shaped children."""
        body = json.dumps(children).encode()
        url = self.url(None, {"t": "mkdir-immutable"})
        return self.read_text(url, method="POST", body=body).strip()

    def link(self, where: GridPath, cap: str, *, replace: str = "true") -> None:
        """Link ``cap`` at ``where`` (``replace``: true, false or only-files)."""
        url = self.url(where, {"t": "uri", "replace": replace})
        self.read_text(url, method="PUT", body=cap.encode())

    def unlink(self, where: GridPath) -> None:
        """Remove the link at ``where``."""
        self.read_text(self.url(where), method="DELETE")

    def upload(
        self,
        where: GridPath | None,
        body: Readable,
        length: int,
        query: Mapping[str, str] | None = None,
    ) -> str:
        """PUT a file's bytes (unlinked for None); return the new cap."""
        url = self.url(where, query)
        with self.request(url, method="PUT", body=body, length=length) as response:
            return response.read().decode("utf-8").strip()
