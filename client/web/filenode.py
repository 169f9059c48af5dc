"""``/uri/$FILECAP``: one file of any kind — read it, describe it, change it, check it.

Rules (Tahoe-LAFS 1.20's web API for files):

- ``GET`` streams the verified bytes (one ``Range`` honoured: 206, or 416
  past the end); ``HEAD`` sends the same headers; ``?t=json`` describes the
  file as ``["filenode", {...}]``; ``?t=uri`` and ``?t=readonly-uri`` give
  the caps as text.
- ``PUT`` replaces a mutable file's contents with the body, handed on as
  a source read by range (an MDMF file is written a batch at a time); with
  ``?offset=N`` it writes the body at N (MDMF rewrites only the segments
  it touches). An immutable file, or a mutable one opened read-only,
  refuses with 400 or 403.
- ``POST ?t=check`` checks the file (``verify=true`` reads every share,
  ``repair=true`` repairs it, ``add-lease=true`` renews this client's
  leases) and answers, as Tahoe-LAFS does, an HTML page for people
  (:mod:`client.web.check_page`) unless ``output=JSON`` asks for Tahoe's
  JSON results; ``output=text`` (ours) answers the one-line summary
  (:mod:`client.checking`).
"""

from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

from client.checking import CheckService
from client.filenodes import FileNode, MutableFileNode, describe_file
from client.node_maker import NodeMaker
from client.web.check_page import check_page
from client.web.common import (
    BadRequestError,
    argument,
    boolean_argument,
    finish_text,
    json_text,
    run,
    stream_file,
)
from client.web.new_files import RequestBodySource
from client.web.ui_headers import set_page_headers
from grid.caps import Cap


def request_body(request: Request) -> bytes:
    """The whole request body."""
    if request.content is None:
        return b""
    request.content.seek(0)
    body: bytes = request.content.read()
    return body


class FileResource(Resource):
    """One file, named by its cap."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, maker: NodeMaker, node: FileNode) -> None:
        """Serve ``node``."""
        super().__init__()
        self._maker = maker
        self._node = node

    def render_GET(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """The bytes, a range of them, the JSON description, or a cap."""
        return run(request, self._get(request))

    def render_HEAD(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """The headers a GET would send."""
        return run(request, stream_file(request, self._node))

    def render_PUT(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Replace (or, with ``offset``, patch) a mutable file's contents."""
        return run(request, self._put(request))

    def render_POST(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """``t=check``: check, verify or repair the file."""
        return run(request, self._post(request))

    async def _get(self, request: Request) -> None:
        what = argument(request, "t", "")
        node = self._node
        if what == "":
            await stream_file(request, node)
        elif what == "json":
            size = await node.size()
            finish_text(request, json_text(["filenode", describe_file(node, size)]))
        elif what == "uri":
            finish_text(request, node.cap.to_string())
        elif what == "readonly-uri":
            finish_text(request, node.cap.read_only().to_string())
        else:
            raise BadRequestError(f"GET of a file does not know t={what}")

    async def _put(self, request: Request) -> None:
        node = self._node
        if not isinstance(node, MutableFileNode):
            raise BadRequestError("an immutable file cannot be changed; PUT it to /uri instead")
        offset_text = argument(request, "offset")
        if offset_text is None:
            await node.overwrite(RequestBodySource(request))
        else:
            try:
                offset = int(offset_text)
            except ValueError:
                raise BadRequestError(f"offset must be an integer, not {offset_text!r}") from None
            if offset < 0:
                raise BadRequestError(f"offset must not be negative, got {offset}")
            await node.write_at(offset, request_body(request))
        finish_text(request, node.cap.to_string())

    async def _post(self, request: Request) -> None:
        what = argument(request, "t", "")
        if what != "check":
            raise BadRequestError(f"POST to a file does not know t={what}")
        await answer_check(request, self._maker.checker, self._node.cap)


async def answer_check(request: Request, checker: CheckService, cap: Cap) -> None:
    """Answer ``t=check`` (``verify``, ``repair``, ``add-lease``): HTML, ``output=JSON`` or text."""
    answer = await checker.check(
        cap,
        verify=boolean_argument(request, "verify"),
        repair=boolean_argument(request, "repair"),
        add_lease=boolean_argument(request, "add-lease"),
    )
    output = (argument(request, "output", "") or "").lower()
    if output == "json":
        request.setHeader(b"content-type", b"application/json")
        request.write(json_text(answer.json).encode("utf-8"))
        request.finish()
    elif output == "text":
        finish_text(request, answer.summary + "\n")
    else:
        set_page_headers(request)
        request.write(check_page(answer.json, return_to=argument(request, "return_to")))
        request.finish()
