"""A tuning job's settings: one frozen `TuningConfig`, built and validated by `tuning_config` alone.

Every SageMaker rule the settings must follow is checked here, before any study or job exists, and
each breach is a one-line `LocalModeError`. The estimator (what is tuned) and the console (where
progress goes) are not settings: the tuner keeps them beside the config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.metrics import MetricDefinition
from container_runtime.local.metrics import metric_definitions as parse_definitions
from container_runtime.local.training import TrainingJobSpec
from container_runtime.local.tuning.early_stopping import MIN_JOBS, WARMUP_STEPS
from container_runtime.local.tuning.objective import Objective, objective
from container_runtime.local.tuning.ranges import ParameterRange, check_ranges, describe_range
from container_runtime.local.tuning.strategies import check_strategy
from container_runtime.local.tuning.strategies import hyperband_max_resource as max_resource_for

WARM_START_TYPES = ("IdenticalDataAndAlgorithm", "TransferLearning")


@dataclass(frozen=True)
class TuningConfig:
    """What a tuning job searches, how, and when it ends; the tuner's constructor arguments, checked."""

    ranges: Mapping[str, ParameterRange]
    definitions: tuple[MetricDefinition, ...]
    objective: Objective
    strategy: str = "Bayesian"
    max_jobs: int = 1
    max_parallel_jobs: int = 1
    max_runtime: float | None = None
    early_stopping_type: str = "Off"
    seed: int | None = None
    base_name: str = "tuning"
    target: float | None = None
    max_jobs_not_improving: int | None = None
    max_failed_jobs: int | None = None
    max_retries: int = 0
    warm_start_parents: tuple[str, ...] = ()
    warm_start_type: str = "IdenticalDataAndAlgorithm"
    storage: str | None = None
    tuning_root: Path = Path("tuning")
    bayesian_method: str = "tpe"
    hyperband_min_resource: int = 1
    #: Set for the Hyperband strategy only (given, or read from the static `epochs`-like value).
    hyperband_max_resource: int | None = None
    early_stopping_min_jobs: int = MIN_JOBS
    early_stopping_warmup_steps: int = WARMUP_STEPS


