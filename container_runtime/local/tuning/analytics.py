"""The tuning job's results as SageMaker's `HyperparameterTuningJobAnalytics.dataframe()` shapes
them, so notebooks written against the SDK work on a local tuning job unchanged.

One row per training job, in trial order: each tuned hyperparameter (sorted by name; `float()`-ed
when possible, as the SDK does, so categorical strings such as "adam" stay strings), then
`TrainingJobName`, `TrainingJobStatus`, `FinalObjectiveValue` (NaN when absent),
`TrainingStartTime`, `TrainingEndTime` (UTC timestamps), `TrainingElapsedTimeSeconds` (end minus
start, NaN unless both exist) and, beyond the SDK's columns, `ObjectiveStatus` (Pending, Succeeded
or Failed), which tells a job that never printed its objective from a job still running. Every
column is present even when no row has a value, so the schema does not depend on the data.
pandas is imported only when a frame is built.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from container_runtime.local.tuning.records import TrialRecord

SAGEMAKER_COLUMNS = (
    "TrainingJobName",
    "TrainingJobStatus",
    "FinalObjectiveValue",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingElapsedTimeSeconds",
)
EXTRA_COLUMNS = ("ObjectiveStatus",)


def _pandas() -> Any:
    return importlib.import_module("pandas")


def coerce(value: Any) -> Any:
    """The SDK `float()`s each tuned value (the API hands it strings); others stay as they are."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def timestamp(text: str | None) -> Any:
    """An ISO time as a UTC pandas Timestamp (naive times are taken as UTC); NaT when missing or unreadable."""
    pd = _pandas()
    if not text:
        return pd.NaT
    try:
        moment = pd.Timestamp(text)
    except (ValueError, TypeError):
        return pd.NaT
    if moment is pd.NaT:
        return moment
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def parameter_names(records: Sequence[TrialRecord], ranges: Mapping[str, Any] | None = None) -> list[str]:
    """Every tuned name, from the ranges and from the jobs (warm-start parents may differ), sorted."""
    names = set(ranges or ())
    for record in records:
        names.update(record.tuned)
    return sorted(names)


def _final_value(record: TrialRecord) -> float:
    if record.final_value is None:
        return math.nan
    try:
        return float(record.final_value)
    except (TypeError, ValueError):
        return math.nan


def analytics_dataframe(records: Sequence[TrialRecord], ranges: Mapping[str, Any] | None = None) -> Any:
    """SageMaker's analytics dataframe for these jobs; `ranges` only adds columns for names no job has yet."""
    pd = _pandas()
    names = parameter_names(records, ranges)
    columns = [*names, *SAGEMAKER_COLUMNS, *EXTRA_COLUMNS]
    rows: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = {name: coerce(record.tuned.get(name)) for name in names}
        start, end = timestamp(record.start_time), timestamp(record.end_time)
        elapsed = (end - start).total_seconds() if start is not pd.NaT and end is not pd.NaT else math.nan
        row.update(
            TrainingJobName=record.job_name,
            TrainingJobStatus=record.job_status,
            FinalObjectiveValue=_final_value(record),
            TrainingStartTime=start,
            TrainingEndTime=end,
            TrainingElapsedTimeSeconds=elapsed,
            ObjectiveStatus=record.objective_status,
        )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("TrainingStartTime", "TrainingEndTime"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("FinalObjectiveValue", "TrainingElapsedTimeSeconds"):
        frame[column] = frame[column].astype("float64")
    for name in names:
        if frame[name].isna().all():
            frame[name] = frame[name].astype("float64")  # no job has it yet: numeric NaN, not object None
    return frame


def export_csv(records: Sequence[TrialRecord], path: str | Path, ranges: Mapping[str, Any] | None = None) -> Path:
    """The dataframe as CSV (no index column, so `pandas.read_csv` gives back the same columns)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    analytics_dataframe(records, ranges).to_csv(target, index=False)
    return target
