"""SageMaker's completion criteria: from the tuning job's records alone, whether it is over and why.

`ended_by` is a pure rule (no storage, no clock, no tuner state); the loop calls it after every
job that ends and a few times a second otherwise. Rules, first match wins:

- `MaxFailedTrainingJobs` failed jobs that are not retried fail the tuning job;
- the best job reaching `TargetObjectiveMetricValue` completes it;
- `MaxNumberOfTrainingJobsNotImproving` jobs in a row that do not beat the best by 1% complete it,
  letting the running jobs finish (SageMaker's rule);
- `MaxRuntimeInSeconds` completes it;
- every job of the budget (`MaxJobs` first attempts, and the retries of failed ones) ended.

All but the 1% rule stop the jobs still running.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from container_runtime.local.status import JobStatus
from container_runtime.local.tuning.config import TuningConfig
from container_runtime.local.tuning.objective import Objective
from container_runtime.local.tuning.records import TrialRecord, best_record

IMPROVEMENT = 0.01  # SageMaker's "improve by 1% or greater"


class Ending(NamedTuple):
    #: "Completed" or "Failed".
    status: str
    reason: str
    stop_running: bool


class _Tally(NamedTuple):
    first_attempts: int = 0
    retries: int = 0
    in_progress: int = 0
    failed: int = 0  # failed and not retried
    retried: int = 0  # failed, and a retry was enqueued


def _tally(records: Sequence[TrialRecord], max_retries: int) -> _Tally:
    """The counts the rules need, in one pass (the loop judges every job that ends)."""
    first_attempts = retries = in_progress = failed = retried = 0
    for record in records:
        if record.attempt == 1:
            first_attempts += 1
        else:
            retries += 1
        if record.job_status == JobStatus.IN_PROGRESS:
            in_progress += 1
        elif record.job_status == JobStatus.FAILED:
            if record.attempt <= max_retries:
                retried += 1
            else:
                failed += 1
    return _Tally(first_attempts, retries, in_progress, failed, retried)


def ended_by(records: Sequence[TrialRecord], config: TuningConfig, elapsed_s: float) -> Ending | None:
    """Why the tuning job whose own jobs are `records`, `elapsed_s` seconds in, is over; None while it is not."""
    tally = _tally(records, config.max_retries)
    if config.max_failed_jobs is not None and tally.failed >= config.max_failed_jobs:
        reason = f"{tally.failed} training jobs failed (MaxFailedTrainingJobs {config.max_failed_jobs})"
        return Ending(JobStatus.FAILED, reason, True)
    target = config.target
    best = best_record(records, config.objective.objective_type) if target is not None else None
    if target is not None and best is not None and best.final_value is not None and not config.objective.worse(
        best.final_value, target
    ):
        return Ending(JobStatus.COMPLETED, f"{best.job_name} reached the target objective value {target:g}", True)
    if config.max_jobs_not_improving is not None:
        streak = not_improving_streak(records, config.objective)
        if streak >= config.max_jobs_not_improving:
            reason = f"{streak} training jobs did not improve the objective by 1% or more"
            return Ending(JobStatus.COMPLETED, reason, False)
    if config.max_runtime is not None and elapsed_s >= config.max_runtime:
        return Ending(JobStatus.COMPLETED, f"MaxRuntimeInSeconds ({config.max_runtime:g} s) reached", True)
    if tally.first_attempts < config.max_jobs or tally.retries < tally.retried:
        return None  # jobs of the budget, or retries of failed ones, still to start
    if tally.in_progress:
        return None
    return Ending(JobStatus.COMPLETED, all_jobs_ran(config), False)


def all_jobs_ran(config: TuningConfig) -> str:
    return f"all {config.max_jobs} training jobs ran"


def not_improving_streak(records: Sequence[TrialRecord], objective: Objective) -> int:
    """Jobs, in the order they ended, since the last one that beat the best by 1% or more."""
    ended = sorted((rec for rec in records if rec.final_value is not None and rec.end_time),
                   key=lambda rec: rec.end_time or "")
    best: float | None = None
    streak = 0
    for record in ended:
        assert record.final_value is not None
        if objective.improves_by(record.final_value, best, IMPROVEMENT):
            streak = 0
        else:
            streak += 1
        if best is None or not objective.worse(record.final_value, best):
            best = record.final_value
    return streak
