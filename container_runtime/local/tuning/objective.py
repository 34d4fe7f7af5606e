"""The tuning objective: which metric, which direction, and how a job's series becomes one number.

SageMaker takes the last value a job emitted; `best` (Katib's default) and the mean of the last
k values (Ray's `last-5-avg`) are there on request.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Literal, NamedTuple

from container_runtime.local.errors import LocalModeError

OBJECTIVE_TYPES = ("Maximize", "Minimize")


class Objective(NamedTuple):
    metric_name: str
    objective_type: str = "Maximize"
    #: "last", "best" or "mean-last-K".
    reduction: str = "last"

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if self.objective_type == "Maximize" else "minimize"

    def reduce(self, values: Sequence[float]) -> float | None:
        finite = [value for value in values if math.isfinite(value)]
        if not finite:
            return None
        if self.reduction == "last":
            return finite[-1]
        if self.reduction == "best":
            return max(finite) if self.objective_type == "Maximize" else min(finite)
        count = int(self.reduction.removeprefix("mean-last-"))
        return statistics.fmean(finite[-count:])

    def worse(self, value: float, than: float) -> bool:
        return value < than if self.objective_type == "Maximize" else value > than

    def improves_by(self, value: float, best: float | None, fraction: float) -> bool:
        """True when `value` beats `best` by at least `fraction` of |best| (SageMaker's 1% rule)."""
        if best is None:
            return True
        margin = abs(best) * fraction
        return value >= best + margin if self.objective_type == "Maximize" else value <= best - margin


def objective(metric_name: str, objective_type: str = "Maximize", reduction: str = "last",
              metric_names: Sequence[str] = ()) -> Objective:
    if objective_type not in OBJECTIVE_TYPES:
        raise LocalModeError(f"objective type {objective_type!r}: choose Maximize or Minimize")
    if metric_names and metric_name not in metric_names:
        raise LocalModeError(
            f"objective metric {metric_name!r} is not among the metric definitions ({', '.join(metric_names)})"
        )
    if reduction not in ("last", "best"):
        count = reduction.removeprefix("mean-last-")
        if not reduction.startswith("mean-last-") or not count.isdigit() or int(count) < 1:
            raise LocalModeError(f"objective reduction {reduction!r}: choose last, best or mean-last-K")
    return Objective(metric_name, objective_type, reduction)
