"""Counters, gauges and histograms, rendered as Tahoe's statistics JSON or as OpenMetrics text.

Rules:

- A metric is named in Tahoe's dotted style (``uploader.files_uploaded``).
  Its OpenMetrics family name is the registry's prefix, ``_``, and the name
  with every character outside ``[A-Za-z0-9_]`` replaced by ``_``
  (``grid_uploader_files_uploaded``). Registering a name twice, a counter
  named ``…_total``, or a name whose OpenMetrics samples would collide with
  another metric's samples raises :class:`MetricsError`; so every rendering
  of one registry is well formed. Registries rendered together must not
  share names (checked when rendering).
- A counter only goes up. It renders under ``counters`` in the JSON and as a
  ``counter`` family with one ``…_total`` sample.
- A gauge is read when rendered, from the callable given when it was
  registered; ``None`` means "unknown now": ``null`` in the JSON and no
  sample in OpenMetrics.
- A histogram has fixed, finite, strictly increasing bucket bounds chosen
  when it is registered, plus ``+Inf``. It renders in the JSON ``stats`` as
  ``NAME.count``, ``NAME.sum`` and ``NAME.mean`` (``null`` while empty), and
  in OpenMetrics as cumulative ``_bucket{le="…"}`` samples, ``_count`` and
  ``_sum``. Observations must be non-negative, so ``_sum`` is allowed.
- Rendering only reads. OpenMetrics text ends with ``# EOF`` and a newline.
- Nothing here touches the network, the disk or a clock: callers time what
  they measure and pass the seconds in.
"""

import bisect
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from grid.errors import GridError

OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_]")

Number = int | float


class MetricsError(GridError, ValueError):
    """A metric is registered or rendered in a way that would make a malformed exposition."""


class Counter:
    """A count that only goes up."""

    def __init__(self, name: str, help_text: str) -> None:
        """A counter at zero."""
        self.name = name
        self.help_text = help_text
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        """Add ``amount`` (never negative)."""
        if amount < 0:
            raise MetricsError(f"counter {self.name} cannot go down (got {amount})")
        self.value += amount


class Gauge:
    """A value read when rendered; ``None`` while unknown."""

    def __init__(self, name: str, help_text: str, read: Callable[[], Number | None]) -> None:
        """A gauge whose value comes from ``read``."""
        self.name = name
        self.help_text = help_text
        self.read = read


class Histogram:
    """How many observations fell at or below each fixed bound, and their sum."""

    def __init__(self, name: str, help_text: str, bounds: Sequence[float]) -> None:
        """An empty histogram over ``bounds`` (finite, strictly increasing; ``+Inf`` is implied)."""
        if not bounds:
            raise MetricsError(f"histogram {name} needs at least one bucket bound")
        if not all(math.isfinite(bound) for bound in bounds):
            raise MetricsError(f"histogram {name}: bucket bounds must be finite")
        if any(low >= high for low, high in itertools.pairwise(bounds)):
            raise MetricsError(f"histogram {name}: bucket bounds must strictly increase")
        self.name = name
        self.help_text = help_text
        self.bounds = tuple(float(bound) for bound in bounds)
        self._counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Record one observation (non-negative, finite)."""
        if not (math.isfinite(value) and value >= 0):
            raise MetricsError(f"histogram {self.name}: cannot observe {value!r}")
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[float, int]]:
        """``(bound, observations at or below it)`` for every bound, ending with ``+Inf``."""
        running = 0
        result = []
        for bound, count in zip((*self.bounds, math.inf), self._counts, strict=True):
            running += count
            result.append((bound, running))
        return result


Metric = Counter | Gauge | Histogram


def openmetrics_name(prefix: str, name: str) -> str:
    """The OpenMetrics family name of metric ``name`` under ``prefix``."""
    return _UNSAFE_RE.sub("_", f"{prefix}_{name}")


def _sample_names(family: str, metric: Metric) -> tuple[str, ...]:
    if isinstance(metric, Counter):
        return (family, f"{family}_total", f"{family}_created")
    if isinstance(metric, Histogram):
        return (family, *(f"{family}{suffix}" for suffix in ("_bucket", "_count", "_sum")))
    return (family,)


class MetricsRegistry:
    """The metrics one service keeps; see the module rules for names."""

    def __init__(self, prefix: str = "grid") -> None:
        """An empty registry whose OpenMetrics names start with ``prefix``."""
        self.prefix = prefix
        self._metrics: dict[str, Metric] = {}
        self._samples: dict[str, str] = {}

    def counter(self, name: str, help_text: str) -> Counter:
        """Register and return a counter."""
        if name.endswith("_total"):
            raise MetricsError(f"counter {name}: the _total suffix is added when rendering")
        counter = Counter(name, help_text)
        self._add(counter)
        return counter

    def gauge(self, name: str, help_text: str, read: Callable[[], Number | None]) -> Gauge:
        """Register and return a gauge read through ``read``."""
        gauge = Gauge(name, help_text, read)
        self._add(gauge)
        return gauge

    def histogram(
        self, name: str, help_text: str, bounds: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        """Register and return a histogram over ``bounds``."""
        histogram = Histogram(name, help_text, bounds)
        self._add(histogram)
        return histogram

    def metrics(self) -> tuple[Metric, ...]:
        """Every registered metric, in registration order."""
        return tuple(self._metrics.values())

    def _add(self, metric: Metric) -> None:
        if not _NAME_RE.fullmatch(metric.name):
            raise MetricsError(f"bad metric name {metric.name!r}")
        if metric.name in self._metrics:
            raise MetricsError(f"metric {metric.name} is already registered")
        samples = _sample_names(openmetrics_name(self.prefix, metric.name), metric)
        for sample in samples:
            if sample in self._samples:
                raise MetricsError(
                    f"metric {metric.name} collides with {self._samples[sample]} in OpenMetrics"
                )
        self._metrics[metric.name] = metric
        self._samples.update(dict.fromkeys(samples, metric.name))


def _families(registries: Iterable[MetricsRegistry]) -> Iterator[tuple[str, Metric]]:
    seen: set[str] = set()
    for registry in registries:
        for metric in registry.metrics():
            family = openmetrics_name(registry.prefix, metric.name)
            if metric.name in seen or family in seen:
                raise MetricsError(f"metric {metric.name} is in more than one registry")
            seen.update((metric.name, family))
            yield family, metric


def statistics_json(registries: Iterable[MetricsRegistry]) -> dict[str, dict[str, Any]]:
    """Tahoe's ``/statistics?t=json`` shape: ``{"counters": {...}, "stats": {...}}``."""
    counters: dict[str, int] = {}
    stats: dict[str, Number | None] = {}
    for _family, metric in _families(registries):
        if isinstance(metric, Counter):
            counters[metric.name] = metric.value
        elif isinstance(metric, Gauge):
            stats[metric.name] = metric.read()
        else:
            stats[f"{metric.name}.count"] = metric.count
            stats[f"{metric.name}.sum"] = metric.sum
            stats[f"{metric.name}.mean"] = metric.sum / metric.count if metric.count else None
    return {"counters": counters, "stats": stats}


