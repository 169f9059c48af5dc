"""Large request bodies through the gateway's Site over real loopback HTTP.

Bodies of 4 MiB and more are read 1 MiB at a time into spool files the Site
reuses between requests; these tests check that reuse never mixes bodies up.
"""

import os
from collections.abc import Iterator

import pytest

from client.web.body_spool import LARGE_BODY
from tests.integration.web_grid import WebGrid, serving, url


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebGrid]:
    """The web API over ten real storage servers on loopback."""
    with serving(tmp_path_factory.mktemp("web-large")) as (_grid, served):
        yield served


def _put(web: WebGrid, data: bytes) -> str:
    answer = web.request("PUT", "/uri", data)
    assert answer.status in {200, 201}, answer.text
    return answer.text.strip()


def test_large_bodies_in_reused_spools_stay_apart(web: WebGrid) -> None:
    """Puts of different sizes, one after another, each store and return their own bytes."""
    first = os.urandom(LARGE_BODY + 5)
    second = os.urandom(LARGE_BODY + 1024 * 1024)
    third = os.urandom(LARGE_BODY)
    caps = [_put(web, body) for body in (first, second, third)]
    assert web.listening.factory.spools.idle == 1
    assert _put(web, first) == caps[0]
    for cap, body in zip(caps, (first, second, third), strict=True):
        answer = web.request("GET", url(cap))
        assert answer.status == 200
        assert answer.body == body


def test_a_large_form_upload_gives_the_cap_of_the_same_put(web: WebGrid) -> None:
    """A multipart form's file, spooled the same way, is the same file as a PUT body."""
    data = os.urandom(LARGE_BODY + 333)
    form = web.upload_form("/uri?t=upload", {}, data)
    assert form.status in {200, 201}, form.text
    assert form.text.strip() == _put(web, data)
