"""The HTTP headers of the gateway's HTML pages, and a wrapper that keeps caps out of Referers.

Rules: the URLs of this gateway hold caps, so no response may let a browser
send them to another site in a ``Referer``: every response that passes
through :class:`NoReferrer` carries ``Referrer-Policy: no-referrer``, and
every HTML page sent with :func:`set_page_headers` carries it too, with a
``Content-Security-Policy`` that allows nothing but the page's own inline
style and forms posting back to this gateway (no scripts, no external
resources, no framing), and ``X-Content-Type-Options: nosniff``.
"""

from typing import Any

from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

from client.web.ui_page import PAGE_CSS_HASH

REFERRER_POLICY = b"no-referrer"

PAGE_CSP = (
    f"default-src 'none'; style-src '{PAGE_CSS_HASH}'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
).encode("ascii")
"""The Content-Security-Policy of every HTML page."""


def set_page_headers(request: Request) -> None:
    """Mark the response to ``request`` as one of our HTML pages."""
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"referrer-policy", REFERRER_POLICY)
    request.setHeader(b"content-security-policy", PAGE_CSP)
    request.setHeader(b"x-content-type-options", b"nosniff")


class NoReferrer(Resource):
    """Serves ``inner``'s whole tree, adding ``Referrer-Policy: no-referrer`` to every response.

    Wrap the gateway's root in it (``Site(NoReferrer(root))``): twisted.web
    asks the root for its first child on every request, so the header is
    set before any resource below renders, errors included.
    """

    def __init__(self, inner: IResource) -> None:
        """Wrap ``inner``."""
        super().__init__()
        self._inner = inner

    def getChildWithDefault(self, path: bytes, request: Request) -> Any:  # noqa: N802  Twisted's name
        """Set the header, then let ``inner`` find the child."""
        request.setHeader(b"referrer-policy", REFERRER_POLICY)
        return self._inner.getChildWithDefault(path, request)

    def render(self, request: Request) -> Any:
        """Set the header, then let ``inner`` render (a request that names no child)."""
        request.setHeader(b"referrer-policy", REFERRER_POLICY)
        return self._inner.render(request)
