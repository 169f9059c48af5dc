"""``/uri``: upload an immutable file (``PUT /uri``) and read files by cap.

Rules: ``PUT /uri`` stores the request body as a CHK file (LIT up to 55
bytes) and answers with the cap as text (``POST /uri?t=upload`` does the
same for a multipart form's ``file`` field); ``?mutable=true`` and
``format=SDMF|MDMF`` are refused until mutable files exist.
``GET /uri/$CAP`` streams the file's verified bytes; one ``Range: bytes=``
range is honoured (206), a range starting past the end gets 416.
``?t=json`` describes the file in Tahoe's shape; ``?filename=N&save=true``
asks the browser to save it as N; ``HEAD`` sends the headers only. ``GET /uri?uri=$CAP``
redirects. Errors are one line of text with a 4xx or 5xx status.
"""

import json
import re
from typing import IO, Any
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from client.file_service import FileService
from client.upload.errors import UploadUnhappinessError
from client.upload.plaintext_source import BytesSource, PlaintextSource
from grid.base32 import b2a
from grid.caps import CHKReadCap, LiteralCap, parse_cap
from grid.errors import CapError, GridError, NotEnoughSharesError

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class RequestBodySource:
    """A request body already spooled by twisted.web, read by range."""

    def __init__(self, body: IO[bytes]) -> None:
        """Serve ``body`` (the request's content file)."""
        self._body = body
        self._size = body.seek(0, 2)

    @property
    def size(self) -> int:
        """The body's length."""
        return self._size

    async def read(self, offset: int, length: int) -> bytes:
        """Read a range of the body."""
        self._body.seek(offset)
        return self._body.read(length)


def _fail(request: Request, status: int, message: str) -> None:
    if request.finished or request._disconnected:
        return
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.write((" ".join(message.split()) + "\n").encode("utf-8"))
    request.finish()


def _status_for(error: BaseException) -> int:
    if isinstance(error, CapError):
        return 400
    if isinstance(error, NotEnoughSharesError):
        return 410
    if isinstance(error, UploadUnhappinessError):
        return 503
    return 500


def _run(request: Request, work: Any) -> Any:
    def failed(failure: Failure) -> None:
        error = failure.value
        if isinstance(error, GridError):
            _fail(request, _status_for(error), str(error))
        else:
            _fail(request, 500, f"internal error: {type(error).__name__}")

    Deferred.fromCoroutine(work).addErrback(failed)
    return NOT_DONE_YET


