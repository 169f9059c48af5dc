"""Declaring Foolscap RemoteInterfaces as data, for every protocol of the grid.

Rules: a remote method is its response constraint plus its arguments in call
order (Tahoe's names and order, since Foolscap maps positional arguments by
name); a RemoteInterface is a name, a remote name and its methods. Building
one registers it with Foolscap. This avoids Foolscap's idiom of methods
without ``self``, which neither our linters nor type checker accept.
"""

from typing import Any

from foolscap.remoteinterface import RemoteInterfaceClass, RemoteMethodSchema


def remote_method(response: object, **arguments: object) -> Any:
    """Declare one remote method: its arguments (in call order) and its response."""
    return RemoteMethodSchema(_response=response, **arguments)


def remote_interface(name: str, remote_name: str, methods: dict[str, Any]) -> Any:
    """Build (and register with Foolscap) a RemoteInterface from method schemas."""
    return RemoteInterfaceClass(
        name, (), {"__remote_name__": remote_name, "__doc__": name, **methods}
    )
