"""Large request bodies are read from the socket in big pieces.

Rules: Twisted reads a TCP connection 64 KiB at a time, and twisted.web
spools each piece of a request body to its content file separately, so a
100 MiB upload cost ~1,600 trips through the reactor, the HTTP parser and
the file's ``write``: most of the ~0.1 s the gateway spent receiving it on
the 2-core local grid. While a body of at least
:data:`~client.web.body_spool.LARGE_BODY` bytes (the size the gateway spools
in reused files) arrives, :class:`LargeBodyRequest` lets the connection read
:data:`LARGE_READ_SIZE` bytes at a time; the connection's own size comes
back once the body is in, so responses on a kept-alive connection are
buffered as before. A transport without ``bufferSize`` (TLS, tests) is left
alone.
"""

from typing import Any

from twisted.web.server import Request

from client.web.body_spool import LARGE_BODY

LARGE_READ_SIZE = 1024 * 1024


class LargeBodyRequest(Request):
    """A twisted.web request that reads a large body in 1 MiB pieces."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Take twisted.web's arguments."""
        super().__init__(*args, **kwargs)
        self._read_size = 0
        self._reading: Any = None

    def gotLength(self, length: int | None) -> None:  # noqa: N802  twisted.web's name
        """Spool the body as twisted.web does; read it in big pieces if it is large."""
        super().gotLength(length)
        transport: Any = getattr(self.channel, "transport", None)
        if length is not None and length >= LARGE_BODY and hasattr(transport, "bufferSize"):
            self._reading = transport
            self._read_size = transport.bufferSize
            transport.bufferSize = max(self._read_size, LARGE_READ_SIZE)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802  twisted.web's name
        """Give the connection back its read size, then handle the request."""
        if self._reading is not None:
            self._reading.bufferSize = self._read_size
            self._reading = None
        super().requestReceived(command, path, version)
