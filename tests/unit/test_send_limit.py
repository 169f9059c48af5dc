from types import SimpleNamespace

from client.send_limit import STORAGE_SEND_LIMIT, send_writes_whole


class _Transport:
    """Stands in for a Twisted TCP transport: it has a send limit."""

    SEND_LIMIT = 128 * 1024


def _reference(transport: object) -> SimpleNamespace:
    return SimpleNamespace(tracker=SimpleNamespace(broker=SimpleNamespace(transport=transport)))


def test_the_limit_is_raised_on_that_connection_only() -> None:
    """The transport under the reference gets the larger limit; its class keeps the default."""
    transport = _Transport()
    send_writes_whole(_reference(transport))
    assert transport.SEND_LIMIT == STORAGE_SEND_LIMIT
    assert _Transport.SEND_LIMIT == 128 * 1024
    assert _Transport().SEND_LIMIT == 128 * 1024


def test_references_without_such_a_transport_are_left_alone() -> None:
    """No tracker, no broker, no transport, or a transport without a limit: nothing changes."""
    other = SimpleNamespace(bufferSize=65536)
    for reference in (object(), SimpleNamespace(tracker=None), _reference(None), _reference(other)):
        send_writes_whole(reference)
    assert vars(other) == {"bufferSize": 65536}
