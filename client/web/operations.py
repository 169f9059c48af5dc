"""Long operations (``t=start-manifest&ophandle=H`` ...) and ``/operations/H`` to follow them.

Rules (Tahoe-LAFS 1.20's web API):

- An operation is started under a handle the client picks; a handle in use
  is refused (400). It runs on the reactor while the client polls.
- ``GET /operations/H?output=JSON`` answers the operation's status as JSON
  (``finished`` false while it runs, its partial results so far); without
  ``output=JSON`` the same status is an HTML page for people
  (:mod:`client.web.ui_operation`); an operation that failed answers its
  error's status and message; an unknown handle is a 404.
- ``POST /operations/H?t=cancel`` asks it to stop (it stops before its next
  node) and answers the status.
- A finished operation is kept ``retain-for`` seconds (default four days)
  after it finished; with ``release-after-complete=true`` it is dropped
  once a poll has seen it finished.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from client.web.common import (
    BadRequestError,
    argument,
    boolean_argument,
    fail,
    finish_text,
    json_text,
    status_for,
)
from client.web.ui_headers import set_page_headers
from client.web.ui_operation import operation_page
from grid.errors import GridError

DEFAULT_RETAIN_SECONDS = 4 * 24 * 60 * 60


class Operation:
    """One running or finished operation: its status so far, and whether it should stop."""

    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        """Report progress through ``status`` (called at each poll)."""
        self._status = status
        self.finished = False
        self.cancelled = False
        self.error: BaseException | None = None

    def status_json(self) -> dict[str, Any]:
        """The status as the poll answers it."""
        return {**self._status(), "finished": self.finished}


class OperationTable:
    """The operations of one gateway, by handle."""

    def __init__(self, clock: IReactorTime) -> None:
        """Time retention with ``clock``."""
        self._clock = clock
        self._operations: dict[str, Operation] = {}
        self._release_after_poll: set[str] = set()

    def start(
        self,
        request: Request,
        handle: str,
        operation: Operation,
        work: Coroutine[Any, Any, None],
    ) -> None:
        """Run ``work`` as ``operation`` under ``handle`` (retention from the request)."""
        if handle in self._operations:
            work.close()
            raise BadRequestError(f"there is already an operation with handle {handle!r}")
        retain_text = argument(request, "retain-for")
        try:
            retain = DEFAULT_RETAIN_SECONDS if retain_text is None else int(retain_text)
        except ValueError:
            work.close()
            raise BadRequestError(
                f"retain-for must be a number of seconds, not {retain_text!r}"
            ) from None
        if boolean_argument(request, "release-after-complete"):
            self._release_after_poll.add(handle)
        self._operations[handle] = operation

        def ended(result: Failure | None) -> None:
            if isinstance(result, Failure):
                operation.error = result.value
            operation.finished = True
            self._clock.callLater(max(retain, 0), self._expire, handle, operation)

        Deferred.fromCoroutine(work).addBoth(ended)

    def _expire(self, handle: str, operation: Operation) -> None:
        """Forget ``operation`` if the handle still names it."""
        if self._operations.get(handle) is operation:
            del self._operations[handle]
            self._release_after_poll.discard(handle)

    def get(self, handle: str) -> Operation | None:
        """The operation under ``handle``, if any."""
        return self._operations.get(handle)

    def polled(self, handle: str) -> None:
        """A poll saw the operation: drop it if it asked to go once seen finished."""
        operation = self._operations.get(handle)
        if operation is not None and operation.finished and handle in self._release_after_poll:
            self._expire(handle, operation)


class _OperationResource(Resource):
    """``/operations/H``: one operation."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, table: OperationTable, handle: str, operation: Operation) -> None:
        super().__init__()
        self._table = table
        self._handle = handle
        self._operation = operation

    def _answer(self, request: Request) -> None:
        operation = self._operation
        error = operation.error
        if error is not None:
            message = str(error) if isinstance(error, GridError) else type(error).__name__
            fail(request, status_for(error), f"the operation failed: {message}")
        elif (argument(request, "output", "") or "").lower() == "json":
            finish_text(request, json_text(operation.status_json()))
        else:
            set_page_headers(request)
            request.write(
                operation_page(self._handle, operation.status_json(), cancelled=operation.cancelled)
            )
            request.finish()
        self._table.polled(self._handle)

    def render_GET(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """The operation's status."""
        self._answer(request)
        return NOT_DONE_YET

    def render_POST(self, request: Request) -> Any:  # noqa: N802  Twisted's name
        """``t=cancel``: ask the operation to stop; answer its status."""
        what = argument(request, "t", "")
        if what != "cancel":
            fail(request, 400, f"POST to an operation does not know t={what}")
            return NOT_DONE_YET
        self._operation.cancelled = True
        self._answer(request)
        return NOT_DONE_YET


class ErrorResource(Resource):
    """Answers every request with one status and one line of text."""

    isLeaf = True  # noqa: N815  Twisted's name

    def __init__(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message``."""
        super().__init__()
        self._status = status
        self._message = message

    def render(self, request: Request) -> Any:
        """The error, whatever the method."""
        fail(request, self._status, self._message)
        return NOT_DONE_YET


class OperationsResource(Resource):
    """``/operations``: the parent of every operation's page."""

    def __init__(self, table: OperationTable) -> None:
        """Serve the operations of ``table``."""
        super().__init__()
        self._table = table

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802  Twisted's name
        """``/operations/H``: the operation under handle H, or a 404."""
        handle = path.decode("utf-8", "replace")
        operation = self._table.get(handle)
        if operation is None:
            return ErrorResource(404, f"no operation has handle {handle!r}")
        return _OperationResource(self._table, handle, operation)
