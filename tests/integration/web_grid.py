"""The directory web API over a real in-process grid, served on loopback HTTP for tests.

Rules: a :class:`NodeMaker` (real FileService and MutableService over the
in-process grid's broker, from a temporary node directory) backs a
twisted.web Site on 127.0.0.1 that mounts ``/uri`` (the gateway's own
:class:`~client.web.uri.UriRoot`) and ``/operations``
as the gateway does: ``/uri/$DIRCAP/...`` is a
:class:`~client.web.directory.DirectoryResource` given the rest of the
path, ``/uri/$FILECAP`` the file resource, ``/uri?t=mkdir`` (and kin)
:func:`~client.web.directory.mkdir_unlinked`. Tests talk to it with plain
``http.client`` from the test thread, never following redirects.
"""

import contextlib
import http.client
import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import attrs
from twisted.internet import reactor
from twisted.web.resource import Resource

from client.checking import CheckService
from client.file_service import FileService
from client.node_maker import NodeMaker
from client.web.form_body import form_site
from client.web.operations import OperationsResource, OperationTable
from client.web.uri import UriRoot
from grid.base32 import b2a
from grid.config import NodeConfig
from tests.integration.inprocess_grid import InProcessGrid
from tests.integration.mutable_grid import MutableGrid
from tests.integration.reactor_thread import in_reactor
from tests.interop.tahoe_nodes import LOOPBACK


@attrs.frozen
class Response:
    """One HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def _make_node_dir(root: Path) -> Path:
    private = root / "private"
    private.mkdir(parents=True)
    (private / "convergence").write_text(b2a(b"web-grid convergence"))
    (private / "secret").write_text(b2a(b"L" * 32))
    return root


@attrs.define
class WebGrid:
    """A NodeMaker over the in-process grid, and its web API on a loopback port."""

    maker: NodeMaker
    listening: Any
    port: int

    @classmethod
    def start(cls, grid: InProcessGrid, node_dir: Path) -> "WebGrid":
        """Serve the web API for ``grid`` (node secrets in ``node_dir``)."""
        files = FileService(_make_node_dir(node_dir), NodeConfig({}), grid.broker, reactor)
        checker = CheckService(grid.broker, reactor, files.runner, files.lease_secret)
        maker = NodeMaker(files, MutableGrid(grid).service(), checker)

        def listen() -> Any:
            table = OperationTable(reactor)
            root = Resource()  # type: ignore[no-untyped-call]
            root.putChild(b"uri", UriRoot(maker, table))
            root.putChild(b"operations", OperationsResource(table))
            site = form_site(root)
            return reactor.listenTCP(0, site, interface=LOOPBACK)  # type: ignore[arg-type]

        listening = in_reactor(listen)
        return cls(maker, listening, listening.getHost().port)

    def close(self) -> None:
        """Stop listening."""
        in_reactor(self.listening.stopListening)

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request (``path`` already quoted) and read the whole answer."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            data = answer.read()
            found = {name.lower(): value for name, value in answer.getheaders()}
            return Response(answer.status, found, data)
        finally:
            connection.close()

    def upload_form(
        self, path: str, fields: Mapping[str, str], data: bytes, filename: str = "upload.bin"
    ) -> Response:
        """POST a multipart form with ``fields`` and a ``file`` field holding ``data``."""
        boundary = uuid.uuid4().hex
        parts = [
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, body, headers)


@contextlib.contextmanager
def serving(base: Path) -> Iterator[tuple[InProcessGrid, WebGrid]]:
    """An in-process grid under ``base`` and the web API over it, stopped on exit."""
    grid = InProcessGrid.start(base / "grid")
    try:
        web = WebGrid.start(grid, base / "node")
        try:
            yield grid, web
        finally:
            web.close()
    finally:
        grid.close()


def url(cap: str, *names: str, **query: str) -> str:
    """``/uri/$CAP/names...?query``, every part quoted."""
    path = "/uri/" + quote(cap, safe="") + "".join("/" + quote(name, safe="") for name in names)
    return path + ("?" + urlencode(query) if query else "")
