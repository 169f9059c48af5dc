"""What every gateway resource shares: error answers, async rendering, ranges and flow control.

Rules: an error is answered with a 4xx or 5xx status and one line of plain
text saying what went wrong, never a traceback; our own errors map to
statuses as Tahoe-LAFS 1.20 maps them (a bad cap or request 400, a
read-only target 403, a missing child 404, a name taken 409, an
unrecoverable file 410, too few servers 503: :func:`status_for`), anything else is a 500
naming only the exception's type. :func:`run` renders a coroutine and
answers its failure that way. A download is streamed with backpressure:
while twisted.web's buffer for a slow HTTP client is full, the next
delivery waits (:class:`FlowControl`); a client that went away stops the
download at its next delivery.
"""

import json
import re
from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from client.directory.errors import (
    CannotLinkError,
    ChildOfWrongTypeError,
    ExistingChildError,
    InvalidChildNameError,
    NoSuchChildError,
    NotWritableError,
)
from client.errors import ClientError
from client.filenodes import FileNode, ReadOnlyFileError
from client.mutable.errors import UncoordinatedWriteError
from client.upload.errors import UploadUnhappinessError
from client.web.form_body import FormError, form_arguments
from grid.errors import CapError, GridError, NotEnoughSharesError

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class BadRequestError(ClientError):
    """The HTTP request itself is malformed: a missing or bad argument, body or header."""


_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (CapError, 400),
    (BadRequestError, 400),
    (FormError, 400),
    (ValueError, 400),
    (InvalidChildNameError, 400),
    (CannotLinkError, 400),
    (ChildOfWrongTypeError, 400),
    (ReadOnlyFileError, 403),
    (NotWritableError, 403),
    (NoSuchChildError, 404),
    (ExistingChildError, 409),
    (UncoordinatedWriteError, 409),
    (NotEnoughSharesError, 410),
    (UploadUnhappinessError, 503),
)


def status_for(error: BaseException) -> int:
    """The HTTP status that answers ``error``."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def fail(request: Request, status: int, message: str) -> None:
    """Answer ``request`` with ``status`` and ``message`` on one line (if it is still open)."""
    if request.finished or request._disconnected:
        return
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.write((" ".join(message.split()) + "\n").encode("utf-8"))
    request.finish()


def run(request: Request, work: Coroutine[Any, Any, None]) -> Any:
    """Render ``work`` asynchronously; answer its failure with a status and one line."""

    def failed(failure: Failure) -> None:
        error = failure.value
        if isinstance(error, GridError | BadRequestError | ValueError):
            fail(request, status_for(error), str(error))
        else:
            fail(request, 500, f"internal error: {type(error).__name__}")

    Deferred.fromCoroutine(work).addErrback(failed)
    return NOT_DONE_YET


def finish_text(request: Request, text: str, status: int = 200) -> None:
    """Answer with ``text`` as plain UTF-8."""
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.write(text.encode("utf-8"))
    request.finish()


def json_text(value: Any) -> str:
    """``value`` as Tahoe's web API writes JSON: ``indent=1`` and a final newline."""
    return json.dumps(value, indent=1) + "\n"


def argument(request: Request, name: str, default: str | None = None) -> str | None:
    """The first value of query (or form) argument ``name``, decoded as UTF-8."""
    form_arguments(request)
    values = request.args.get(name.encode("ascii"))
    if not values:
        return default
    first: bytes = values[0]
    try:
        return first.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError(f"argument {name!r} is not UTF-8") from None


def boolean_argument(request: Request, name: str, default: bool = False) -> bool:
    """A ``true``/``false`` argument (Tahoe also takes ``on``, ``1``, ``yes``)."""
    value = argument(request, name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in {"true", "t", "1", "on", "yes"}:
        return True
    if lowered in {"false", "f", "0", "off", "no"}:
        return False
    raise BadRequestError(f"argument {name!r} must be true or false, not {value!r}")


def parse_range(header: bytes | None, size: int) -> tuple[int, int] | str | None:
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


class DownloadAbandonedError(GridError):
    """The HTTP client disconnected before the download ended."""


@implementer(IPushProducer)
class FlowControl:
    """Pauses a download while twisted.web's buffer for a slow HTTP client is full."""

    def __init__(self) -> None:
        """Start unpaused."""
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


def content_headers(request: Request, length: int, content_type: bytes) -> None:
    """The headers of a file's bytes: type, length, ranges, and a download name if asked."""
    request.setHeader(b"content-type", content_type)
    request.setHeader(b"content-length", str(length).encode())
    request.setHeader(b"accept-ranges", b"bytes")
    filename = argument(request, "filename")
    if boolean_argument(request, "save") and filename:
        name = filename.replace('"', "")
        disposition = f"attachment; filename*=utf-8''{quote(name, safe='')}"
        request.setHeader(b"content-disposition", disposition.encode("ascii"))


async def stream_file(
    request: Request, node: FileNode, content_type: bytes = b"application/octet-stream"
) -> None:
    """Answer a GET with the file's bytes: whole, or the one range asked for (206, or 416)."""
    size = await node.size()
    offset, length = 0, size
    wanted = parse_range(request.getHeader(b"range"), size)
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
    content_headers(request, length, content_type)
    if request.method == b"HEAD":
        request.finish()
        return
    flow = FlowControl()
    request.registerProducer(flow, True)

    def deliver(chunk: bytes) -> Deferred[None] | None:
        if flow.stopped:
            raise DownloadAbandonedError("the HTTP client went away")
        request.write(chunk)
        return flow.paused

    try:
        await node.read(deliver, offset=offset, length=length)
    finally:
        request.unregisterProducer()
    if not request._disconnected:
        request.finish()
