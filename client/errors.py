"""The errors the client side raises, one root for all of them."""

from grid.errors import GridError


class ClientError(GridError):
    """The root of every error the client package raises on purpose."""


class ServerAnnouncementError(ClientError, ValueError):
    """A storage announcement lacks a usable FURL or permutation seed."""


class ServerNotConnectedError(ClientError, ConnectionError):
    """A call was made to a storage server that is not connected now."""
