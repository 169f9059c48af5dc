from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.test.requesthelper import DummyChannel

from client.web.body_reads import LARGE_BODY, LARGE_READ_SIZE, LargeBodyRequest

DEFAULT_READ_SIZE = 65536


class _Ok(Resource):
    """Answers every request with an empty page."""

    isLeaf = True  # noqa: N815  Twisted's name

    def render(self, request: Request) -> bytes:
        """An empty body."""
        return b""


def _channel(read_size: int | None = DEFAULT_READ_SIZE) -> DummyChannel:
    channel = DummyChannel()
    channel.site = Site(_Ok())
    if read_size is not None:
        channel.transport.bufferSize = read_size
    return channel


def test_a_large_body_is_read_in_big_pieces_then_the_size_comes_back() -> None:
    """While a large body arrives the connection reads 1 MiB at a time; afterwards 64 KiB."""
    channel = _channel()
    request = LargeBodyRequest(channel)
    request.gotLength(LARGE_BODY)
    assert channel.transport.bufferSize == LARGE_READ_SIZE
    request.handleContentChunk(b"body")
    assert request.content is not None
    assert request.content.tell() == len(b"body")
    request.requestReceived(b"PUT", b"/uri", b"HTTP/1.1")
    assert channel.transport.bufferSize == DEFAULT_READ_SIZE


def test_small_unknown_and_absent_bodies_leave_the_connection_alone() -> None:
    """Below the threshold, with no length (chunked) or no body, the read size stays."""
    for length in (LARGE_BODY - 1, None, 0):
        channel = _channel()
        request = LargeBodyRequest(channel)
        request.gotLength(length)
        assert channel.transport.bufferSize == DEFAULT_READ_SIZE
        request.requestReceived(b"GET", b"/", b"HTTP/1.1")
        assert channel.transport.bufferSize == DEFAULT_READ_SIZE


def test_a_transport_without_a_read_size_is_left_alone() -> None:
    """A transport that has no ``bufferSize`` (TLS, say) gets none."""
    channel = _channel(read_size=None)
    request = LargeBodyRequest(channel)
    request.gotLength(LARGE_BODY)
    request.requestReceived(b"PUT", b"/uri", b"HTTP/1.1")
    assert not hasattr(channel.transport, "bufferSize")
