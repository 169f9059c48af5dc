"""``/uri``: store new files, and find the file or directory a cap names.

Rules (Tahoe-LAFS 1.20's web API):

- ``PUT /uri`` stores the request body as a new file and answers its cap
  as text: CHK (LIT up to 55 bytes) by default; ``format=SDMF`` or
  ``format=MDMF``, or ``mutable=true`` (the node's default mutable format),
  make a mutable file and answer its write cap; ``private-key=`` (URL-safe
  base64 of an RSA-2048 PKCS#8 DER key) picks the mutable file's key.
  ``POST /uri?t=upload`` does the same with a multipart form's ``file``.
- ``/uri/$CAP`` is the file (:mod:`client.web.filenode`) the cap names; a
  cap that does not parse is a 400, one this gateway cannot open (verify
  caps, unknown kinds) a 400 that says so.
- ``GET /uri?uri=$CAP`` redirects to ``/uri/$CAP``.
"""

import base64
import binascii
from typing import Any
from urllib.parse import quote

from twisted.web.resource import ErrorPage, Resource
from twisted.web.server import Request

from client.file_service import FileService
from client.filenodes import ImmutableFileNode, MutableFileNode
from client.node_maker import NodeMaker
from client.upload.plaintext_source import BytesSource, PlaintextSource
from client.web.common import BadRequestError, argument, boolean_argument, finish_text, run
from client.web.filenode import FileResource, request_body
from grid.caps import MutableFormat, parse_cap
from grid.crypto.rsa import RsaPrivateKey, load_private_key_der
from grid.errors import CapError, KeyFormatError


class RequestBodySource:
    """A request body already spooled by twisted.web, read by range."""

    def __init__(self, request: Request) -> None:
        """Serve the request's content file."""
        body = request.content
        if body is None:
            raise BadRequestError("the request has no body")
        self._body = body
        self._size: int = body.seek(0, 2)

    @property
    def size(self) -> int:
        """The body's length."""
        return self._size

    async def read(self, offset: int, length: int) -> bytes:
        """Read a range of the body."""
        self._body.seek(offset)
        data: bytes = self._body.read(length)
        return data


def requested_format(request: Request) -> MutableFormat | None:
    """The mutable format a request asks for, or None for an immutable (CHK) file."""
    name = (argument(request, "format", "") or "").upper()
    if name in {"SDMF", "MDMF"}:
        return MutableFormat[name]
    if name not in {"", "CHK"}:
        raise BadRequestError(f"unknown format {name!r}: use CHK, SDMF or MDMF")
    if name == "" and boolean_argument(request, "mutable"):
        return MutableFormat.SDMF if argument(request, "mutable-type") == "sdmf" else None
    return None


def requested_private_key(request: Request) -> RsaPrivateKey | None:
    """The key ``private-key=`` gives for a new mutable file, if any."""
    text = argument(request, "private-key")
    if not text:
        return None
    try:
        return load_private_key_der(base64.urlsafe_b64decode(text.encode("ascii")))
    except (binascii.Error, ValueError, KeyFormatError) as error:
        raise BadRequestError(f"private-key is not a usable RSA-2048 key: {error}") from None


async def store_new_file(
    maker: NodeMaker, request: Request, source: PlaintextSource
) -> ImmutableFileNode | MutableFileNode:
    """Store ``source`` as the file the request asks for (immutable or mutable)."""
    fmt = requested_format(request)
    mutable = fmt is not None or boolean_argument(request, "mutable")
    if not mutable:
        result = await maker.files.upload(source)
        return ImmutableFileNode(result.cap, maker.files)
    contents = await source.read(0, source.size)
    return await maker.create_mutable_file(
        contents, fmt or maker.default_mutable_format, private_key=requested_private_key(request)
    )


class UriRoot(Resource):
    """``/uri``: new files, and the parent of every ``/uri/$CAP``."""

    def __init__(self, maker: NodeMaker) -> None:
        """Open and make nodes through ``maker``."""
        super().__init__()
        self._maker = maker

    @property
    def _files(self) -> FileService:
        return self._maker.files

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802  Twisted's name
        """``/uri/$CAP``: the file the cap names."""
        text = path.decode("utf-8", "replace")
        try:
            cap = parse_cap(text)
        except CapError as error:
            return ErrorPage(400, "Bad cap", str(error))
        node = self._maker.node_for_cap(cap)
        if isinstance(node, ImmutableFileNode | MutableFileNode):
            return FileResource(self._maker, node)
        return ErrorPage(400, "Cannot open this cap", f"this gateway cannot open a {cap.kind} cap")

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
        node = await store_new_file(self._maker, request, RequestBodySource(request))
        finish_text(request, node.cap.to_string())

    async def _post(self, request: Request) -> None:
        what = argument(request, "t", "")
        if what != "upload":
            raise BadRequestError(f"POST /uri does not know t={what}")
        files = request.args.get(b"file")
        if not files:
            raise BadRequestError("t=upload needs a multipart form with a 'file' field")
        node = await store_new_file(self._maker, request, BytesSource(files[0]))
        finish_text(request, node.cap.to_string())


__all__ = ["RequestBodySource", "UriRoot", "request_body", "store_new_file"]
