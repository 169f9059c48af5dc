"""The shared core of the grid: formats, caps, hashing, codec and crypto.

Everything in this package (except :mod:`grid.cli`) is pure: no reactor, no
sockets, no disk. The other packages build services on top of it.
"""

__version__ = "0.1.0"
