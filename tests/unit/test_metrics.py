"""Counters, gauges and histograms, and their JSON and OpenMetrics renderings."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.metrics import (
    JSON_CONTENT_TYPE,
    OPENMETRICS_CONTENT_TYPE,
    MetricsError,
    MetricsRegistry,
    TransferMetrics,
    render_json,
    render_openmetrics,
    render_statistics,
    statistics_json,
)
from tests.openmetrics import OpenMetricsError, parse_openmetrics


def openmetrics(*registries: MetricsRegistry) -> dict[str, float]:
    """Render and strictly parse the registries."""
    return parse_openmetrics(render_openmetrics(registries).decode("utf-8"))


def test_counter_counts_up_and_renders_as_total() -> None:
    """A counter adds what it is given and renders as NAME_total under counters."""
    registry = MetricsRegistry()
    counter = registry.counter("uploader.files_uploaded", "Files uploaded.")
    counter.inc()
    counter.inc(4)
    assert statistics_json([registry])["counters"] == {"uploader.files_uploaded": 5}
    assert openmetrics(registry) == {"grid_uploader_files_uploaded_total": 5}


def test_counter_never_goes_down() -> None:
    """A negative increment raises MetricsError and leaves the counter alone."""
    counter = MetricsRegistry().counter("c", "A counter.")
    with pytest.raises(MetricsError):
        counter.inc(-1)
    assert counter.value == 0


def test_gauge_is_read_when_rendered_and_unknown_is_null() -> None:
    """A gauge shows its current value; None is JSON null and no OpenMetrics sample."""
    values: list[int | None] = [3]
    registry = MetricsRegistry()
    registry.gauge("storage_broker.connected_servers", "Connected.", lambda: values[0])
    assert statistics_json([registry])["stats"] == {"storage_broker.connected_servers": 3}
    values[0] = None
    assert statistics_json([registry])["stats"] == {"storage_broker.connected_servers": None}
    assert openmetrics(registry) == {}


def test_histogram_buckets_are_cumulative() -> None:
    """Observations land in the first bucket whose bound is at least the value."""
    registry = MetricsRegistry()
    histogram = registry.histogram("latency", "Seconds.", (0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 2.0):
        histogram.observe(value)
    samples = openmetrics(registry)
    assert samples['grid_latency_bucket{le="0.1"}'] == 2
    assert samples['grid_latency_bucket{le="1.0"}'] == 3
    assert samples['grid_latency_bucket{le="+Inf"}'] == 4
    assert samples["grid_latency_count"] == 4
    assert samples["grid_latency_sum"] == pytest.approx(2.65)
    stats = statistics_json([registry])["stats"]
    assert stats["latency.count"] == 4
    assert stats["latency.mean"] == pytest.approx(2.65 / 4)


def test_empty_histogram_has_a_null_mean() -> None:
    """A histogram with no observations renders a null mean and zero counts."""
    registry = MetricsRegistry()
    registry.histogram("latency", "Seconds.")
    stats = statistics_json([registry])["stats"]
    assert stats == {"latency.count": 0, "latency.sum": 0.0, "latency.mean": None}
    assert openmetrics(registry)['grid_latency_bucket{le="+Inf"}'] == 0


@pytest.mark.parametrize("value", [-0.5, math.inf, math.nan])
def test_histogram_refuses_bad_observations(value: float) -> None:
    """Negative, infinite and NaN observations raise MetricsError."""
    histogram = MetricsRegistry().histogram("h", "H.")
    with pytest.raises(MetricsError):
        histogram.observe(value)
    assert histogram.count == 0


@pytest.mark.parametrize("bounds", [(), (1.0, 1.0), (2.0, 1.0), (1.0, math.inf)])
def test_histogram_bounds_must_be_finite_and_increase(bounds: tuple[float, ...]) -> None:
    """Empty, repeated, decreasing or infinite bounds raise MetricsError."""
    with pytest.raises(MetricsError):
        MetricsRegistry().histogram("h", "H.", bounds)


def test_names_that_would_collide_are_refused() -> None:
    """Registering a name twice, or one whose samples clash with another's, raises."""
    registry = MetricsRegistry()
    registry.counter("a", "A.")
    registry.histogram("h", "H.")
    with pytest.raises(MetricsError):
        registry.counter("a", "Again.")
    with pytest.raises(MetricsError):
        registry.gauge("a_total", "Clashes with a's sample.", lambda: 1)
    with pytest.raises(MetricsError):
        registry.gauge("h.count", "Clashes with h_count.", lambda: 1)
    with pytest.raises(MetricsError):
        registry.counter("b_total", "Suffix is added when rendering.")
    with pytest.raises(MetricsError):
        registry.gauge("bad name", "Space.", lambda: 1)


