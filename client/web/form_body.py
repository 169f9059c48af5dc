"""HTML form bodies (``POST``), read from the spooled body without loading its files.

Rules: the gateway's Site is made by :func:`form_site`, with
``parsePOSTFormSubmission=False``, so twisted.web never reads a body into
memory; :func:`form_arguments` does it here instead, once per request, the
first time an argument is asked for.
A ``multipart/form-data`` body is scanned in chunks of :data:`SCAN_CHUNK`
bytes: each part's headers are parsed (at most :data:`MAX_PART_HEADERS`
bytes), a part with a file name (or named ``file``) is only located
(:class:`FormPart`: where its bytes start and how many there are), and
every other field is read into ``request.args`` (at most
:data:`MAX_FIELD_SIZE` bytes each, :data:`MAX_FIELDS_TOTAL` in all, and
at most :data:`MAX_PARTS` parts). An ``application/x-www-form-urlencoded``
body (at most :data:`MAX_FIELD_SIZE` bytes) is parsed into ``request.args``.
As twisted.web did, a form field replaces a query argument of the same
name. A file part is read back by range through :class:`FormPartSource`, so
uploading a large file through a form holds a segment in memory, not the
file; :func:`uploaded_file` gives it with its base name (browsers may send a
whole path). A malformed body (no closing delimiter, endless headers, oversized
field) is a :class:`FormError` saying what is wrong.
"""

import email.message
import email.parser
import email.policy
import weakref
from typing import Any, BinaryIO
from urllib.parse import parse_qs

import attrs
from twisted.web.resource import IResource
from twisted.web.server import Request, Site

from client.errors import ClientError
from client.web.body_reads import LargeBodyRequest
from client.web.body_spool import SpoolingSite

SCAN_CHUNK = 1024 * 1024
MAX_PART_HEADERS = 16 * 1024
MAX_FIELD_SIZE = 1024 * 1024
MAX_FIELDS_TOTAL = 4 * 1024 * 1024
MAX_PARTS = 1000
FILE_FIELD = "file"


class FormError(ClientError):
    """A form body is malformed or too large (answered 400)."""


@attrs.frozen
class FormPart:
    """Where a file part of a multipart body lies in the body: ``offset`` and ``length``."""

    name: str
    filename: str | None
    offset: int
    length: int


_FILES: "weakref.WeakKeyDictionary[Request, dict[str, FormPart]]" = weakref.WeakKeyDictionary()


def form_site(root: IResource, **options: Any) -> Site:
    """A twisted.web Site for ``root`` that leaves form bodies to :func:`form_arguments`.

    Its requests read large bodies in big pieces (:mod:`client.web.body_reads`)
    into reused spool files (:mod:`client.web.body_spool`).
    """
    return SpoolingSite(
        root, parsePOSTFormSubmission=False, requestFactory=LargeBodyRequest, **options
    )


def form_arguments(request: Request) -> None:
    """Merge the request's form body (if any, once) into ``request.args``."""
    if request in _FILES:
        return
    files: dict[str, FormPart] = {}
    _FILES[request] = files
    body = request.content
    if request.method != b"POST" or body is None:
        return
    content_type = _parse_content_type(request.getHeader(b"content-type") or b"")
    kind = content_type.get_content_type()
    if kind == "application/x-www-form-urlencoded":
        body.seek(0)
        data = body.read(MAX_FIELD_SIZE + 1)
        if len(data) > MAX_FIELD_SIZE:
            raise FormError(f"a url-encoded form may hold at most {MAX_FIELD_SIZE} bytes")
        request.args.update(parse_qs(data, keep_blank_values=True))
    elif kind == "multipart/form-data":
        boundary = content_type.get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            raise FormError("a multipart form needs a boundary")
        fields_total = 0
        for part in scan_multipart(body, boundary.encode("latin-1")):
            if part.filename is not None or part.name == FILE_FIELD:
                files[part.name] = part
                continue
            fields_total += part.length
            if part.length > MAX_FIELD_SIZE:
                raise FormError(f"form field {part.name!r} holds more than {MAX_FIELD_SIZE} bytes")
            if fields_total > MAX_FIELDS_TOTAL:
                raise FormError(f"the form's fields hold more than {MAX_FIELDS_TOTAL} bytes")
            body.seek(part.offset)
            request.args[part.name.encode("utf-8")] = [body.read(part.length)]
    body.seek(0)


def form_file(request: Request, name: str = FILE_FIELD) -> FormPart | None:
    """The file part ``name`` of the request's multipart form, if it has one."""
    form_arguments(request)
    return _FILES[request].get(name)


