"""Parameter ranges as the SageMaker SDK names them, checked when the tuning job is submitted,
and turned into Optuna distributions and into the values a training job receives.

Scaling: `Auto` and `Linear` sample uniformly; `Logarithmic` samples the log (min > 0);
`ReverseLogarithmic` (continuous, 0 <= min < max < 1) samples log(1 - x), which spreads values
near 1 (momentum, decay). Integers reach the job as integers, never as `3.0`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from container_runtime.local.errors import LocalModeError

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
MAX_TUNED = 30
MAX_CATEGORIES = 30


class ContinuousParameter(NamedTuple):
    min_value: float
    max_value: float
    scaling_type: str = "Auto"


class IntegerParameter(NamedTuple):
    min_value: int
    max_value: int
    scaling_type: str = "Auto"


class CategoricalParameter(NamedTuple):
    values: tuple[Any, ...]

    @classmethod
    def of(cls, values: Sequence[Any]) -> CategoricalParameter:
        return cls(tuple(values))


ParameterRange = ContinuousParameter | IntegerParameter | CategoricalParameter


def check_ranges(ranges: Mapping[str, ParameterRange]) -> None:
    """Every rule SageMaker enforces at submit time, as one-line errors naming the parameter."""
    if not ranges:
        raise LocalModeError("no hyperparameter ranges to tune")
    if len(ranges) > MAX_TUNED:
        raise LocalModeError(f"{len(ranges)} tuned hyperparameters: at most {MAX_TUNED}")
    for name, parameter in ranges.items():
        where = f"range {name!r}"
        if isinstance(parameter, CategoricalParameter):
            if not parameter.values:
                raise LocalModeError(f"{where}: no values")
            if len(parameter.values) > MAX_CATEGORIES:
                raise LocalModeError(f"{where}: {len(parameter.values)} values, at most {MAX_CATEGORIES}")
            if len({str(value) for value in parameter.values}) != len(parameter.values):
                raise LocalModeError(f"{where}: repeated values")
            continue
        low, high, scaling = parameter
        if scaling not in SCALING_TYPES:
            raise LocalModeError(f"{where}: scaling {scaling!r}: choose one of {', '.join(SCALING_TYPES)}")
        if isinstance(parameter, IntegerParameter) and not all(
            isinstance(bound, int) and not isinstance(bound, bool) for bound in (low, high)
        ):
            raise LocalModeError(f"{where}: integer bounds must be whole numbers, got {low!r} and {high!r}")
        if not all(math.isfinite(float(bound)) for bound in (low, high)) or not low < high:
            raise LocalModeError(f"{where}: needs min < max, got {low!r} and {high!r}")
        if scaling == "Logarithmic" and low <= 0:
            raise LocalModeError(f"{where}: Logarithmic scaling needs min > 0, got {low!r}")
        if scaling == "ReverseLogarithmic":
            if isinstance(parameter, IntegerParameter):
                raise LocalModeError(f"{where}: ReverseLogarithmic scaling is for continuous ranges only")
            if not (low >= 0 and high < 1):
                raise LocalModeError(f"{where}: ReverseLogarithmic scaling needs 0 <= min < max < 1")


def distribution(parameter: ParameterRange) -> Any:
    """The Optuna distribution sampled for `parameter` (for ReverseLogarithmic: of 1 - x)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(parameter, CategoricalParameter):
        return CategoricalDistribution([_plain(value) for value in parameter.values])
    if isinstance(parameter, IntegerParameter):
        return IntDistribution(parameter.min_value, parameter.max_value, log=parameter.scaling_type == "Logarithmic")
    if parameter.scaling_type == "ReverseLogarithmic":
        return FloatDistribution(1.0 - parameter.max_value, 1.0 - parameter.min_value, log=True)
    return FloatDistribution(parameter.min_value, parameter.max_value, log=parameter.scaling_type == "Logarithmic")


def job_value(parameter: ParameterRange, sampled: Any) -> Any:
    """What the training job receives for a sampled value."""
    if isinstance(parameter, IntegerParameter):
        return int(sampled)
    if isinstance(parameter, ContinuousParameter):
        value = 1.0 - float(sampled) if parameter.scaling_type == "ReverseLogarithmic" else float(sampled)
        return min(max(value, parameter.min_value), parameter.max_value)
    return sampled


def sampled_value(parameter: ParameterRange, value: Any) -> Any:
    """The inverse of `job_value`, for trials loaded from a parent tuning job (warm start)."""
    if isinstance(parameter, ContinuousParameter) and parameter.scaling_type == "ReverseLogarithmic":
        return 1.0 - float(value)
    return value


def grid_size(ranges: Mapping[str, ParameterRange]) -> int:
    size = 1
    for name, parameter in ranges.items():
        if not isinstance(parameter, CategoricalParameter):
            raise LocalModeError(f"range {name!r}: the Grid strategy takes categorical ranges only")
        size *= len(parameter.values)
    return size


def describe_range(name: str, parameter: ParameterRange) -> dict[str, Any]:
    """SageMaker's `ParameterRanges` entry shape (bounds as strings; categorical values kept as
    JSON values, so a range read back is the same range)."""
    if isinstance(parameter, CategoricalParameter):
        return {"Name": name, "Type": "Categorical", "Values": [_plain(value) for value in parameter.values]}
    kind = "Integer" if isinstance(parameter, IntegerParameter) else "Continuous"
    return {"Name": name, "Type": kind, "MinValue": str(parameter.min_value), "MaxValue": str(parameter.max_value),
            "ScalingType": parameter.scaling_type}


def range_from_description(entry: Mapping[str, Any]) -> ParameterRange:
    kind = entry.get("Type")
    if kind == "Categorical":
        return CategoricalParameter(tuple(entry["Values"]))
    if kind == "Integer":
        return IntegerParameter(int(entry["MinValue"]), int(entry["MaxValue"]), entry.get("ScalingType", "Auto"))
    return ContinuousParameter(float(entry["MinValue"]), float(entry["MaxValue"]), entry.get("ScalingType", "Auto"))


def parse_range(text: str) -> tuple[str, ParameterRange]:
    """The command line's `NAME=continuous:MIN:MAX[:SCALING]`, `NAME=integer:MIN:MAX[:SCALING]`,
    `NAME=categorical:A,B,C`."""
    name, separator, spec = text.partition("=")
    kind, _, rest = spec.partition(":")
    if not separator or not name or not rest:
        raise LocalModeError(f"range {text!r}: expected NAME=continuous:MIN:MAX[:SCALING], "
                             "NAME=integer:MIN:MAX[:SCALING] or NAME=categorical:A,B,...")
    kind = kind.lower()
    if kind == "categorical":
        return name, CategoricalParameter(tuple(_categorical(value) for value in rest.split(",")))
    parts = rest.split(":")
    if kind not in ("continuous", "integer") or len(parts) not in (2, 3):
        raise LocalModeError(f"range {text!r}: expected continuous:MIN:MAX[:SCALING] or integer:MIN:MAX[:SCALING]")
    scaling = parts[2] if len(parts) == 3 else "Auto"
    try:
        if kind == "integer":
            return name, IntegerParameter(int(parts[0]), int(parts[1]), scaling)
        return name, ContinuousParameter(float(parts[0]), float(parts[1]), scaling)
    except ValueError:
        raise LocalModeError(f"range {text!r}: bounds must be numbers") from None


def _categorical(value: str) -> Any:
    """`3` stays the number 3, `adam` a string: categorical values go to the job JSON-encoded."""
    import json

    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, (int, float, str, bool)) else value


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
