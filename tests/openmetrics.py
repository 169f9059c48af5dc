"""A strict parser of OpenMetrics 1.0 text, for tests: it rejects what a Prometheus scraper would.

It checks the grammar of every line (``# TYPE``, ``# HELP``, ``# UNIT``,
samples with optional labels), that each family is declared once before its
samples and never interleaved with another, that sample names carry only the
suffixes their type allows, that histograms have cumulative buckets with
canonical ``le`` values ending in ``+Inf`` equal to ``_count``, that counters
are non-negative, and that the text ends with ``# EOF`` and a newline.
"""

import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE_RE = re.compile(rf"({NAME})(\{{(.*)\}})? (\S+)( -?[0-9.e+]+)?")
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "unknown": ("",),
}

Samples = dict[str, float]


class OpenMetricsError(ValueError):
    """The text is not valid OpenMetrics."""


def _value(text: str) -> float:
    if text in {"+Inf", "-Inf", "NaN"}:
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?", text):
        raise OpenMetricsError(f"bad number {text!r}")
    return float(text)


def _labels(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL_RE.match(text, position)
        if match is None:
            raise OpenMetricsError(f"bad labels {text!r}")
        if match.group(1) in labels:
            raise OpenMetricsError(f"label {match.group(1)} repeated")
        labels[match.group(1)] = match.group(2)
        position = match.end()
        if position < len(text):
            if text[position] != ",":
                raise OpenMetricsError(f"bad labels {text!r}")
            position += 1
    return labels


def _check_histogram(family: str, samples: list[tuple[str, dict[str, str], float]]) -> None:
    buckets = [(labels, value) for name, labels, value in samples if name == f"{family}_bucket"]
    counts = [value for name, _labels, value in samples if name == f"{family}_count"]
    if not buckets or len(counts) != 1:
        raise OpenMetricsError(f"histogram {family} needs buckets and one _count")
    bounds = []
    for labels, _count in buckets:
        if set(labels) != {"le"}:
            raise OpenMetricsError(f"histogram {family} bucket needs exactly an le label")
        bound = labels["le"]
        if bound != "+Inf" and bound != repr(float(bound)):
            raise OpenMetricsError(f"histogram {family}: le {bound!r} is not canonical")
        bounds.append(_value(bound))
    if bounds[-1] != math.inf or bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
        raise OpenMetricsError(f"histogram {family}: buckets must increase to +Inf")
    values = [value for _labels, value in buckets]
    if values != sorted(values) or values[-1] != counts[0]:
        raise OpenMetricsError(f"histogram {family}: buckets not cumulative or +Inf != _count")


class _Parser:
    """The state of one parse: families declared, the current one, samples seen."""

    def __init__(self) -> None:
        self.types: dict[str, str] = {}
        self.helps: set[str] = set()
        self.done: set[str] = set()
        self.current: str | None = None
        self.family_samples: dict[str, list[tuple[str, dict[str, str], float]]] = {}
        self.result: Samples = {}

    def comment(self, line: str) -> None:
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[1] not in {"TYPE", "HELP", "UNIT"}:
            raise OpenMetricsError(f"bad comment line {line!r}")
        _hash, keyword, family, rest = parts
        if not re.fullmatch(NAME, family):
            raise OpenMetricsError(f"bad family name {family!r}")
        if family != self.current:
            if family in self.done or family in self.types:
                raise OpenMetricsError(f"family {family} interleaved or repeated")
            if self.current is not None:
                self.done.add(self.current)
            self.current = family
        if keyword == "TYPE":
            self.declare(family, rest)
        elif keyword == "HELP":
            if family in self.helps:
                raise OpenMetricsError(f"HELP of {family} repeated")
            if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                raise OpenMetricsError(f"bad escape in HELP of {family}")
            self.helps.add(family)

    def declare(self, family: str, kind: str) -> None:
        if family in self.types or self.family_samples.get(family):
            raise OpenMetricsError(f"TYPE of {family} repeated or after its samples")
        if kind not in _SUFFIXES:
            raise OpenMetricsError(f"unsupported type {kind!r}")
        if kind == "counter" and family.endswith("_total"):
            raise OpenMetricsError(f"counter family {family} ends in _total")
        self.types[family] = kind

    def sample(self, line: str) -> None:
        match = _SAMPLE_RE.fullmatch(line)
        if match is None or self.current is None:
            raise OpenMetricsError(f"bad sample line {line!r}")
        name, _braces, label_text, value_text, _timestamp = match.groups()
        kind = self.types.get(self.current, "unknown")
        if name not in {self.current + suffix for suffix in _SUFFIXES[kind]}:
            raise OpenMetricsError(f"sample {name} does not belong to {kind} {self.current}")
        value = _value(value_text)
        labels = _labels(label_text)
        if kind == "counter" and name.endswith("_total") and not value >= 0:
            raise OpenMetricsError(f"counter {name} is negative")
        key = name if label_text is None else f"{name}{{{label_text}}}"
        if key in self.result:
            raise OpenMetricsError(f"sample {key} repeated")
        self.result[key] = value
        self.family_samples.setdefault(self.current, []).append((name, labels, value))

    def finish(self) -> Samples:
        for family, kind in self.types.items():
            if kind == "histogram":
                _check_histogram(family, self.family_samples.get(family, []))
        return self.result


def parse_openmetrics(text: str) -> Samples:
    """Check ``text`` strictly; return each sample (``name`` or ``name{labels}``) and its value."""
    if not text.endswith("# EOF\n"):
        raise OpenMetricsError("the text must end with '# EOF' and a newline")
    body = text[: -len("# EOF\n")]
    if body and not body.endswith("\n"):
        raise OpenMetricsError("'# EOF' must be a line of its own")
    parser = _Parser()
    for line in body.split("\n")[:-1]:
        if line.startswith("#"):
            parser.comment(line)
        else:
            parser.sample(line)
    return parser.finish()
