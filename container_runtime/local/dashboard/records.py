"""Jobs, tuning jobs and endpoints as the dashboard shows them, read from the same records as the CLI.

A record that cannot be read (half-written, not JSON, the wrong shape) becomes a row that says so,
never an exception: the page shows it and the rest of the list.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from container_runtime.local.errors import LocalModeError
from container_runtime.local.metrics import METRIC_LOG, MetricCollector, metric_definitions
from container_runtime.local.names import NAME

T = TypeVar("T")
UNREADABLE = "Unreadable"


class Home(NamedTuple):
    """The dirs a dashboard reads: `jobs/`, `endpoints/` and `tuning/` of one home."""

    jobs: Path
    endpoints: Path
    tuning: Path


class FileCache:
    """Parsed files kept until their size or mtime changes, so a page of 1,000 jobs costs a stat each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Path, str], tuple[tuple[int, int], Any]] = {}

    def get(self, path: Path, kind: str, parse: Callable[[Path], T]) -> T:
        try:
            stat = path.stat()
        except OSError:
            return parse(path)  # missing: the parser says so
        key, stamp = (path, kind), (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] == stamp:
            cached: T = entry[1]
            return cached
        value = parse(path)
        with self._lock:
            self._entries[key] = (stamp, value)
        return value


def valid_name(name: str) -> bool:
    return bool(NAME.match(name))


def read_json(path: Path) -> dict[str, Any] | str:
    """The JSON object in `path`, or a one-line reason it is not one."""
    try:
        loaded = json.loads(path.read_text(errors="replace"))
    except FileNotFoundError:
        return f"{path.name} is missing"
    except OSError as error:
        return f"{path.name}: {error.strerror or error}"
    except ValueError as error:
        return f"{path.name}: not valid JSON ({error}); half-written?"
    if not isinstance(loaded, dict):
        return f"{path.name}: expected a JSON object, found {type(loaded).__name__}"
    return loaded


def job_row(name: str, record: Mapping[str, Any] | str) -> dict[str, Any]:
    """One line of the jobs table."""
    if isinstance(record, str):
        return {"name": name, "status": UNREADABLE, "error": record}
    resources = record.get("ResourceConfig")
    resources = resources if isinstance(resources, dict) else {}
    metrics = record.get("FinalMetricDataList")
    finals = {
        str(point.get("MetricName")): point.get("Value")
        for point in (metrics if isinstance(metrics, list) else [])
        if isinstance(point, dict)
    }
    return {
        "name": name,
        "status": str(record.get("TrainingJobStatus") or UNREADABLE),
        "backend": record.get("Backend") or "local",
        "hosts": resources.get("InstanceCount"),
        "start": record.get("TrainingStartTime") or record.get("CreationTime"),
        "duration": record.get("TrainingTimeInSeconds"),
        "metrics": finals,
        "failure": record.get("FailureReason"),
    }


def list_jobs(jobs_dir: Path, cache: FileCache) -> list[dict[str, Any]]:
    """Every job dir's row, newest first (names carry their start time; records may not)."""
    if not jobs_dir.is_dir():
        return []
    rows = [
        job_row(entry.name, cache.get(entry / "describe.json", "json", read_json))
        for entry in jobs_dir.iterdir()
        if entry.is_dir() and valid_name(entry.name)
    ]
    rows.sort(key=lambda row: (str(row.get("start") or ""), row["name"]), reverse=True)
    return rows


def job_dir(jobs_dir: Path, name: str) -> Path:
    if not valid_name(name) or not (jobs_dir / name).is_dir():
        raise LocalModeError(f"no job named {name!r} in {jobs_dir}")
    return jobs_dir / name


