"""The web gateway's resource tree: what each path of ``web.port`` serves.

Rules: ``/`` is the welcome page, ``/uri`` (and its synonym ``/cap``) the
files and directories caps name, ``/operations`` the long operations
(manifests, deep stats) started from directories, ``/statistics`` the
node's metrics as JSON or OpenMetrics. Every response carries
``Referrer-Policy: no-referrer``, so no cap in a URL reaches a third party.
"""

from collections.abc import Sequence

from twisted.web.resource import IResource, Resource

from client.node import ClientNodeService
from client.web.operations import OperationsResource, OperationTable
from client.web.statistics import client_statistics
from client.web.ui_headers import NoReferrer
from client.web.uri import UriRoot
from client.web.welcome import WelcomePage
from grid.metrics import MetricsRegistry


def build_gateway(node: ClientNodeService, statistics: Sequence[MetricsRegistry] = ()) -> IResource:
    """Return the root resource of a client node's web gateway.

    ``/statistics`` shows the client's own metrics and ``statistics`` (a
    storage server's, when the node also stores shares).
    """
    if node.broker is None or node.node_maker is None:
        raise RuntimeError("the gateway is built after the broker and the node maker")
    root = Resource()
    root.putChild(b"", WelcomePage(lambda: node.introducer_clients, node.broker))
    operations = OperationTable(node.reactor)
    files = UriRoot(node.node_maker, operations)
    root.putChild(b"uri", files)
    root.putChild(b"cap", files)
    root.putChild(b"operations", OperationsResource(operations))
    root.putChild(
        b"statistics", client_statistics(node.node_maker.files.metrics, node.broker, *statistics)
    )
    return NoReferrer(root)
