"""The completion criteria on hand-made records: no study, no jobs, no clock."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from container_runtime.local.tuning.config import TuningConfig
from container_runtime.local.tuning.criteria import Ending, ended_by, not_improving_streak
from container_runtime.local.tuning.objective import Objective
from container_runtime.local.tuning.records import TrialRecord

LOSS = Objective("loss", "Minimize")


def config(**settings: Any) -> TuningConfig:
    return TuningConfig(ranges={}, definitions=(), objective=LOSS, **{"max_jobs": 10, **settings})


def job(number: int, value: float | None = None, status: str = "Completed", attempt: int = 1) -> TrialRecord:
    ended = status != "InProgress"
    succeeded = value is not None and status in ("Completed", "Stopped")
    return TrialRecord(
        number, f"job-{number}", status, "Succeeded" if succeeded else "Failed" if ended else "Pending",
        value if succeeded else None, "2024-01-01T00:00:00", f"2024-01-01T00:{number:02d}:00" if ended else None,
        None, {}, None, None, None, None, [], None, attempt,
    )


def test_nothing_ends_a_job_with_budget_left() -> None:
    assert ended_by([], config(), 0.0) is None
    assert ended_by([job(0, 1.0), job(1, status="InProgress")], config(), 5.0) is None


def test_the_budget_ends_it_once_every_first_attempt_and_retry_ended() -> None:
    three = config(max_jobs=3, max_retries=1)
    done = [job(0, 1.0), job(1, 2.0), job(2, 3.0)]
    assert ended_by(done, three, 1.0) == Ending("Completed", "all 3 training jobs ran", False)
    assert ended_by([*done[:2], job(2, status="InProgress")], three, 1.0) is None
    # The last job failed and its retry has not started yet: not over.
    failed_last = [*done[:2], job(2, status="Failed")]
    assert ended_by(failed_last, three, 1.0) is None
    assert ended_by([*failed_last, job(3, status="InProgress", attempt=2)], three, 1.0) is None
    assert ended_by([*failed_last, job(3, 0.5, attempt=2)], three, 1.0) == Ending(
        "Completed", "all 3 training jobs ran", False)
    # Without retries a failed job is simply one of the budget.
    assert ended_by(failed_last, config(max_jobs=3), 1.0) == Ending("Completed", "all 3 training jobs ran", False)


def test_failed_jobs_that_are_not_retried_fail_the_tuning_job() -> None:
    records = [job(0, status="Failed"), job(1, status="Failed", attempt=2), job(2, status="Failed")]
    assert ended_by(records, config(max_failed_jobs=2, max_retries=1), 0.0) is None  # one is retried
    ending = ended_by(records, config(max_failed_jobs=2), 0.0)
    assert ending == Ending("Failed", "3 training jobs failed (MaxFailedTrainingJobs 2)", True)


def test_reaching_the_target_completes_it_and_stops_the_others() -> None:
    records = [job(0, 5.0), job(1, 0.4), job(2, status="InProgress")]
    assert ended_by(records, config(target=0.3), 0.0) is None
    assert ended_by(records, config(target=0.4), 0.0) == Ending(
        "Completed", "job-1 reached the target objective value 0.4", True)
    maximize = dataclasses.replace(config(target=0.4), objective=Objective("acc", "Maximize"))
    assert ended_by(records, maximize, 0.0) is not None  # 5.0 >= 0.4


def test_jobs_not_improving_by_one_percent_complete_it_letting_running_jobs_finish() -> None:
    records = [job(0, 1.0), job(1, 0.995), job(2, 0.999), job(3, 0.992), job(4, status="InProgress")]
    assert not_improving_streak(records, LOSS) == 3
    assert ended_by(records, config(max_jobs_not_improving=4), 0.0) is None
    assert ended_by(records, config(max_jobs_not_improving=3), 0.0) == Ending(
        "Completed", "3 training jobs did not improve the objective by 1% or more", False)


def test_the_runtime_limit_completes_it() -> None:
    records = [job(0, 1.0), job(1, status="InProgress")]
    assert ended_by(records, config(max_runtime=60), 59.9) is None
    assert ended_by(records, config(max_runtime=60), 60.0) == Ending(
        "Completed", "MaxRuntimeInSeconds (60 s) reached", True)


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"max_failed_jobs": 1, "target": 9.0}, "failed"),  # a failure limit beats the target
        ({"target": 9.0, "max_runtime": 1}, "target"),  # the target beats the clock
        ({"max_jobs_not_improving": 3, "max_runtime": 1}, "did not improve"),
        ({"max_runtime": 1, "max_jobs": 5}, "MaxRuntimeInSeconds"),  # the clock beats the budget
    ],
)
def test_the_first_criterion_that_holds_gives_the_reason(settings: dict[str, Any], reason: str) -> None:
    records = [job(0, 1.0), job(1, 1.0), job(2, 1.0), job(3, 1.0), job(4, status="Failed")]
    ending = ended_by(records, config(**settings), 10.0)
    assert ending is not None and reason in ending.reason
