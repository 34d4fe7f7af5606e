"""The tuner's settings: one validating function builds a frozen TuningConfig, and the tuner's
constructor raises exactly what it raises."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local import Estimator
from container_runtime.local.errors import LocalModeError
from container_runtime.local.tuning.config import TuningConfig, tuning_config
from container_runtime.local.tuning.ranges import CategoricalParameter, ContinuousParameter
from container_runtime.local.tuning.tuner import HyperparameterTuner

LOSS = [{"Name": "loss", "Regex": r"loss = ([0-9.]+)"}]
LR = {"lr": ContinuousParameter(0.001, 0.1)}


def estimator(tmp_path: Path, **options: Any) -> Estimator:
    return Estimator("train.py", jobs_dir=tmp_path / "jobs", endpoints_dir=tmp_path / "endpoints", console=None,
                     **options)


@pytest.mark.parametrize(
    ("arguments", "options", "message"),
    [
        ((LR, LOSS), {}, None),
        (({}, LOSS), {}, "no hyperparameter ranges"),
        ((LR, None), {}, "objective 'loss': no metric definitions to read it with"),
        ((LR, [{"Name": "acc", "Regex": r"acc = (\S+)"}]), {}, "objective metric 'loss' is not among"),
        ((LR, LOSS), {"objective_type": "Max"}, "objective type 'Max': choose Maximize or Minimize"),
        ((LR, LOSS), {"max_parallel_jobs": 0}, "max_parallel_jobs 0: must be 1 to 100"),
        ((LR, LOSS), {"max_parallel_jobs": 101}, "max_parallel_jobs 101: must be 1 to 100"),
        ((LR, LOSS), {"strategy": "Annealing"}, "strategy 'Annealing': choose one of"),
        ((LR, LOSS), {"max_jobs": 0}, "max_jobs 0: must be at least 1"),
        ((LR, LOSS), {"max_jobs_not_improving": 2}, "max_jobs_not_improving 2: must be at least 3"),
        ((LR, LOSS), {"warm_start_type": "Copy"}, "warm start type 'Copy': IdenticalDataAndAlgorithm or"),
        ((LR, LOSS), {"warm_start_parents": list("abcdef")}, "6 warm start parents: at most 5"),
        ((LR, LOSS), {"strategy": "Hyperband"}, "the Hyperband strategy needs a maximum resource"),
    ],
)
def test_each_rule_is_checked_once_with_one_message(tmp_path: Path, arguments: tuple[Any, Any],
                                                    options: dict[str, Any], message: str | None) -> None:
    if message is None:
        config = tuning_config(estimator(tmp_path), "loss", *arguments, **options)
        assert isinstance(config, TuningConfig)
        HyperparameterTuner(estimator(tmp_path), "loss", *arguments, console=None, **options)
        return
    with pytest.raises(LocalModeError, match=message):
        tuning_config(estimator(tmp_path), "loss", *arguments, **options)
    with pytest.raises(LocalModeError, match=message):
        HyperparameterTuner(estimator(tmp_path), "loss", *arguments, console=None, **options)


def test_the_estimator_rules(tmp_path: Path) -> None:
    with pytest.raises(LocalModeError, match="hyperparameter 'lr' is both static and tuned"):
        HyperparameterTuner(estimator(tmp_path, hyperparameters={"lr": 0.1}), "loss", LR, LOSS, console=None)
    # Trials are training jobs on the estimator's backend (containers, a Slurm cluster...), like its fit().
    on_slurm = estimator(tmp_path)
    on_slurm.backend, on_slurm.backend_options = "slurm", {"partition": "gpu"}
    spec = on_slurm.training_spec()
    assert (spec.backend, spec.backend_options) == ("slurm", {"partition": "gpu"})
    HyperparameterTuner(on_slurm, "loss", LR, LOSS, console=None)


def test_the_config_is_frozen_and_resolves_the_defaults(tmp_path: Path) -> None:
    config = tuning_config(estimator(tmp_path, hyperparameters={"epochs": "12"}, metric_definitions=LOSS), "loss",
                           {"opt": CategoricalParameter.of(["a", "b"])}, strategy="Grid")
    assert config.definitions[0].name == "loss"  # the estimator's, when none are given
    assert config.max_jobs == 2  # Grid: every combination
    assert config.base_name == "train" and config.tuning_root == tmp_path / "tuning"
    assert config.hyperband_max_resource is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_jobs = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.ranges["lr"] = ContinuousParameter(0, 1)  # type: ignore[index]
    hyperband = tuning_config(estimator(tmp_path, hyperparameters={"epochs": "12"}), "loss", LR, LOSS,
                              strategy="Hyperband")
    assert hyperband.hyperband_max_resource == 12
