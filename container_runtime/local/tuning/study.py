"""A tuning job's Optuna study: opening it (any process, by name), creating or joining it, and
recording the job's configuration and status on it.

Creating a study is atomic in the storage: of several tuner processes started on the same name,
exactly one creates it and records the configuration; the others join, check that their
configuration matches, and share the budget.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from container_runtime.local.describe import iso_time
from container_runtime.local.errors import LocalModeError
from container_runtime.local.status import JobStatus
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.config import TuningConfig
from container_runtime.local.tuning.storage import open_storage
from container_runtime.local.tuning.strategies import make_pruner, make_sampler

#: The settings a joining tuner must share with the one that created the tuning job.
MUST_MATCH = ("Strategy", "ObjectiveMetricName", "ObjectiveType", "ParameterRanges", "MaxJobs")


def load_study(name: str, storage: str | None, tuning_dir: Path) -> Any:
    """The study of an existing tuning job, for reading it (`describe`, analytics, warm start)."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=open_storage(storage, tuning_dir))
    except KeyError:
        raise LocalModeError(f"no tuning job {name} in {storage or tuning_dir}") from None


def create_or_join(name: str, config: TuningConfig, tuning_dir: Path) -> tuple[Any, bool]:
    """(the study, whether another process had created it already)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    options = {
        "study_name": name, "storage": open_storage(config.storage, tuning_dir),
        "sampler": make_sampler(config.strategy, config.ranges, config.seed, config.bayesian_method),
        "pruner": make_pruner(config.strategy, config.hyperband_min_resource, config.hyperband_max_resource),
    }
    try:
        return optuna.create_study(direction=config.objective.direction, **options), False
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(**options), True


def mark_started(study: Any, recorded: Mapping[str, Any]) -> None:
    """The creating process's last step: a joining process waits for the configuration."""
    study.set_user_attr(r.STATUS, JobStatus.IN_PROGRESS)
    study.set_user_attr(r.CONFIG, dict(recorded))


def check_joined(study: Any, name: str, recorded: Mapping[str, Any]) -> None:
    """A joining process's configuration matches the creator's, and the tuning job still runs."""
    existing = _wait_for_config(study, name)
    for key in MUST_MATCH:
        if existing.get(key) != recorded[key]:
            raise LocalModeError(f"tuning job {name} already exists with another {key}: "
                                 f"{existing.get(key)!r}, not {recorded[key]!r}")
    if existing and study.user_attrs.get(r.STATUS) != JobStatus.IN_PROGRESS:
        raise LocalModeError(f"tuning job {name} has ended ({study.user_attrs.get(r.STATUS)}): "
                             "give a new name, or warm start from it")


def _wait_for_config(study: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """The creating process writes the configuration just after creating the study."""
    deadline = time.monotonic() + timeout
    while True:
        config = study.user_attrs.get(r.CONFIG)
        if config is not None:
            return dict(config)
        if time.monotonic() > deadline:
            raise LocalModeError(f"tuning job {name} exists but was never configured (its creator died?)")
        time.sleep(0.1)


def still_running_elsewhere(study: Any) -> int:
    """How many of the tuning job's jobs are in progress (in other processes, once this one's share is done)."""
    return sum(record.job_status == JobStatus.IN_PROGRESS for record in r.trial_records(study))


def record_end(study: Any, status: str, completion: str | None, failure: str | None) -> None:
    """Set the tuning job's final status (once: a status another process set first stays)."""
    if study.user_attrs.get(r.STATUS) != JobStatus.IN_PROGRESS and status not in (JobStatus.STOPPED, JobStatus.FAILED):
        return
    study.set_user_attr(r.STATUS, status)
    study.set_user_attr(r.END_TIME, iso_time(time.time()))
    if completion:
        study.set_user_attr(r.COMPLETION_REASON, completion)
    if failure:
        study.set_user_attr(r.FAILURE_REASON, failure)