class UriRoot(Resource):
    """``/uri``: uploads, and the parent of every ``/uri/$CAP``."""

    def __init__(self, files: FileService) -> None:
        """Serve files through ``files``."""
        super().__init__()
        self._files = files

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802  Twisted's name
        """``/uri/$CAP``: the file the cap names (parsed when the request is handled)."""
        return FileByCap(self._files, path.decode("utf-8", "replace"))

    def render_GET(self, request: Request) -> bytes:  # noqa: N802  Twisted's name
        """``/uri?uri=$CAP`` redirects to ``/uri/$CAP``."""
        caps = request.args.get(b"uri")
        if not caps:
            request.setResponseCode(400)
            return b"GET /uri needs ?uri=CAP\n"
        request.redirect(b"/uri/" + quote(caps[0].decode("utf-8", "replace"), safe="").encode())
        return b""

    def render_PUT(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Store the body as an immutable file; answer with its cap."""
        if request.args.get(b"mutable") == [b"true"] or request.args.get(b"format", [b"CHK"])[
            0
        ].upper() not in {b"CHK"}:
            request.setResponseCode(400)
            return b"mutable files are not supported by this gateway yet\n"
        return _run(request, self._put(request))

    def render_POST(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """``POST /uri?t=upload``: store the multipart form's ``file`` field; answer its cap."""
        if request.args.get(b"t") != [b"upload"]:
            request.setResponseCode(400)
            return b"POST /uri needs t=upload\n"
        files = request.args.get(b"file")
        if not files:
            request.setResponseCode(400)
            return b"t=upload needs a multipart form with a 'file' field\n"
        return _run(request, self._store(request, BytesSource(files[0])))

    async def _put(self, request: Request) -> None:
        if request.content is None:
            _fail(request, 400, "PUT /uri needs a body")
            return
        await self._store(request, RequestBodySource(request.content))

    async def _store(self, request: Request, source: PlaintextSource) -> None:
        result = await self._files.upload(source)
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.write(result.cap.to_string().encode("ascii"))
        request.finish()


class FileByCap(Resource):
    """``/uri/$CAP``: one file."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, files: FileService, cap_text: str) -> None:
        """Serve the file ``cap_text`` names."""
        super().__init__()
        self._files = files
        self._cap_text = cap_text

    def render_GET(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Stream the file, a range of it, or its JSON description."""
        try:
            cap = parse_cap(self._cap_text)
        except CapError as error:
            request.setResponseCode(400)
            return f"{error}\n".encode()
        if not isinstance(cap, CHKReadCap | LiteralCap):
            request.setResponseCode(400)
            return b"this gateway reads immutable file caps only, so far\n"
        if request.args.get(b"t") == [b"json"]:
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return (json.dumps(_file_json(cap), indent=1) + "\n").encode()
        return _run(request, self._get(request, cap))

    def render_HEAD(self, request: Request) -> bytes:  # noqa: N802  Twisted's name
        """The headers a GET would send, without fetching anything."""
        try:
            cap = parse_cap(self._cap_text)
        except CapError:
            request.setResponseCode(400)
            return b""
        if not isinstance(cap, CHKReadCap | LiteralCap):
            request.setResponseCode(400)
            return b""
        self._content_headers(request, cap.size)
        return b""

    def _content_headers(self, request: Request, length: int) -> None:
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"content-length", str(length).encode())
        request.setHeader(b"accept-ranges", b"bytes")
        filenames = request.args.get(b"filename")
        if request.args.get(b"save") == [b"true"] and filenames:
            name = filenames[0].decode("utf-8", "replace").replace('"', "")
            disposition = f"attachment; filename*=utf-8''{quote(name, safe='')}"
            request.setHeader(b"content-disposition", disposition.encode("ascii"))

    async def _get(self, request: Request, cap: CHKReadCap | LiteralCap) -> None:
        size = cap.size
        offset, length = 0, size
        wanted = _parse_range(request.getHeader(b"range"), size)
        if wanted == "unsatisfiable":
            request.setResponseCode(416)
            request.setHeader(b"content-range", f"bytes */{size}".encode())
            request.finish()
            return
        if isinstance(wanted, tuple):
            offset, length = wanted
            request.setResponseCode(206)
            content_range = f"bytes {offset}-{offset + length - 1}/{size}"
            request.setHeader(b"content-range", content_range.encode())
        self._content_headers(request, length)
        flow = _FlowControl()
        request.registerProducer(flow, True)

        def deliver(chunk: bytes) -> Deferred[None] | None:
            if flow.stopped:
                raise DownloadAbandonedError("the HTTP client went away")
            request.write(chunk)
            return flow.paused

        try:
            await self._files.download(cap, deliver, offset=offset, length=length)
        finally:
            request.unregisterProducer()
        if not request._disconnected:
            request.finish()


class DownloadAbandonedError(GridError):
    """The HTTP client disconnected before the download ended."""


@implementer(IPushProducer)
class _FlowControl:
    """Pauses a download while twisted.web's buffer for a slow HTTP client is full."""

    def __init__(self) -> None:
        self.paused: Deferred[None] | None = None
        self.stopped = False

    def pauseProducing(self) -> None:  # noqa: N802  Twisted's name
        """The client's buffer is full: the next delivery waits."""
        if self.paused is None:
            self.paused = Deferred()

    def resumeProducing(self) -> None:  # noqa: N802  Twisted's name
        """The buffer drained: let the download go on."""
        waiting, self.paused = self.paused, None
        if waiting is not None:
            waiting.callback(None)

    def stopProducing(self) -> None:  # noqa: N802  Twisted's name
        """The client went away: stop at the next delivery."""
        self.stopped = True
        self.resumeProducing()


def _parse_range(header: bytes | None, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range as (offset, length); None to send everything."""
    match = _RANGE_RE.fullmatch(header.decode("latin-1").strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(size - int(last), 0), size - 1
    if start >= size:
        return "unsatisfiable"
    return (start, end - start + 1) if end >= start else None


def _file_json(cap: CHKReadCap | LiteralCap) -> list[Any]:
    verify = cap.verify_cap()
    details: dict[str, Any] = {
        "ro_uri": cap.to_string(),
        "mutable": False,
        "format": "CHK" if isinstance(cap, CHKReadCap) else "LIT",
        "size": cap.size,
    }
    if verify is not None:
        details["verify_uri"] = verify.to_string()
    if cap.storage_index is not None:
        details["storage-index"] = b2a(cap.storage_index)
    return ["filenode", details]
