"""``/uri/$DIRCAP[/path]``: a directory and everything below it, and ``/uri?t=mkdir``.

Rules (Tahoe-LAFS 1.20's web API for directories):

- :class:`DirectoryResource` is a leaf: it gets the path segments after the
  cap (decoded) and walks them itself (:mod:`client.web.dir_paths`).
- ``GET``: a directory answers its HTML page, ``t=json``
  (:mod:`client.web.dir_json`), ``t=info``, ``t=uri`` or
  ``t=readonly-uri``; a file reached by a path answers its bytes (type
  guessed from its name), ``t=json`` with its link's metadata, or whatever
  :class:`~client.web.filenode.FileResource` answers; a child of unknown
  kind answers only ``t=json``, ``t=info`` and its caps.
- ``PUT`` to a path makes missing intermediate directories, then stores the
  body as a new file and links it (201 if the name was free, 200 if it
  replaced a child; a writable mutable file already there is overwritten
  in place instead), or with ``t=uri`` links the cap in the body, or with
  ``t=mkdir`` makes a directory there (an existing directory is answered
  as is). ``replace=false`` refuses a taken name (409), ``only-files``
  refuses to replace a directory. An immutable body is uploaded while the
  path is being looked up (an unlinked CHK file is harmless if the link is
  then refused), so the two round trips overlap.
- ``POST`` to a missing path with ``t=mkdir`` (and its kin) and no
  ``name=`` makes the directory there; any other ``POST`` needs an
  existing target: a directory does what :mod:`client.web.dir_actions`
  or :mod:`client.web.dir_deep` say, a file what its FileResource says.
- ``DELETE`` of a path unlinks the child and answers the cap it held.
- Errors are answered by :func:`client.web.common.run`: 400 for bad
  arguments and names, 403 read-only, 404 missing, 409 taken.
"""

import mimetypes
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from twisted.internet.defer import Deferred
from twisted.web.resource import Resource
from twisted.web.server import Request

from client.directory import DirectoryNode, ExistingChildError, Replace
from client.filenodes import ImmutableFileNode, MutableFileNode
from client.node_maker import NodeMaker
from client.web.common import (
    BadRequestError,
    argument,
    boolean_argument,
    finish_text,
    json_text,
    run,
    stream_file,
)
from client.web.dir_actions import (
    ACTIONS,
    MKDIR_KINDS,
    finish_post,
    make_new_directory,
    replace_argument,
)
from client.web.dir_deep import START_OPERATIONS, STREAMS, start_deep_operation
from client.web.dir_json import describe_child, describe_directory, describe_file_at_path
from client.web.dir_paths import Target, locate, locate_creating, request_names
from client.web.filenode import FileResource, answer_check, request_body
from client.web.new_files import RequestBodySource, store_new_file, wants_immutable_file
from client.web.operations import OperationTable
from client.web.ui_directory import directory_page
from client.web.ui_file import info_page
from client.web.ui_headers import set_page_headers
from grid.caps import parse_child_cap
from grid.formats.dirnode import DirectoryEntry


def _html(request: Request, page: bytes) -> None:
    """Answer with one of our HTML pages."""
    set_page_headers(request)
    request.write(page)
    request.finish()


async def mkdir_unlinked(request: Request, maker: NodeMaker) -> None:
    """``POST``/``PUT /uri?t=mkdir`` (or ``mkdir-with-children``, ``mkdir-immutable``).

    Answers the new directory's cap, or with ``redirect_to_result=true``
    redirects to its page.
    """
    what = argument(request, "t", "") or ""
    if what not in MKDIR_KINDS:
        raise BadRequestError(f"/uri does not know t={what}")
    created = await make_new_directory(request, maker, what)
    cap = created.cap.to_string()
    if boolean_argument(request, "redirect_to_result"):
        request.redirect(("/uri/" + quote(cap, safe="") + "/").encode("ascii"))
        request.finish()
        return
    finish_text(request, cap)


