"""Parameter ranges, as `sagemaker.parameter` has them: local mode's ranges (which the tuner
checks), with `CategoricalParameter` taking a list or a single value as the SDK's does."""

from __future__ import annotations

from typing import Any

from container_runtime.local.tuning import ranges
from container_runtime.local.tuning.ranges import ContinuousParameter, IntegerParameter, ParameterRange

__all__ = ["CategoricalParameter", "ContinuousParameter", "IntegerParameter", "ParameterRange"]


class CategoricalParameter(ranges.CategoricalParameter):
    """The values to choose from: a list (or tuple), or one value."""

    __slots__ = ()

    def __new__(cls, values: Any) -> CategoricalParameter:
        listed = tuple(values) if isinstance(values, (list, tuple)) else (values,)
        return super().__new__(cls, listed)
