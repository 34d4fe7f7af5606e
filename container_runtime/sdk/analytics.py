"""`HyperparameterTuningJobAnalytics` and `TrainingJobAnalytics`, as `sagemaker.analytics` has
them, read from local mode's records by job name (pandas DataFrames, as the SDK returns)."""

from __future__ import annotations

import importlib
import json
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.metrics import METRIC_LOG
from container_runtime.local.names import validate_name
from container_runtime.sdk.session import Session


class HyperparameterTuningJobAnalytics:
    """One row per training job of the tuning job: the tuned values, then SageMaker's columns."""

    def __init__(self, hyperparameter_tuning_job_name: str, sagemaker_session: Session | None = None) -> None:
        self.name = validate_name(hyperparameter_tuning_job_name, "tuning job name")
        self.sagemaker_session = sagemaker_session or Session()
        self._frame: Any = None
        self._description: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<container_runtime.sdk.HyperparameterTuningJobAnalytics for {self.name}>"

    def description(self, force_refresh: bool = False) -> dict[str, Any]:
        """The tuning job's DescribeHyperParameterTuningJob-shaped record."""
        if force_refresh or self._description is None:
            self._description = self.sagemaker_session.describe_tuning_job(self.name)
        return self._description

    @property
    def tuning_ranges(self) -> dict[str, Any]:
        """The ranges as the description lists them, by parameter name."""
        ranges = self.description().get("HyperParameterTuningJobConfig", {}).get("ParameterRanges") or []
        # Local records list the ranges; SageMaker's group them by kind.
        groups = ranges.values() if isinstance(ranges, dict) else [ranges]
        return {entry["Name"]: entry for entries in groups for entry in entries}

    def dataframe(self, force_refresh: bool = False) -> Any:
        """The analytics table (read again when `force_refresh` or not read yet)."""
        if force_refresh or self._frame is None:
            from container_runtime.local.tuning import records
            from container_runtime.local.tuning.analytics import analytics_dataframe
            from container_runtime.local.tuning.study import load_study

            study = load_study(self.name, None, self.sagemaker_session.tuning_dir / self.name)
            self._frame = analytics_dataframe(records.trial_records(study))
        return self._frame

    def training_job_summaries(self, force_refresh: bool = False) -> list[dict[str, Any]]:
        """The table's rows as dicts."""
        records: list[dict[str, Any]] = self.dataframe(force_refresh).to_dict("records")
        return records

    def clear_cache(self) -> None:
        self._frame = None
        self._description = None

    def export_csv(self, filename: str) -> None:
        self.dataframe().to_csv(filename)


class TrainingJobAnalytics:
    """A training job's metrics: `timestamp` (seconds after the job started), `metric_name`, `value`.

    One row per value the metric's regex matched, from the job's `metrics.jsonl` (written as the
    job ran); a job recorded without that file has one row per metric, its final value.
    """

    CLOUDWATCH_NAMESPACE = "/aws/sagemaker/TrainingJobs"

    def __init__(self, training_job_name: str, metric_names: list[str] | None = None,
                 sagemaker_session: Session | None = None, start_time: Any = None, end_time: Any = None,
                 period: int | None = None) -> None:
        self.name = validate_name(training_job_name, "training job name")
        self.sagemaker_session = sagemaker_session or Session()
        self._metric_names = list(metric_names) if metric_names is not None else None
        self._frame: Any = None

    def __repr__(self) -> str:
        return f"<container_runtime.sdk.TrainingJobAnalytics for {self.name}>"

    def description(self) -> dict[str, Any]:
        return self.sagemaker_session.describe_training_job(self.name)

    def dataframe(self, force_refresh: bool = False) -> Any:
        if force_refresh or self._frame is None:
            self._frame = self._build()
        return self._frame

    def _build(self) -> Any:
        pd = importlib.import_module("pandas")
        description = self.description()
        finals = {point["MetricName"]: point for point in description.get("FinalMetricDataList") or []}
        names = self._metric_names if self._metric_names is not None else list(finals)
        defined = {entry["Name"] for entry in
                   (description.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []}
        unknown = [name for name in names if name not in defined]
        if unknown:
            raise LocalModeError(f"TrainingJobAnalytics: metric {unknown[0]!r} is not defined for job {self.name}")
        start = pd.Timestamp(description["TrainingStartTime"])
        rows = self._every_match(names, start.timestamp())
        if rows is None:
            rows = [
                {"timestamp": (pd.Timestamp(finals[name]["Timestamp"]) - start).total_seconds(),
                 "metric_name": name, "value": float(finals[name]["Value"])}
                for name in names if name in finals
            ]
        return pd.DataFrame(rows, columns=["timestamp", "metric_name", "value"])

    def _every_match(self, names: list[str], started: float) -> list[dict[str, Any]] | None:
        """Every logged value of `names`, in the order they were matched; None without a metric log."""
        directory = self.sagemaker_session.sagemaker_client.training_job_dir(self.name)
        path = directory / METRIC_LOG
        if not path.is_file():
            return None
        rows = []
        with path.open("r", encoding="utf-8") as handle:
            for line in handle:
                entry = json.loads(line)
                if entry.get("metric") in names:
                    rows.append({"timestamp": round(float(entry["time"]) - started, 3),
                                 "metric_name": entry["metric"], "value": float(entry["value"])})
        return rows

    def export_csv(self, filename: str) -> None:
        self.dataframe().to_csv(filename)
