"""SageMaker's `Auto` early stopping: after each objective value a running job emits, compare it
with the median of the other jobs' running averages at the same step; stop the job if it is worse.

Guards the documented rule leaves open: nothing stops before `warmup_steps` values, and only
when at least `min_jobs` other jobs reached that step (Optuna, Ray and Katib all wait for a few).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from container_runtime.local.tuning.objective import Objective

WARMUP_STEPS = 1
MIN_JOBS = 3


def running_average(values: Sequence[float], step: int) -> float:
    """Mean of the first `step` values (steps count from 1)."""
    return statistics.fmean(values[:step])


def should_stop(
    objective: Objective,
    current: Sequence[float],
    others: Iterable[Sequence[float]],
    *,
    warmup_steps: int = WARMUP_STEPS,
    min_jobs: int = MIN_JOBS,
) -> str | None:
    """The reason to stop the job whose values so far are `current`, or None to let it run."""
    step = len(current)
    if step <= warmup_steps:
        return None
    averages = [running_average(values, step) for values in others if len(values) >= step]
    if len(averages) < min_jobs:
        return None
    median = statistics.median(averages)
    value = current[-1]
    if objective.worse(value, median):
        return (f"early stopping: {objective.metric_name} {value:g} at step {step} is worse than the median "
                f"{median:g} of {len(averages)} other jobs' running averages")
    return None
