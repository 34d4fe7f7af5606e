"""One trial of a tuning job: what runs it, what the study records when it starts, and what the
study is told when it ends. No threads and no storage here: the loop does those.

A trial runner is the seam between the tuner and the training job: the default runs a local
training job; a benchmark or a test may pass another that reports an objective without spawning
anything. A runner feeds each log line to `control.on_line(host, line, unix time)`, stops (as
with SIGTERM) once `control.stop_requested` is set, and returns the job's result.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from container_runtime.local.describe import iso_time
from container_runtime.local.status import JobStatus
from container_runtime.local.training import JobControl, TrainingJobResult, TrainingJobSpec, run_training_job
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.objective import Objective
from container_runtime.local.tuning.ranges import ParameterRange, job_value

TrialRunner = Callable[[TrainingJobSpec, JobControl], TrainingJobResult]


def run_local_job(spec: TrainingJobSpec, control: JobControl) -> TrainingJobResult:
    """The default trial runner: a local training job (its own job dir, `train` per host)."""
    return run_training_job(spec, console=None, control=control)


class Running(NamedTuple):
    """A trial whose job runs in a worker thread of this process."""

    trial: Any
    job_name: str
    attempt: int
    control: JobControl
    #: The objective values the job emitted so far, in order.
    values: list[float]
    started: float


class Finished(NamedTuple):
    """A worker thread's report: the job's result, or the error that kept it from having one."""

    running: Running
    result: TrainingJobResult | None
    error: str | None


class Outcome(NamedTuple):
    """What the study is told about a job that ended."""

    attrs: dict[str, Any]
    #: "COMPLETE" (with `value`), "PRUNED" (stopped by us, with an objective) or "FAIL".
    state: str
    value: float | None
    job_status: str
    note: str | None


def job_name(study_name: str, position: int, attempt: int = 1, retry_of: str | None = None) -> str:
    """`<tuning job>-<NNN>-<random tag>`, NNN counting the tuning job's first attempts from 1; a retry
    is named after the job it retries, plus `-retryK`."""
    if retry_of is not None:
        return re.sub(r"-retry\d+$", "", retry_of) + f"-retry{attempt - 1}"
    return f"{study_name}-{position + 1:03d}-{secrets.token_hex(2)}"


def trial_spec(template: TrainingJobSpec, tuning_dir: Path, name: str, ranges: Mapping[str, ParameterRange],
               sampled: Mapping[str, Any]) -> TrainingJobSpec:
    """The template job with the sampled values, as the job receives them, among its hyperparameters."""
    tuned = {parameter: job_value(ranges[parameter], sampled[parameter]) for parameter in ranges}
    return template._replace(job_name=name, jobs_dir=tuning_dir / "jobs",
                             hyperparameters={**template.hyperparameters, **tuned})


def started_attrs(job_name: str, tuned: Mapping[str, Any], job_dir: Path) -> dict[str, Any]:
    """The trial's attributes as its job starts. Defaults (`InProgress`, `Pending`) are not written:
    `records.trial_record` reads them back the same, and each attribute is a storage write. A retry's
    attempt number was set when it was enqueued."""
    return {
        r.JOB_NAME: job_name, r.TUNED: dict(tuned), r.START_TIME: iso_time(time.time()), r.JOB_DIR: str(job_dir),
        r.LOG_PATH: str(job_dir / "logs" / "algo-1.log"),
    }


def outcome(finished: Finished, objective: Objective, now: float, monotonic_now: float) -> Outcome:
    """SageMaker's job and objective statuses for a job that ended, and the trial state that says the same."""
    running, result, error = finished
    final = objective.reduce(running.values)
    job_status = result.status if result is not None else JobStatus.FAILED
    stopped_by_us = job_status == JobStatus.STOPPED and bool(running.control.stop_reason)
    succeeded = final is not None and (job_status == JobStatus.COMPLETED or stopped_by_us)
    failure = error or (result.description.get("FailureReason") if result is not None else None)
    if job_status == JobStatus.COMPLETED and final is None:
        failure = f"the job never emitted its objective {objective.metric_name!r}"
    attrs: dict[str, Any] = {
        r.JOB_STATUS: job_status,
        r.OBJECTIVE_STATUS: "Succeeded" if succeeded else "Failed",
        r.FINAL_VALUE: final if succeeded else None,
        r.END_TIME_TRIAL: iso_time(now),
        r.ELAPSED: round(monotonic_now - running.started, 3),
        r.JOB_FAILURE: failure,
        r.STOP_REASON: running.control.stop_reason or None,
        r.OBJECTIVE_SERIES: [[now, value] for value in running.values],
    }
    attrs = {key: value for key, value in attrs.items() if value is not None}  # absent reads back as None
    state = "FAIL" if not succeeded else "COMPLETE" if job_status == JobStatus.COMPLETED else "PRUNED"
    return Outcome(attrs, state, final if state == "COMPLETE" else None, job_status,
                   failure or running.control.stop_reason or None)
