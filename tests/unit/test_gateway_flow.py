from client.web.common import FlowControl, parse_range


def test_flow_control_pauses_and_resumes_deliveries() -> None:
    """A paused gateway makes deliveries wait until twisted.web asks for more."""
    flow = FlowControl()
    assert flow.paused is None
    flow.pauseProducing()
    waiting = flow.paused
    assert waiting is not None
    assert not waiting.called
    flow.resumeProducing()
    assert waiting.called
    assert flow.paused is None


def test_flow_control_stop_releases_and_marks_stopped() -> None:
    """A vanished HTTP client releases a waiting delivery and stops the next one."""
    flow = FlowControl()
    flow.pauseProducing()
    waiting = flow.paused
    flow.stopProducing()
    assert flow.stopped
    assert waiting is not None
    assert waiting.called


def test_ranges() -> None:
    """Single byte ranges become (offset, length); past-the-end is unsatisfiable."""
    assert parse_range(b"bytes=0-9", 100) == (0, 10)
    assert parse_range(b"bytes=90-", 100) == (90, 10)
    assert parse_range(b"bytes=-5", 100) == (95, 5)
    assert parse_range(b"bytes=50-1000", 100) == (50, 50)
    assert parse_range(b"bytes=100-", 100) == "unsatisfiable"
    assert parse_range(b"bytes=5-1", 100) is None
    assert parse_range(b"items=1-2", 100) is None
    assert parse_range(None, 100) is None
