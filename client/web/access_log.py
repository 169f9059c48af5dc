"""Access-log lines for the web gateway that never contain a cap.

Rules: caps are secrets (a read cap is the key), and they travel in URL
paths and queries, so every ``URI:…`` (plain or percent-encoded) in the
logged path is replaced by ``[cap]``. Only the method, the redacted path,
the status and the response size are logged.
"""

import re
from typing import Any

_CAP_RE = re.compile(r"(?i)URI(?::|%3A)[^/?&#\s]*")


def redact_caps(text: str) -> str:
    """Replace every cap in ``text`` with ``[cap]``."""
    return _CAP_RE.sub("[cap]", text)


def access_log_line(timestamp: str, request: Any) -> str:
    """One access-log line for ``request``, with caps redacted (a twisted.web logFormatter)."""
    path = redact_caps(request.uri.decode("latin-1"))
    method = request.method.decode("latin-1")
    return f"{timestamp} {method} {path} {request.code} {request.sentLength}"
