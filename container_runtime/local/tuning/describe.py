"""A tuning job's description in SageMaker's shape, computed from its study, so any process
that can open the storage describes the same job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from container_runtime.local.status import JobStatus
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.records import TrialRecord, best_record


def counters(records: Sequence[TrialRecord]) -> tuple[dict[str, int], dict[str, int]]:
    jobs = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for record in records:
        if record.job_status == JobStatus.FAILED:
            jobs["NonRetryableError"] += 1
        elif record.job_status in jobs:
            jobs[record.job_status] += 1
        objectives[record.objective_status if record.objective_status in objectives else "Pending"] += 1
    return jobs, objectives


def job_summary(record: TrialRecord, config: Mapping[str, Any], tuning_job_name: str) -> dict[str, Any]:
    """SageMaker's `HyperParameterTrainingJobSummary`."""
    summary: dict[str, Any] = {
        "TrainingJobName": record.job_name,
        "TuningJobName": record.parent or tuning_job_name,
        "TrainingJobStatus": record.job_status,
        "ObjectiveStatus": record.objective_status,
        "TunedHyperParameters": {name: str(value) for name, value in record.tuned.items()},
        "TrainingStartTime": record.start_time,
        "TrainingEndTime": record.end_time,
        "FailureReason": record.failure_reason,
        "JobDir": record.job_dir,
    }
    if record.final_value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": config.get("ObjectiveType"),
            "MetricName": config.get("ObjectiveMetricName"),
            "Value": record.final_value,
        }
    return summary


def describe_study(study: Any) -> dict[str, Any]:
    attrs = study.user_attrs
    config: dict[str, Any] = dict(attrs.get(r.CONFIG) or {})
    name = study.study_name
    own = r.trial_records(study)
    everything = r.trial_records(study, include_parents=True)
    jobs, objectives = counters(own)
    objective_type = str(config.get("ObjectiveType", "Maximize"))
    best = best_record(own, objective_type)
    overall = best_record(everything, objective_type)
    description: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobStatus": attrs.get(r.STATUS, JobStatus.IN_PROGRESS),
        "HyperParameterTuningJobConfig": {
            "Strategy": config.get("Strategy"),
            "HyperParameterTuningJobObjective": {
                "Type": objective_type,
                "MetricName": config.get("ObjectiveMetricName"),
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": config.get("MaxJobs"),
                "MaxParallelTrainingJobs": config.get("MaxParallelJobs"),
                "MaxRuntimeInSeconds": config.get("MaxRuntimeInSeconds"),
            },
            "ParameterRanges": config.get("ParameterRanges"),
            "TrainingJobEarlyStoppingType": config.get("EarlyStoppingType"),
            "RandomSeed": config.get("RandomSeed"),
            "TuningJobCompletionCriteria": config.get("CompletionCriteria"),
            "ObjectiveReduction": config.get("ObjectiveReduction"),
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": config.get("StaticHyperParameters"),
            "MetricDefinitions": config.get("MetricDefinitions"),
            "EntryPoint": config.get("EntryPoint"),
            "Framework": config.get("Framework"),
        },
        "CreationTime": config.get("CreationTime"),
        "HyperParameterTuningEndTime": attrs.get(r.END_TIME),
        "TrainingJobStatusCounters": jobs,
        "ObjectiveStatusCounters": objectives,
        "FailureReason": attrs.get(r.FAILURE_REASON),
        "CompletionReason": attrs.get(r.COMPLETION_REASON),
    }
    if best is not None:
        description["BestTrainingJob"] = job_summary(best, config, name)
    if config.get("WarmStartParents"):
        description["WarmStartConfig"] = {
            "WarmStartType": config.get("WarmStartType"),
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in config["WarmStartParents"]],
        }
        if overall is not None:
            description["OverallBestTrainingJob"] = job_summary(overall, config, name)
    return description