def tuning_config(
    estimator: Any,
    objective_metric_name: str,
    hyperparameter_ranges: Mapping[str, ParameterRange],
    metric_definitions: Sequence[Mapping[str, str]] | Mapping[str, str] | None = None,
    *,
    strategy: str = "Bayesian",
    objective_type: str = "Maximize",
    objective_reduction: str = "last",
    max_jobs: int | None = None,
    max_parallel_jobs: int = 1,
    max_runtime_in_seconds: float | None = None,
    early_stopping_type: str = "Off",
    random_seed: int | None = None,
    base_tuning_job_name: str | None = None,
    target_objective_value: float | None = None,
    max_jobs_not_improving: int | None = None,
    max_failed_jobs: int | None = None,
    max_retries: int = 0,
    warm_start_parents: Sequence[str] = (),
    warm_start_type: str = "IdenticalDataAndAlgorithm",
    storage: str | None = None,
    tuning_dir: str | Path | None = None,
    bayesian_method: str = "tpe",
    hyperband_min_resource: int = 1,
    hyperband_max_resource: int | None = None,
    early_stopping_min_jobs: int = MIN_JOBS,
    early_stopping_warmup_steps: int = WARMUP_STEPS,
) -> TuningConfig:
    """The config for tuning `estimator`, arguments named as `HyperparameterTuner` takes them; the
    first rule an argument breaks raises."""
    ranges = dict(hyperparameter_ranges)
    check_ranges(ranges)
    static = estimator.hyperparameters
    clashes = sorted(set(static) & set(ranges))
    if clashes:
        # The SDK drops static values of tuned names; say so rather than guess.
        raise LocalModeError(f"hyperparameter {clashes[0]!r} is both static and tuned: remove it from one")
    definitions = (parse_definitions(metric_definitions) if metric_definitions is not None
                   else tuple(estimator.metric_definitions))
    if not definitions:
        raise LocalModeError(f"objective {objective_metric_name!r}: no metric definitions to read it with")
    tuned = objective(objective_metric_name, objective_type, objective_reduction, [d.name for d in definitions])
    if not 1 <= max_parallel_jobs <= 100:
        raise LocalModeError(f"max_parallel_jobs {max_parallel_jobs}: must be 1 to 100")
    budget = check_strategy(strategy, ranges, max_jobs, early_stopping_type)
    if max_jobs_not_improving is not None and max_jobs_not_improving < 3:
        raise LocalModeError(f"max_jobs_not_improving {max_jobs_not_improving}: must be at least 3")
    if warm_start_type not in WARM_START_TYPES:
        raise LocalModeError(f"warm start type {warm_start_type!r}: IdenticalDataAndAlgorithm or TransferLearning")
    if len(warm_start_parents) > 5:
        raise LocalModeError(f"{len(warm_start_parents)} warm start parents: at most 5")
    return TuningConfig(
        ranges=MappingProxyType(ranges),
        definitions=definitions,
        objective=tuned,
        strategy=strategy,
        max_jobs=budget,
        max_parallel_jobs=max_parallel_jobs,
        max_runtime=max_runtime_in_seconds,
        early_stopping_type=early_stopping_type,
        seed=random_seed,
        base_name=base_tuning_job_name or Path(estimator.entry_point).stem,
        target=target_objective_value,
        max_jobs_not_improving=max_jobs_not_improving,
        max_failed_jobs=max_failed_jobs,
        max_retries=max_retries,
        warm_start_parents=tuple(warm_start_parents),
        warm_start_type=warm_start_type,
        storage=storage,
        tuning_root=Path(tuning_dir) if tuning_dir is not None else Path(estimator.jobs_dir).parent / "tuning",
        bayesian_method=bayesian_method,
        hyperband_min_resource=hyperband_min_resource,
        hyperband_max_resource=(max_resource_for(static, hyperband_max_resource) if strategy == "Hyperband"
                                else None),
        early_stopping_min_jobs=early_stopping_min_jobs,
        early_stopping_warmup_steps=early_stopping_warmup_steps,
    )


def recorded_config(config: TuningConfig, name: str, template: TrainingJobSpec, framework: str,
                    created: str) -> dict[str, Any]:
    """The configuration as the study keeps it (SageMaker's names), for joining tuners and `describe`."""
    return {
        "TuningJobName": name,
        "Strategy": config.strategy,
        "ObjectiveMetricName": config.objective.metric_name,
        "ObjectiveType": config.objective.objective_type,
        "ObjectiveReduction": config.objective.reduction,
        "ParameterRanges": [describe_range(n, p) for n, p in config.ranges.items()],
        "MaxJobs": config.max_jobs,
        "MaxParallelJobs": config.max_parallel_jobs,
        "MaxRuntimeInSeconds": config.max_runtime,
        "EarlyStoppingType": config.early_stopping_type,
        "RandomSeed": config.seed,
        "CompletionCriteria": {
            "TargetObjectiveMetricValue": config.target,
            "MaxNumberOfTrainingJobsNotImproving": config.max_jobs_not_improving,
            "MaxFailedTrainingJobs": config.max_failed_jobs,
            "MaxRetries": config.max_retries,
        },
        "StaticHyperParameters": {k: json.dumps(v) for k, v in template.hyperparameters.items()},
        "MetricDefinitions": [{"Name": d.name, "Regex": d.regex} for d in config.definitions],
        "EntryPoint": template.entry_point,
        "SourceDir": str(template.source_dir),
        "Framework": framework,
        "WarmStartParents": list(config.warm_start_parents),
        "WarmStartType": config.warm_start_type if config.warm_start_parents else None,
        "CreationTime": created,
    }