class DirectoryResource(Resource):
    """A directory reached by its cap, and the path below it the request names."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(
        self,
        maker: NodeMaker,
        node: DirectoryNode,
        path: Sequence[str],
        *,
        operations: OperationTable,
    ) -> None:
        """Serve ``path`` (decoded segments after the cap) below ``node``."""
        super().__init__()
        self._maker = maker
        self._root = node
        self._path = list(path)
        self._operations = operations

    def render_GET(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """A directory's page, JSON or caps; a file's bytes or description."""
        return run(request, self._get(request))

    def render_PUT(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Store a file, link a cap, or make a directory at the path."""
        return run(request, self._put(request))

    def render_POST(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """The ``t=`` action on the directory (or file) at the path."""
        return run(request, self._post(request))

    def render_DELETE(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Unlink the child at the path."""
        return run(request, self._delete(request))

    def _names(self) -> list[str]:
        return request_names(self._path)

    async def _get(self, request: Request) -> None:
        what = argument(request, "t", "") or ""
        names = self._names()
        target = await locate(self._maker, self._root, names)
        entry = target.require()
        node = target.node
        if isinstance(node, DirectoryNode):
            await self._get_directory(request, node, names, entry, what)
        elif entry is None or node is None:
            self._get_unknown(request, target, what)
        elif what == "json":
            finish_text(request, json_text(await describe_file_at_path(node, entry)))
        elif what == "info":
            _html(
                request, info_page(entry.cap or node.cap, name=entry.name, metadata=entry.metadata)
            )
        elif what == "":
            guessed, _ = mimetypes.guess_type(entry.name)
            await stream_file(request, node, (guessed or "application/octet-stream").encode())
        else:
            FileResource(self._maker, node).render(request)

    async def _get_directory(
        self,
        request: Request,
        node: DirectoryNode,
        names: list[str],
        entry: DirectoryEntry | None,
        what: str,
    ) -> None:
        if what == "json":
            description = describe_directory(self._maker, node.cap, await node.list_children())
            finish_text(request, json_text(description))
        elif what == "uri":
            finish_text(request, node.cap.to_string())
        elif what == "readonly-uri":
            finish_text(request, node.cap.read_only().to_string())
        elif what == "info":
            metadata = None if entry is None else entry.metadata
            name = None if entry is None else entry.name
            _html(request, info_page(node.cap, name=name, metadata=metadata))
        elif what == "":
            children = (await node.list_children()).values()
            writable = not node.is_readonly
            _html(request, directory_page(self._root.cap, names, children, writable=writable))
        else:
            raise BadRequestError(f"GET of a directory does not know t={what}")

    def _get_unknown(self, request: Request, target: Target, what: str) -> None:
        entry = target.entry
        if entry is None or entry.cap is None:
            raise BadRequestError("this path names nothing this gateway can show")
        if what == "json":
            finish_text(request, json_text(describe_child(self._maker, entry)))
        elif what == "uri":
            finish_text(request, entry.cap.to_string())
        elif what == "readonly-uri" and entry.read_cap is not None:
            finish_text(request, entry.read_cap.to_string())
        elif what == "info":
            _html(request, info_page(entry.cap, name=entry.name, metadata=entry.metadata))
        else:
            raise BadRequestError("this child is of a kind this gateway cannot open")

    async def _put(self, request: Request) -> None:
        what = argument(request, "t", "") or ""
        if what not in {"", "uri", "mkdir"}:
            raise BadRequestError(f"PUT does not know t={what}")
        names = self._names()
        if not names:
            if what == "mkdir":
                finish_text(request, self._root.cap.to_string())
                return
            raise BadRequestError("PUT to a directory itself needs a child name after it")
        replace = replace_argument(request)
        self._root.require_writable()
        upload: Deferred[ImmutableFileNode | MutableFileNode] | None = None
        if what not in {"mkdir", "uri"} and wants_immutable_file(request):
            upload = Deferred.fromCoroutine(
                store_new_file(self._maker, request, RequestBodySource(request))
            )
        try:
            target = await locate_creating(self._maker, self._root, names)
            if what == "mkdir":
                await self._put_mkdir(request, target)
            elif what == "uri":
                await self._put_uri(request, target, replace)
            else:
                await self._put_file(request, target, replace, upload)
        finally:
            if upload is not None and not upload.called:
                upload.addErrback(lambda _failure: None)

    async def _put_mkdir(self, request: Request, target: Target) -> None:
        if isinstance(target.node, DirectoryNode):
            finish_text(request, target.node.cap.to_string())
            return
        if not target.missing:
            raise ExistingChildError(f"{target.name!r} exists and is not a directory")
        await self._link_new_directory(request, target, "mkdir")

    async def _link_new_directory(self, request: Request, target: Target, what: str) -> None:
        parent, name = _parent_and_name(target)
        parent.require_writable()
        created = await make_new_directory(request, self._maker, what)
        await parent.set_child(name, created.cap, replace=Replace.NEVER)
        finish_post(request, created.cap.to_string())

    async def _put_uri(self, request: Request, target: Target, replace: Replace) -> None:
        parent, name = _parent_and_name(target)
        text = request_body(request).strip()
        if not text:
            raise BadRequestError("t=uri needs the cap to link as the request body")
        cap = parse_child_cap(text)
        await parent.set_child(name, cap, replace=replace)
        finish_text(request, cap.to_string(), 201 if target.missing else 200)

    async def _put_file(
        self,
        request: Request,
        target: Target,
        replace: Replace,
        upload: "Deferred[ImmutableFileNode | MutableFileNode] | None",
    ) -> None:
        """Store the body and link it; an immutable body was already being uploaded."""
        parent, name = _parent_and_name(target)
        _refuse_replacing(target, replace)
        node = target.node
        if isinstance(node, MutableFileNode) and not node.is_readonly:
            FileResource(self._maker, node).render(request)
            return
        parent.require_writable()
        stored = await (
            upload
            if upload is not None
            else store_new_file(self._maker, request, RequestBodySource(request))
        )
        await parent.set_child(name, stored.cap, replace=replace)
        finish_text(request, stored.cap.to_string(), 201 if target.missing else 200)

    async def _post(self, request: Request) -> None:
        what = argument(request, "t", "") or ""
        names = self._names()
        if what in MKDIR_KINDS and names and not argument(request, "name"):
            target = await locate_creating(self._maker, self._root, names)
            if isinstance(target.node, DirectoryNode):
                finish_post(request, target.node.cap.to_string())
            elif target.missing:
                await self._link_new_directory(request, target, what)
            else:
                raise ExistingChildError(f"{target.name!r} exists and is not a directory")
            return
        target = await locate(self._maker, self._root, names)
        target.require()
        node = target.node
        if isinstance(node, DirectoryNode):
            await self._post_to_directory(request, node, what)
        elif node is None:
            raise BadRequestError("this child is of a kind this gateway cannot open")
        else:
            FileResource(self._maker, node).render(request)

    async def _post_to_directory(self, request: Request, node: DirectoryNode, what: str) -> None:
        if what in START_OPERATIONS:
            start_deep_operation(request, self._maker, node, self._operations)
        elif what in STREAMS:
            await STREAMS[what](request, self._maker, node)
        elif what == "check":
            await answer_check(request, self._maker.checker, node.cap)
        elif what in ACTIONS:
            finish_post(request, await ACTIONS[what](request, self._maker, node))
        else:
            raise BadRequestError(f"POST to a directory does not know t={what}")

    async def _delete(self, request: Request) -> None:
        names = self._names()
        if not names:
            raise BadRequestError(
                "DELETE needs the path of a child; a directory has no parent here"
            )
        target = await locate(self._maker, self._root, names)
        target.require()
        parent, name = _parent_and_name(target)
        removed = await parent.delete_child(name)
        cap = None if removed is None else removed.cap
        finish_text(request, "" if cap is None else cap.to_string())


def _parent_and_name(target: Target) -> tuple[DirectoryNode, str]:
    """The parent directory and name of a target below the starting directory."""
    if target.parent is None or target.name is None:
        raise BadRequestError("this request needs the path of a child")
    return target.parent, target.name


def _refuse_replacing(target: Target, replace: Replace) -> None:
    """Refuse early (409) when ``replace`` forbids replacing what is at the target."""
    if target.missing:
        return
    if replace is Replace.NEVER:
        raise ExistingChildError(f"a child named {target.name!r} already exists")
    if replace is Replace.ONLY_FILES and isinstance(target.node, DirectoryNode):
        raise ExistingChildError(f"{target.name!r} is a directory and replace=only-files")
