"""Mutable files (SDMF and MDMF): create, read, overwrite, modify and patch.

Data flow: cap -> keys (:mod:`~client.mutable.keys`) -> servermap of every
server's shares, signatures checked (:mod:`~client.mutable.servermap`) ->
the newest recoverable version read from k shares, every hash checked
(:mod:`~client.mutable.retrieve`) -> for a write, the signing key recovered
from a share (:mod:`~client.mutable.signing_key`), a new version encoded and
signed (:mod:`~client.mutable.encode`, or patched in place by
:mod:`~client.mutable.mdmf_update`), placed
(:mod:`~client.mutable.placement`) and written with test-and-write vectors
(:mod:`~client.mutable.publish`). :class:`MutableService` ties them together
over a storage broker.
"""

from client.mutable.errors import (
    CorruptMutableShareError,
    MutableFileError,
    PrivateKeyUnavailableError,
    ShareChangedError,
    UncoordinatedWriteError,
    VersionChangedError,
)
from client.mutable.key_pool import KeyPool
from client.mutable.keys import MutableKeys, keys_from_cap, keys_from_private_key
from client.mutable.retrieve import Consumer
from client.mutable.service import MutableService

__all__ = [
    "Consumer",
    "CorruptMutableShareError",
    "KeyPool",
    "MutableFileError",
    "MutableKeys",
    "MutableService",
    "PrivateKeyUnavailableError",
    "ShareChangedError",
    "UncoordinatedWriteError",
    "VersionChangedError",
    "keys_from_cap",
    "keys_from_private_key",
]
