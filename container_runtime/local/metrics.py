"""Metrics read from a job's log lines, as SageMaker reads them: a name and a regex whose first
group is the value. Every match is kept with its time, so a tuner can use the whole series."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from container_runtime.local.errors import LocalModeError


class MetricDefinition(NamedTuple):
    name: str
    pattern: re.Pattern[str]

    @property
    def regex(self) -> str:
        return self.pattern.pattern


class MetricPoint(NamedTuple):
    timestamp: float
    value: float


def metric_definition(name: str, regex: str) -> MetricDefinition:
    """Compiled now, so a bad regex fails before any job starts."""
    if not name.strip():
        raise LocalModeError(f"metric definition {regex!r}: the name is empty")
    try:
        pattern = re.compile(regex)
    except re.error as error:
        raise LocalModeError(f"metric {name!r}: bad regex {regex!r}: {error}") from error
    if pattern.groups < 1:
        raise LocalModeError(f"metric {name!r}: regex {regex!r} has no group to capture the value")
    return MetricDefinition(name, pattern)


def metric_definitions(raw: Iterable[Mapping[str, str]] | Mapping[str, str]) -> tuple[MetricDefinition, ...]:
    """From the SDK's `[{"Name": ..., "Regex": ...}]` or a plain `{name: regex}` mapping."""
    if isinstance(raw, Mapping):
        return tuple(metric_definition(name, regex) for name, regex in raw.items())
    definitions = []
    for entry in raw:
        if "Name" not in entry or "Regex" not in entry:
            raise LocalModeError(f"metric definition {dict(entry)!r}: needs 'Name' and 'Regex'")
        definitions.append(metric_definition(entry["Name"], entry["Regex"]))
    return tuple(definitions)


class MetricCollector:
    """Feeds on log lines (from any host) and keeps every value each definition matches."""

    def __init__(self, definitions: Iterable[MetricDefinition]) -> None:
        self.definitions = tuple(definitions)
        self.series: dict[str, list[MetricPoint]] = {definition.name: [] for definition in self.definitions}

    def feed(self, line: str, timestamp: float | None = None) -> list[tuple[str, float]]:
        """Record what `line` reports; returns the (name, value) pairs it matched."""
        found = []
        for definition in self.definitions:
            for match in definition.pattern.finditer(line):
                value = _number(match.group(1))
                if value is not None:
                    moment = time.time() if timestamp is None else timestamp
                    self.series[definition.name].append(MetricPoint(moment, value))
                    found.append((definition.name, value))
        return found

    def final_values(self) -> dict[str, MetricPoint]:
        """The last value of every metric that was seen (SageMaker's FinalMetricDataList)."""
        return {name: points[-1] for name, points in self.series.items() if points}


#: A job's metric matches with their times, one JSON object a line, written as they happen.
METRIC_LOG = "metrics.jsonl"


class MetricLog:
    """Appends each match (`{"metric", "time", "value"}`) to the job's `metrics.jsonl`, so a
    dashboard can chart a metric over time while the job runs and after it ended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, matches: Iterable[tuple[str, float]], timestamp: float) -> None:
        lines = "".join(json.dumps({"metric": name, "time": timestamp, "value": value}) + "\n"
                        for name, value in matches if math.isfinite(value))
        if lines:
            with self._lock, self.path.open("a", encoding="utf-8") as handle:
                handle.write(lines)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