def test_registries_rendered_together_must_not_share_names() -> None:
    """Two registries holding the same metric name cannot be rendered together."""
    first, second = MetricsRegistry(), MetricsRegistry()
    first.counter("same", "One.")
    second.counter("same", "Two.")
    with pytest.raises(MetricsError):
        render_json([first, second])


def test_help_text_is_escaped() -> None:
    """Backslashes and newlines in help text are escaped in OpenMetrics."""
    registry = MetricsRegistry()
    registry.counter("c", "line one\nback\\slash")
    text = render_openmetrics([registry]).decode()
    assert "# HELP grid_c line one\\nback\\\\slash\n" in text
    parse_openmetrics(text)


def test_dashes_and_dots_become_underscores() -> None:
    """Tahoe-style names map to valid OpenMetrics names."""
    registry = MetricsRegistry()
    registry.counter("storage_server.add-lease", "Leases.")
    assert openmetrics(registry) == {"grid_storage_server_add_lease_total": 0}
    assert statistics_json([registry])["counters"] == {"storage_server.add-lease": 0}


def test_render_statistics_chooses_by_t() -> None:
    """t=json (or nothing) answers JSON, t=openmetrics the text; anything else raises."""
    registry = MetricsRegistry()
    registry.counter("c", "C.")
    as_json = render_statistics([registry], "json")
    assert as_json.content_type == JSON_CONTENT_TYPE
    assert json.loads(as_json.body) == {"counters": {"c": 0}, "stats": {}}
    assert render_statistics([registry], "") == as_json
    text = render_statistics([registry], "openmetrics")
    assert text.content_type == OPENMETRICS_CONTENT_TYPE
    assert text.body.endswith(b"# EOF\n")
    with pytest.raises(MetricsError):
        render_statistics([registry], "html")


def test_transfer_metrics_count_successes() -> None:
    """A finished transfer adds one file, its bytes and its latency."""
    registry = MetricsRegistry()
    uploads = TransferMetrics.register(registry, "uploader", "uploaded")
    uploads.succeeded(1234, 0.5)
    uploads.failures.inc()
    result = statistics_json([registry])
    assert result["counters"] == {
        "uploader.files_uploaded": 1,
        "uploader.bytes_uploaded": 1234,
        "uploader.failures": 1,
    }
    assert result["stats"]["uploader.latency_seconds.count"] == 1
    assert result["stats"]["uploader.latency_seconds.sum"] == 0.5


def test_empty_exposition_is_just_eof() -> None:
    """No metrics render as a lone # EOF line."""
    assert render_openmetrics([MetricsRegistry()]) == b"# EOF\n"
    assert parse_openmetrics("# EOF\n") == {}


@pytest.mark.parametrize(
    "text",
    [
        "# TYPE a counter\na_total 1\n",
        "# TYPE a counter\na 1\n# EOF\n",
        "# TYPE a_total counter\na_total_total 1\n# EOF\n",
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n",
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_count 1\n# EOF\n',
        '# TYPE h histogram\nh_bucket{le="1.0"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n# EOF\n',
        "# TYPE a gauge\na one\n# EOF\n",
    ],
)
def test_the_validator_rejects_malformed_text(text: str) -> None:
    """The test parser refuses text a Prometheus scraper would refuse."""
    with pytest.raises(OpenMetricsError):
        parse_openmetrics(text)


metric_names = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9_-]{0,8}){0,3}", fullmatch=True)


@given(
    names=st.lists(metric_names, min_size=1, max_size=8, unique=True),
    observations=st.lists(st.floats(min_value=0, max_value=1e6), max_size=30),
)
def test_any_registry_renders_valid_openmetrics(
    names: list[str], observations: list[float]
) -> None:
    """Whatever registers successfully renders as valid OpenMetrics with consistent totals."""
    registry = MetricsRegistry()
    histograms = []
    for index, name in enumerate(names):
        try:
            if index % 3 == 0:
                registry.counter(name, f"Counter {name}.").inc(index)
            elif index % 3 == 1:
                registry.gauge(name, f"Gauge {name}.", lambda index=index: index / 2)
            else:
                histograms.append(registry.histogram(name, f"Histogram {name}."))
        except MetricsError:
            continue
    for histogram in histograms:
        for value in observations:
            histogram.observe(value)
    samples = openmetrics(registry)
    for histogram in histograms:
        family = "grid_" + histogram.name.replace(".", "_").replace("-", "_")
        assert samples[f'{family}_bucket{{le="+Inf"}}'] == len(observations)
        assert samples[f"{family}_sum"] == pytest.approx(sum(observations))
    assert json.loads(render_json([registry]))["counters"].keys() <= set(names)
