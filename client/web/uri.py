"""``/uri``: store new files, and find the file or directory a cap names.

Rules (Tahoe-LAFS 1.20's web API):

- ``PUT /uri`` stores the request body as a new file and answers its cap
  as text: CHK (LIT up to 55 bytes) by default; ``format=SDMF`` or
  ``format=MDMF``, or ``mutable=true`` (the node's default mutable format),
  make a mutable file and answer its write cap; ``private-key=`` (URL-safe
  base64 of an RSA-2048 PKCS#8 DER key) picks the mutable file's key.
  ``POST /uri?t=upload`` does the same with a multipart form's ``file``.
- ``POST`` or ``PUT /uri?t=mkdir`` (``mkdir-with-children``,
  ``mkdir-immutable``) makes an unlinked directory (:mod:`client.web.directory`).
- ``/uri/$CAP`` is the file (:mod:`client.web.filenode`) or directory
  (:mod:`client.web.directory`, with the rest of the path) the cap names; a
  cap that does not parse is a 400, one this gateway cannot open (verify
  caps, unknown kinds) a 400 that says so.
- ``GET /uri?uri=$CAP`` redirects to ``/uri/$CAP``.
"""

from typing import Any
from urllib.parse import quote

from twisted.web.resource import Resource
from twisted.web.server import Request

from client.directory import DirectoryNode
from client.file_service import FileService
from client.filenodes import ImmutableFileNode, MutableFileNode
from client.node_maker import NodeMaker
from client.web.common import BadRequestError, argument, finish_text, run
from client.web.dir_actions import MKDIR_KINDS
from client.web.directory import DirectoryResource, mkdir_unlinked
from client.web.filenode import FileResource
from client.web.form_body import uploaded_file
from client.web.new_files import RequestBodySource, store_new_file
from client.web.operations import ErrorResource, OperationTable
from grid.caps import parse_cap
from grid.errors import CapError


class UriRoot(Resource):
    """``/uri``: new files, and the parent of every ``/uri/$CAP``."""

    def __init__(self, maker: NodeMaker, operations: OperationTable) -> None:
        """Open and make nodes through ``maker``; long operations go in ``operations``."""
        super().__init__()
        self._maker = maker
        self._operations = operations

    @property
    def _files(self) -> FileService:
        return self._maker.files

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802  Twisted's name
        """``/uri/$CAP[/path]``: the file or directory the cap names."""
        try:
            cap = parse_cap(path.decode("utf-8"))
            names = [segment.decode("utf-8") for segment in request.postpath or []]
        except UnicodeDecodeError:
            return ErrorResource(400, "the path is not UTF-8")
        except CapError as error:
            return ErrorResource(400, str(error))
        node = self._maker.node_for_cap(cap)
        if isinstance(node, DirectoryNode):
            return DirectoryResource(self._maker, node, names, operations=self._operations)
        if isinstance(node, ImmutableFileNode | MutableFileNode):
            if names and names != [""]:
                return ErrorResource(400, "a file has no children")
            return FileResource(self._maker, node)
        return ErrorResource(400, f"this gateway cannot open a {cap.kind} cap")

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  Twisted's name
        """``/uri?uri=$CAP`` redirects to ``/uri/$CAP``."""
        cap = argument(request, "uri")
        if not cap:
            request.setResponseCode(400)
            return b"GET /uri needs ?uri=CAP\n"
        request.redirect(b"/uri/" + quote(cap, safe="").encode())
        return b""

    def render_PUT(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Store the body as a new file; answer its cap."""
        return run(request, self._put(request))

    def render_POST(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """``POST /uri?t=upload``: store the multipart form's ``file``; answer its cap."""
        return run(request, self._post(request))

    async def _put(self, request: Request) -> None:
        if argument(request, "t", "") in MKDIR_KINDS:
            await mkdir_unlinked(request, self._maker)
            return
        node = await store_new_file(self._maker, request, RequestBodySource(request))
        finish_text(request, node.cap.to_string())

    async def _post(self, request: Request) -> None:
        what = argument(request, "t", "")
        if what in MKDIR_KINDS:
            await mkdir_unlinked(request, self._maker)
            return
        if what != "upload":
            raise BadRequestError(f"POST /uri does not know t={what}")
        upload = uploaded_file(request)
        node = await store_new_file(self._maker, request, upload.source)
        finish_text(request, node.cap.to_string())
