"""Storage connections send a whole block write in one go.

Rules: Twisted's TCP transport sends at most ``SEND_LIMIT`` bytes (128 KiB)
per connection per reactor turn. An upload hands every storage server a
write of a few hundred kB at a time; cut into 128 KiB pieces, it reaches the
server in several bursts, and the server, which drains its socket faster
than one client can fill ten of them, goes to sleep and wakes up for each
burst. On the 2-core machines here, with ten storage nodes and the client
on one host, those wake-ups were most of the servers' CPU time: a 100 MiB
upload made the servers sleep and wake ~2,400 times in all; with the
limit at 4 MiB, ~540 times, and the upload used ~17% less CPU across all
processes. :func:`send_writes_whole` raises the limit on the transport
under one Foolscap reference; a transport without the attribute (not
Twisted's TCP) is left as it is.
"""

from typing import Any

STORAGE_SEND_LIMIT = 4 * 1024 * 1024


def send_writes_whole(reference: Any) -> None:
    """Let the connection under a Foolscap ``reference`` send up to 4 MiB per reactor turn."""
    broker = getattr(getattr(reference, "tracker", None), "broker", None)
    transport = getattr(broker, "transport", None)
    if transport is not None and hasattr(transport, "SEND_LIMIT"):
        transport.SEND_LIMIT = STORAGE_SEND_LIMIT