def job_detail(jobs_dir: Path, name: str) -> dict[str, Any]:
    """The record, its hosts' logs (names and sizes) and every metric match so far."""
    root = job_dir(jobs_dir, name)
    record = read_json(root / "describe.json")
    logs = sorted((root / "logs").glob("*.log")) if (root / "logs").is_dir() else []
    detail: dict[str, Any] = {
        "name": name,
        "row": job_row(name, record),
        "record": record if isinstance(record, dict) else None,
        "error": record if isinstance(record, str) else None,
        "logs": [{"host": path.stem, "size": path.stat().st_size} for path in logs],
        "artifacts": _artifacts(root),
    }
    detail["series"], detail["series_error"] = metric_series(record, logs)
    detail["series_times"] = None
    timed = timed_series(root / METRIC_LOG, detail["series"])
    if timed is not None:
        detail["series"], detail["series_times"] = timed
    return detail


def _artifacts(root: Path) -> list[dict[str, Any]]:
    output = root / "output"
    if not output.is_dir():
        return []
    return [{"name": path.name, "size": path.stat().st_size} for path in sorted(output.iterdir()) if path.is_file()]


def metric_series(record: Mapping[str, Any] | str, logs: Sequence[Path]) -> tuple[dict[str, list[float]], str | None]:
    """Each metric definition's matches in log order, found by the collector that made the final values."""
    if isinstance(record, str):
        return {}, None
    spec = record.get("AlgorithmSpecification")
    raw = spec.get("MetricDefinitions") if isinstance(spec, dict) else None
    try:
        collector = MetricCollector(metric_definitions(raw if isinstance(raw, list) else []))
    except (LocalModeError, TypeError, AttributeError) as error:
        return {}, str(error)
    if not collector.definitions:
        return {}, None
    for path in logs:
        with path.open("r", errors="replace") as handle:
            for line in handle:
                collector.feed(line.rstrip("\r\n"), 0.0)
    return {name: [point.value for point in points] for name, points in collector.series.items()}, None


def timed_series(path: Path, defined: Mapping[str, Sequence[float]]
                 ) -> tuple[dict[str, list[float]], dict[str, list[float]]] | None:
    """The defined metrics' matches and their times (seconds since the job's first match) from the
    metric log the job writes as it runs; None for a job without one (recorded before it existed,
    or by hand), whose matches the page then plots in log order."""
    if not defined or not path.is_file():
        return None
    values: dict[str, list[float]] = {name: [] for name in defined}
    times: dict[str, list[float]] = {name: [] for name in defined}
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break  # being written: the next poll reads it whole
                entry = json.loads(line)
                name = entry.get("metric") if isinstance(entry, dict) else None
                if name in values and isinstance(entry.get("time"), (int, float)):
                    values[name].append(float(entry["value"]))
                    times[name].append(float(entry["time"]))
    except (OSError, ValueError, TypeError):
        return None
    start = min((points[0] for points in times.values() if points), default=0.0)
    return values, {name: [round(moment - start, 3) for moment in points] for name, points in times.items()}


def importance(trials: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, float]:
    """Each parameter's share of |Spearman rank correlation| with the objective: cheap enough for
    every refresh of a running job, and 0 for a parameter that varies with nothing."""
    scored = [trial for trial in trials if isinstance(trial.get("objective"), (int, float))]
    if len(scored) < 3:
        return {}
    objective = _ranks([float(trial["objective"]) for trial in scored])
    raw: dict[str, float] = {}
    for name in names:
        values = [trial["params"].get(name) for trial in scored]
        if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
            ranks = _ranks([float(value) for value in values])
        else:  # categorical: rank the categories by their mean objective
            means: dict[str, list[float]] = {}
            for value, rank in zip(values, objective, strict=True):
                means.setdefault(str(value), []).append(rank)
            order = {key: sum(ranks_) / len(ranks_) for key, ranks_ in means.items()}
            ranks = [order[str(value)] for value in values]
        raw[name] = abs(_correlation(ranks, objective))
    total = sum(raw.values())
    return {name: (value / total if total else 0.0) for name, value in raw.items()}


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = float(rank)
    return ranks


def _correlation(a: Sequence[float], b: Sequence[float]) -> float:
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    spread = math.sqrt(sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b))
    return cov / spread if spread else 0.0
