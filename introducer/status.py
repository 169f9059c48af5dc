"""What an introducer shows about itself: status records, Tahoe's JSON, a small HTML page.

Rules: the records are snapshots the registry makes (no live references);
the renderers are pure functions of a snapshot and the current time.
:func:`status_json` has the shape of Tahoe's introducer ``GET /?t=json``:
per-service counts of subscriptions, of announcements, and of distinct hosts
(an announcement's host set is the hosts of its storage FURL's location
hints; one without hints counts as its own host). :func:`status_html`
escapes every value a peer chose (nicknames, versions, hints), and shows
only the location hints of announced FURLs unless asked for the whole FURL.
"""

import datetime
import html
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

FURL_KEY = "anonymous-storage-FURL"
_FURL_SCHEME = "pb://"
_HINT_TYPES = frozenset({"tcp", "tor", "i2p"})


@attrs.frozen
class SubscriptionStatus:
    """One subscriber's subscription to one service, as it introduced itself."""

    service_name: str
    nickname: str
    version: str
    since: float
    peer: str = ""


@attrs.frozen
class AnnouncementStatus:
    """One current announcement and when the introducer accepted it."""

    service_name: str
    server_id: str
    nickname: str
    version: str
    seqnum: int
    when: float
    furl: str | None = None


@attrs.frozen
class IntroducerStatus:
    """Everything the status page shows: the subscriptions and the current announcements."""

    subscriptions: tuple[SubscriptionStatus, ...]
    announcements: tuple[AnnouncementStatus, ...]


def furl_location_hints(furl: str | None) -> tuple[str, ...]:
    """The location hints of a ``pb://<tubid>@<hints>/<swissnum>`` FURL (empty if malformed)."""
    if furl is None or not furl.startswith(_FURL_SCHEME):
        return ()
    tub_and_hints, slash, _ = furl[len(_FURL_SCHEME) :].partition("/")
    _, at, hints = tub_and_hints.partition("@")
    if not slash or not at:
        return ()
    return tuple(hint for hint in hints.split(",") if hint)


def hint_host(hint: str) -> str:
    """The host a location hint names: ``tcp:example.net:3457`` gives ``example.net``."""
    kind, colon, rest = hint.partition(":")
    body = rest if colon and kind in _HINT_TYPES else hint
    host, colon, port = body.rpartition(":")
    return host if colon and port.isdigit() else body


def _host_set(announcement: AnnouncementStatus) -> frozenset[str]:
    """The hosts an announcement points at, or its server id when it names none."""
    hosts = frozenset(hint_host(hint) for hint in furl_location_hints(announcement.furl))
    return hosts or frozenset({announcement.server_id})


def _count_by_service(names: Iterable[str]) -> dict[str, int]:
    """How many times each service name occurs, in sorted order."""
    return dict(sorted(Counter(names).items()))


def status_json(status: IntroducerStatus, now: float) -> dict[str, Any]:
    """The introducer's ``?t=json`` document (``now`` is accepted for symmetry; unused)."""
    hosts: dict[str, set[frozenset[str]]] = {}
    for announcement in status.announcements:
        hosts.setdefault(announcement.service_name, set()).add(_host_set(announcement))
    return {
        "subscription_summary": _count_by_service(
            subscription.service_name for subscription in status.subscriptions
        ),
        "announcement_summary": _count_by_service(
            announcement.service_name for announcement in status.announcements
        ),
        "announcement_distinct_hosts": {
            service: len(host_sets) for service, host_sets in sorted(hosts.items())
        },
    }


def render_time(when: float, now: float) -> str:
    """A UTC time and how long before ``now`` it was, for people."""
    try:
        moment = datetime.datetime.fromtimestamp(when, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return "unknown"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({render_age(now - when)} ago)"


def render_age(seconds: float) -> str:
    """A duration rounded to its largest whole unit: ``42s``, ``5m``, ``3h``, ``2d``."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cell(value: object) -> str:
    """One escaped table cell."""
    return f"<td>{html.escape(str(value))}</td>"


def _table(headings: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """An HTML table with escaped headings and cells."""
    head = "".join(f"<th>{html.escape(heading)}</th>" for heading in headings)
    body = "".join(f"<tr>{''.join(_cell(value) for value in row)}</tr>\n" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"


def _summary(counts: dict[str, int]) -> str:
    """``storage: 3, other: 1``, or ``none``."""
    return ", ".join(f"{name}: {count}" for name, count in counts.items()) or "none"


def status_html(
    status: IntroducerStatus, now: float, node_id: str, furl_hidden: bool = True
) -> str:
    """A small HTML status page: announcements and subscriptions, every value escaped.

    With ``furl_hidden`` (the default) only the location hints of announced
    FURLs are shown; otherwise the whole FURL.
    """
    summary = status_json(status, now)
    announcements = sorted(
        status.announcements, key=lambda item: (item.service_name, item.nickname, item.server_id)
    )
    subscriptions = sorted(
        status.subscriptions, key=lambda item: (item.service_name, item.nickname, item.since)
    )
    announcement_rows = [
        (
            item.nickname,
            item.server_id,
            item.service_name,
            item.seqnum,
            item.version,
            render_time(item.when, now),
            " ".join(furl_location_hints(item.furl)) if furl_hidden else item.furl or "",
        )
        for item in announcements
    ]
    subscription_rows = [
        (item.nickname, item.peer, item.service_name, item.version, render_time(item.since, now))
        for item in subscriptions
    ]
    where = "Connection hints" if furl_hidden else "FURL"
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        "<title>Introducer status</title>\n</head>\n<body>\n<h1>Introducer</h1>\n"
        f"<p>Node id: <code>{html.escape(node_id)}</code></p>\n"
        f"<p>Rendered at {html.escape(render_time(now, now))}</p>\n"
        f"<h2>Announcements ({len(announcements)})</h2>\n"
        f"<p>{html.escape(_summary(summary['announcement_summary']))}</p>\n"
        + _table(
            ("Nickname", "Server id", "Service", "Seqnum", "Version", "Announced", where),
            announcement_rows,
        )
        + f"<h2>Subscriptions ({len(subscriptions)})</h2>\n"
        f"<p>{html.escape(_summary(summary['subscription_summary']))}</p>\n"
        + _table(("Nickname", "Peer", "Service", "Version", "Since"), subscription_rows)
        + "</body>\n</html>\n"
    )