@attrs.frozen
class UploadedFile:
    """A form's ``file`` field: its bytes as an upload source, and its base file name."""

    source: "FormPartSource"
    filename: str | None


def uploaded_file(request: Request) -> UploadedFile:
    """The ``file`` field of a ``t=upload`` form; FormError if the request has none."""
    part = form_file(request)
    if part is None or request.content is None:
        raise FormError("t=upload needs a multipart form with a 'file' field")
    filename = part.filename.replace("\\", "/").rsplit("/", 1)[-1] if part.filename else None
    return UploadedFile(FormPartSource(request.content, part), filename or None)


class FormPartSource:
    """One file part of a spooled form body, read by range (an upload source)."""

    def __init__(self, body: BinaryIO, part: FormPart) -> None:
        """Serve ``part`` of ``body``."""
        self._body = body
        self._part = part

    @property
    def size(self) -> int:
        """The part's length."""
        return self._part.length

    async def read(self, offset: int, length: int) -> bytes:
        """Read a range of the part."""
        start = min(offset, self._part.length)
        self._body.seek(self._part.offset + start)
        data: bytes = self._body.read(max(0, min(length, self._part.length - start)))
        return data


def scan_multipart(
    body: BinaryIO, boundary: bytes, *, chunk_size: int = SCAN_CHUNK
) -> list[FormPart]:
    """Locate every part of a multipart body, reading ``chunk_size`` bytes at a time."""
    finder = _DelimiterFinder(body, b"--" + boundary, chunk_size)
    first = finder.next_delimiter(0, leading=True)
    if first is None:
        raise FormError("the multipart form has no opening boundary")
    parts: list[FormPart] = []
    position = first
    while True:
        marker = finder.read_at(position, 2)
        if marker == b"--":
            return parts
        line_end = finder.find(b"\r\n", position, MAX_PART_HEADERS)
        if line_end is None:
            raise FormError("a multipart boundary line does not end")
        headers_start = line_end + 2
        headers_end = finder.find(b"\r\n\r\n", headers_start - 2, MAX_PART_HEADERS)
        if headers_end is None:
            raise FormError(
                f"a form part's headers are missing or longer than {MAX_PART_HEADERS} bytes"
            )
        headers = finder.read_at(headers_start, max(0, headers_end - headers_start))
        content_start = headers_end + 4
        delimiter = finder.next_delimiter(content_start, leading=False)
        if delimiter is None:
            raise FormError("the multipart form ends before its closing boundary")
        content_end = delimiter - len(finder.delimiter) - 2
        if len(parts) == MAX_PARTS:
            raise FormError(f"a form may have at most {MAX_PARTS} parts")
        parts.append(_part(headers, content_start, content_end - content_start))
        position = delimiter


def _part(headers: bytes, offset: int, length: int) -> FormPart:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        headers + b"\r\n\r\n", headersonly=True
    )
    if message.get_content_disposition() != "form-data":
        raise FormError("a form part has no Content-Disposition: form-data")
    name = message.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise FormError("a form part has no name")
    filename = message.get_filename()
    return FormPart(name=name, filename=filename, offset=offset, length=length)


def _parse_content_type(header: bytes) -> email.message.Message:
    return email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + header.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n\r\n",
        headersonly=True,
    )


class _DelimiterFinder:
    """Searches a file for byte strings, a bounded chunk at a time."""

    def __init__(self, body: BinaryIO, delimiter: bytes, chunk_size: int) -> None:
        self.body = body
        self.delimiter = delimiter
        self.chunk_size = max(chunk_size, len(delimiter) + 4)

    def read_at(self, offset: int, length: int) -> bytes:
        self.body.seek(offset)
        data: bytes = self.body.read(length)
        return data

    def find(self, needle: bytes, start: int, limit: int) -> int | None:
        """Where ``needle`` starts at or after ``start``, looking at most ``limit`` bytes on."""
        window = self.read_at(start, limit + len(needle))
        found = window.find(needle)
        return None if found < 0 else start + found

    def next_delimiter(self, start: int, *, leading: bool) -> int | None:
        """The offset just after the next ``[CRLF]--boundary`` at or after ``start``."""
        needle = self.delimiter if leading else b"\r\n" + self.delimiter
        position = start
        while True:
            window = self.read_at(position, self.chunk_size + len(needle))
            found = window.find(needle)
            if found >= 0:
                return position + found + len(needle)
            if len(window) < self.chunk_size + len(needle):
                return None
            position += self.chunk_size
