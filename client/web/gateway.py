"""The web gateway's resource tree: what each path of ``web.port`` serves."""

from twisted.web.resource import Resource

from client.node import ClientNodeService
from client.web.uri import UriRoot
from client.web.welcome import WelcomePage


def build_gateway(node: ClientNodeService) -> Resource:
    """Return the root resource of a client node's web gateway."""
    if node.broker is None or node.node_maker is None:
        raise RuntimeError("the gateway is built after the broker and the node maker")
    root = Resource()
    root.putChild(b"", WelcomePage(lambda: node.introducer_clients, node.broker))
    files = UriRoot(node.node_maker)
    root.putChild(b"uri", files)
    root.putChild(b"cap", files)
    return root
