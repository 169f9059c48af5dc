"""New files from HTTP requests: the body as an upload source, and the kind of file asked for.

Rules (Tahoe-LAFS 1.20's web API): a new file is CHK (LIT up to 55 bytes)
unless ``format=SDMF`` or ``format=MDMF`` asks for a mutable file, or
``mutable=true`` does (the node's default mutable format); any other format
is a 400. ``private-key=`` (URL-safe base64 of an RSA-2048 PKCS#8 DER key)
picks a new mutable file's key. The body is handed on as a source read by
range: an immutable upload and an MDMF publish read it a segment or a batch
at a time, so it is never all in memory (an SDMF file, one segment by
definition, is read whole by the mutable service).
"""

import base64
import binascii

from twisted.web.server import Request

from client.filenodes import ImmutableFileNode, MutableFileNode
from client.node_maker import NodeMaker
from client.upload.plaintext_source import PlaintextSource
from client.web.common import BadRequestError, argument, boolean_argument
from grid.caps import MutableFormat
from grid.crypto.rsa import RsaPrivateKey, load_private_key_der
from grid.errors import KeyFormatError


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


def wants_immutable_file(request: Request) -> bool:
    """Whether the request asks for an immutable (CHK or LIT) file."""
    return requested_format(request) is None and not boolean_argument(request, "mutable")


async def store_new_file(
    maker: NodeMaker, request: Request, source: PlaintextSource
) -> ImmutableFileNode | MutableFileNode:
    """Store ``source`` as the file the request asks for (immutable or mutable)."""
    fmt = requested_format(request)
    if wants_immutable_file(request):
        result = await maker.files.upload(source)
        return ImmutableFileNode(result.cap, maker.files)
    return await maker.create_mutable_file(
        source, fmt or maker.default_mutable_format, private_key=requested_private_key(request)
    )
