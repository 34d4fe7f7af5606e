"""What a tuning job keeps in its Optuna study, and reading it back.

The study (named after the tuning job) carries the job's configuration and status as user
attributes; each Optuna trial is one training job and carries SageMaker's per-job fields as
user attributes. Everything here is plain JSON, so any process with the storage URL (a second
tuner, `describe`, the analytics) sees the same job. An attribute at its default (a job status
`InProgress`, an objective status `Pending`, attempt 1, no value or reason) may be absent: every
write is a storage round trip, and reading through `trial_record` gives the same record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from container_runtime.local.status import JobStatus

# Study user attributes.
CONFIG = "config"
STATUS = "status"
END_TIME = "end_time"
FAILURE_REASON = "failure_reason"
COMPLETION_REASON = "completion_reason"

# Trial user attributes.
JOB_NAME = "TrainingJobName"
JOB_STATUS = "TrainingJobStatus"  # InProgress | Completed | Failed | Stopped
OBJECTIVE_STATUS = "ObjectiveStatus"  # Pending | Succeeded | Failed
FINAL_VALUE = "FinalObjectiveValue"
START_TIME = "TrainingStartTime"
END_TIME_TRIAL = "TrainingEndTime"
ELAPSED = "TrainingElapsedTimeSeconds"
TUNED = "TunedHyperParameters"  # name -> the value the job received (JSON-able)
JOB_FAILURE = "FailureReason"
LOG_PATH = "LogPath"
JOB_DIR = "JobDir"
STOP_REASON = "StopReason"  # set when early stopping or Hyperband ended the job
OBJECTIVE_SERIES = "ObjectiveSeries"  # [[unix time, value], ...] every objective match, in order
ATTEMPT = "Attempt"
RETRY_OF = "RetryOf"  # set on a retry: the name of the job it retries
PARENT = "WarmStartParent"  # set on trials copied from a parent tuning job
DISCARDED = "Discarded"  # asked beyond max_jobs by a concurrent tuner: not a training job


class TrialRecord(NamedTuple):
    """One training job of a tuning job, as stored."""

    number: int
    job_name: str
    job_status: str
    objective_status: str
    final_value: float | None
    start_time: str | None
    end_time: str | None
    elapsed_seconds: float | None
    tuned: Mapping[str, Any]
    failure_reason: str | None
    log_path: str | None
    job_dir: str | None
    stop_reason: str | None
    objective_series: Sequence[tuple[float, float]]
    parent: str | None
    #: 1 for a job's first attempt, 2 for its first retry, ...
    attempt: int = 1


def trial_record(number: int, attrs: Mapping[str, Any]) -> TrialRecord:
    series = attrs.get(OBJECTIVE_SERIES) or []
    return TrialRecord(
        number=number,
        job_name=str(attrs.get(JOB_NAME, f"trial-{number}")),
        job_status=str(attrs.get(JOB_STATUS, JobStatus.IN_PROGRESS)),
        objective_status=str(attrs.get(OBJECTIVE_STATUS, "Pending")),
        final_value=attrs.get(FINAL_VALUE),
        start_time=attrs.get(START_TIME),
        end_time=attrs.get(END_TIME_TRIAL),
        elapsed_seconds=attrs.get(ELAPSED),
        tuned=dict(attrs.get(TUNED) or {}),
        failure_reason=attrs.get(JOB_FAILURE),
        log_path=attrs.get(LOG_PATH),
        job_dir=attrs.get(JOB_DIR),
        stop_reason=attrs.get(STOP_REASON),
        objective_series=[(float(moment), float(value)) for moment, value in series],
        parent=attrs.get(PARENT),
        attempt=int(attrs.get(ATTEMPT) or 1),
    )


def job_record(number: int, attrs: Mapping[str, Any]) -> TrialRecord | None:
    """The training job a trial stands for; None for a trial that is not one (yet)."""
    if attrs.get(DISCARDED) or JOB_NAME not in attrs:
        return None  # asked beyond the budget, or asked but not started yet
    return trial_record(number, attrs)


def trial_records(study: Any, *, include_parents: bool = False) -> list[TrialRecord]:
    """Every training job of the study in trial order (warm-start parents' only when asked)."""
    records = (job_record(trial.number, trial.user_attrs) for trial in study.get_trials(deepcopy=False))
    return [record for record in records if record is not None and (include_parents or record.parent is None)]


def is_better(value: float, than: float | None, objective_type: str) -> bool:
    if than is None:
        return True
    return value > than if objective_type == "Maximize" else value < than


def best_record(records: Sequence[TrialRecord], objective_type: str) -> TrialRecord | None:
    """The job with the best final objective among those whose objective succeeded."""
    best: TrialRecord | None = None
    for record in records:
        if record.objective_status != "Succeeded" or record.final_value is None:
            continue
        if best is None or is_better(record.final_value, best.final_value, objective_type):
            best = record
    return best
