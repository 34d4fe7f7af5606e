"""SageMaker's strategies on Optuna's samplers and pruners.

- `Bayesian`: multivariate TPE with the constant liar, so parallel trials do not all propose the
  same point (pending trials count); `bayesian_method="gp"` uses Optuna's Gaussian process.
- `Random`: independent uniform draws (in each range's scale).
- `Grid`: every combination of the categorical ranges, each once.
- `Hyperband`: TPE proposals with Optuna's Hyperband pruner, each objective value a job emits
  being one unit of resource; a pruned job is stopped (SIGTERM through the runtime).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.tuning.ranges import CategoricalParameter, ParameterRange, grid_size

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
#: Static hyperparameters SageMaker reads Hyperband's maximum resource from.
EPOCH_NAMES = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")


def check_strategy(strategy: str, ranges: Mapping[str, ParameterRange], max_jobs: int | None,
                   early_stopping_type: str) -> int:
    """Validate the combination; returns max_jobs (Grid's default: every combination)."""
    if strategy not in STRATEGIES:
        raise LocalModeError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if early_stopping_type not in ("Off", "Auto"):
        raise LocalModeError(f"early stopping type {early_stopping_type!r}: choose Off or Auto")
    if strategy == "Hyperband" and early_stopping_type != "Off":
        raise LocalModeError("the Hyperband strategy stops jobs itself: early stopping type must be Off")
    if strategy == "Grid":
        combinations = grid_size(ranges)
        if max_jobs is not None and max_jobs != combinations:
            raise LocalModeError(f"the Grid strategy runs every combination: max_jobs must be {combinations} or unset")
        return combinations
    if max_jobs is None:
        return 1  # the SDK's default
    if max_jobs < 1:
        raise LocalModeError(f"max_jobs {max_jobs}: must be at least 1")
    return max_jobs


def hyperband_max_resource(static: Mapping[str, Any], given: int | None) -> int:
    if given is not None:
        return given
    for name in EPOCH_NAMES:
        value = static.get(name)
        if isinstance(value, int) and value >= 1:
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    raise LocalModeError(
        "the Hyperband strategy needs a maximum resource: pass it, or give a static hyperparameter "
        f"{' / '.join(EPOCH_NAMES)}"
    )


def make_sampler(strategy: str, ranges: Mapping[str, ParameterRange], seed: int | None,
                 bayesian_method: str = "tpe") -> Any:
    import optuna

    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "Grid":
        space = {name: list(parameter.values) for name, parameter in ranges.items()
                 if isinstance(parameter, CategoricalParameter)}
        return _grid_sampler(space, seed)
    if strategy == "Bayesian" and bayesian_method == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if bayesian_method not in ("tpe", "gp"):
        raise LocalModeError(f"bayesian method {bayesian_method!r}: choose tpe or gp")
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


def make_pruner(strategy: str, min_resource: int, max_resource: int | None) -> Any:
    import optuna

    if strategy == "Hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_resource or "auto")
    return optuna.pruners.NopPruner()


def _grid_sampler(space: Mapping[str, list[Any]], seed: int | None) -> Any:
    """Optuna's grid sampler, minus its habit of calling `study.stop()` (which only works inside
    `optimize`, and we drive the study with ask and tell: the budget ends the job instead)."""
    import optuna

    class GridWithoutStop(optuna.samplers.GridSampler):
        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            try:
                super().after_trial(study, trial, state, values)
            except RuntimeError:
                pass

    return GridWithoutStop(dict(space), seed=seed)
