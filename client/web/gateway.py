"""The web gateway's resource tree: what each path of ``web.port`` serves."""

from twisted.web.resource import Resource

from client.node import ClientNodeService
from client.web.welcome import WelcomePage


def build_gateway(node: ClientNodeService) -> Resource:
    """Return the root resource of a client node's web gateway."""
    if node.broker is None:
        raise RuntimeError("the gateway is built after the broker")
    root = Resource()  # type: ignore[no-untyped-call]
    root.putChild(b"", WelcomePage(lambda: node.introducer_clients, node.broker))
    return root