def render_json(registries: Iterable[MetricsRegistry]) -> bytes:
    """:func:`statistics_json` as UTF-8 JSON text."""
    return json.dumps(statistics_json(registries), indent=1, sort_keys=True).encode("utf-8")


def _number(value: Number) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _family_lines(family: str, metric: Metric) -> list[str]:
    if isinstance(metric, Counter):
        kind, samples = "counter", [f"{family}_total {metric.value}"]
    elif isinstance(metric, Gauge):
        value = metric.read()
        kind, samples = "gauge", [] if value is None else [f"{family} {_number(value)}"]
    else:
        kind = "histogram"
        samples = [
            f'{family}_bucket{{le="{_number(bound)}"}} {count}'
            for bound, count in metric.cumulative()
        ]
        samples += [f"{family}_count {metric.count}", f"{family}_sum {_number(metric.sum)}"]
    return [
        f"# TYPE {family} {kind}",
        f"# HELP {family} {_escape_help(metric.help_text)}",
        *samples,
    ]


def render_openmetrics(registries: Iterable[MetricsRegistry]) -> bytes:
    """The OpenMetrics 1.0 text exposition of every metric, ending with ``# EOF``."""
    lines = [
        line for family, metric in _families(registries) for line in _family_lines(family, metric)
    ]
    return ("\n".join([*lines, "# EOF"]) + "\n").encode("utf-8")


@attrs.frozen
class TransferMetrics:
    """One kind of transfer (uploads, downloads): finished, bytes, failures and latency."""

    finished: Counter
    transferred_bytes: Counter
    failures: Counter
    seconds: Histogram

    @classmethod
    def register(cls, registry: MetricsRegistry, section: str, past: str) -> "TransferMetrics":
        """Register ``SECTION.files_PAST``, ``.bytes_PAST``, ``.failures``, ``.latency_seconds``."""
        return cls(
            finished=registry.counter(f"{section}.files_{past}", f"Files {past} successfully."),
            transferred_bytes=registry.counter(
                f"{section}.bytes_{past}", f"Bytes of the files {past} successfully."
            ),
            failures=registry.counter(f"{section}.failures", f"Transfers that failed ({section})."),
            seconds=registry.histogram(
                f"{section}.latency_seconds", f"Seconds each successful transfer took ({section})."
            ),
        )

    def succeeded(self, size: int, seconds: float) -> None:
        """Count one finished transfer of ``size`` bytes that took ``seconds``."""
        self.finished.inc()
        self.transferred_bytes.inc(size)
        self.seconds.observe(max(0.0, seconds))


@attrs.frozen
class StatisticsBody:
    """A rendered ``/statistics`` answer: its content type and bytes."""

    content_type: str
    body: bytes


def render_statistics(registries: Sequence[MetricsRegistry], output: str) -> StatisticsBody:
    """``/statistics?t=OUTPUT``: ``json`` (also when empty) or ``openmetrics``."""
    if output in {"", "json"}:
        return StatisticsBody(JSON_CONTENT_TYPE, render_json(registries))
    if output == "openmetrics":
        return StatisticsBody(OPENMETRICS_CONTENT_TYPE, render_openmetrics(registries))
    raise MetricsError(f"unknown statistics output t={output!r}: use t=json or t=openmetrics")
