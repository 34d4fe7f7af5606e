"""`HyperparameterTuner` and its configs, as `sagemaker.tuner` has them, on local mode's tuner
(`container_runtime.local.tuning`): the trials are local training jobs of the estimator.

`fit` runs the tuning job to its end (`wait=False` runs it in a background thread that `wait()`
joins); `best_training_job()`, `deploy()`, `analytics()` and SDK v1's `delete_endpoint()` follow.
"""

from __future__ import annotations

import copy
import enum
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.tuning.tuner import HyperparameterTuner as LocalTuner
from container_runtime.sdk.arguments import LOGGER, log_ignored, refuse
from container_runtime.sdk.deploying import check_deploy_arguments
from container_runtime.sdk.deserializers import BaseDeserializer
from container_runtime.sdk.estimator import Framework, Hyperparameters
from container_runtime.sdk.inputs import channels_of
from container_runtime.sdk.parameter import CategoricalParameter, ContinuousParameter, IntegerParameter
from container_runtime.sdk.predictor import Predictor
from container_runtime.sdk.serializers import BaseSerializer

__all__ = [
    "CategoricalParameter", "ContinuousParameter", "HyperbandStrategyConfig", "HyperparameterTuner",
    "IntegerParameter", "StrategyConfig", "TuningJobCompletionCriteriaConfig", "WarmStartConfig", "WarmStartTypes",
]


class WarmStartTypes(enum.Enum):
    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:
    """Start from the finished jobs of up to 5 parent tuning jobs."""

    def __init__(self, warm_start_type: WarmStartTypes | str, parents: Iterable[str]) -> None:
        self.type = WarmStartTypes(warm_start_type) if isinstance(warm_start_type, str) else warm_start_type
        self.parents = set(parents)


class HyperbandStrategyConfig:
    def __init__(self, max_resource: int | None = None, min_resource: int | None = None) -> None:
        self.max_resource = max_resource
        self.min_resource = min_resource


class StrategyConfig:
    def __init__(self, hyperband_strategy_config: HyperbandStrategyConfig) -> None:
        self.hyperband_strategy_config = hyperband_strategy_config


class TuningJobCompletionCriteriaConfig:
    def __init__(self, max_number_training_jobs_not_improving: int | None = None,
                 complete_on_convergence: bool | None = None, target_objective_value: float | None = None) -> None:
        self.max_number_training_jobs_not_improving = max_number_training_jobs_not_improving
        self.complete_on_convergence = complete_on_convergence
        self.target_objective_value = target_objective_value


class TuningJob:
    """`tuner.latest_tuning_job`: the tuning job's name and its description."""

    def __init__(self, tuner: HyperparameterTuner, name: str) -> None:
        self._tuner = tuner
        self.name = name

    @property
    def job_name(self) -> str:
        return self.name

    def describe(self) -> dict[str, Any]:
        return self._tuner.sagemaker_session.describe_tuning_job(self.name)

    def wait(self) -> None:
        self._tuner.wait()


class HyperparameterTuner(LocalTuner):
    """The SDK's HyperparameterTuner; the estimator is one of this package's estimators."""

    def __init__(self, estimator: Framework, objective_metric_name: str,
                 hyperparameter_ranges: Mapping[str, Any],
                 metric_definitions: Sequence[Mapping[str, str]] | None = None,
                 strategy: str = "Bayesian", objective_type: str = "Maximize", max_jobs: int | None = None,
                 max_parallel_jobs: int = 1, max_runtime_in_seconds: int | None = None, tags: Any = None,
                 base_tuning_job_name: str | None = None, warm_start_config: WarmStartConfig | None = None,
                 strategy_config: StrategyConfig | None = None,
                 completion_criteria_config: TuningJobCompletionCriteriaConfig | None = None,
                 early_stopping_type: str = "Off", estimator_name: str | None = None,
                 random_seed: int | None = None, autotune: bool = False,
                 hyperparameters_to_keep_static: list[str] | None = None) -> None:
        owner = "HyperparameterTuner"
        if not isinstance(estimator, Framework):
            raise LocalModeError(f"{owner}: estimator: expected an estimator of container_runtime.sdk, "
                                 f"not {type(estimator).__name__}")
        if estimator_name is not None:
            raise refuse(owner, "estimator_name", estimator_name, "one estimator per tuner")
        if autotune:
            raise refuse(owner, "autotune", autotune, "give hyperparameter_ranges")
        if hyperparameters_to_keep_static:
            raise refuse(owner, "hyperparameters_to_keep_static", hyperparameters_to_keep_static,
                         "only with autotune")
        criteria = completion_criteria_config or TuningJobCompletionCriteriaConfig()
        if criteria.complete_on_convergence:
            raise refuse(owner, "complete_on_convergence", True, "use max_number_training_jobs_not_improving")
        hyperband = strategy_config.hyperband_strategy_config if strategy_config is not None else None
        log_ignored(owner, {"tags": tags})
        estimator = without_tuned(estimator, hyperparameter_ranges)
        super().__init__(
            estimator, objective_metric_name, hyperparameter_ranges, metric_definitions, strategy=strategy,
            objective_type=objective_type, max_jobs=max_jobs, max_parallel_jobs=max_parallel_jobs,
            max_runtime_in_seconds=max_runtime_in_seconds, early_stopping_type=early_stopping_type,
            random_seed=random_seed, base_tuning_job_name=base_tuning_job_name,
            target_objective_value=criteria.target_objective_value,
            max_jobs_not_improving=criteria.max_number_training_jobs_not_improving,
            warm_start_parents=sorted(warm_start_config.parents) if warm_start_config else (),
            warm_start_type=(warm_start_config.type.value if warm_start_config
                             else WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM.value),
            tuning_dir=estimator.sagemaker_session.tuning_dir,
            hyperband_min_resource=(hyperband.min_resource or 1) if hyperband else 1,
            hyperband_max_resource=hyperband.max_resource if hyperband else None,
            console=sys.stdout,
        )
        self.sagemaker_session = estimator.sagemaker_session
        self.latest_tuning_job: TuningJob | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._deployed: Predictor | None = None

    def fit(self, inputs: Any = None, job_name: str | None = None,  # type: ignore[override] # None, as the SDK's
            include_cls_metadata: bool = False, estimator_kwargs: Any = None, wait: bool = True,
            **kwargs: Any) -> None:
        """Run the tuning job (`latest_tuning_job`); with `wait=False` in a background thread that `wait()`
        joins. Returns None, as the SDK's `fit` does."""
        if kwargs:
            raise TypeError(f"fit() got an unexpected keyword argument {sorted(kwargs)[0]!r}")
        if estimator_kwargs:
            raise refuse("HyperparameterTuner.fit", "estimator_kwargs", estimator_kwargs, "one estimator per tuner")
        channels = channels_of(inputs, self.estimator.instance_count)
        if wait:
            result = super().fit(channels, job_name=job_name)
            self.latest_tuning_job = TuningJob(self, result.name)
            return
        name = job_name or self._fresh_name()
        self.latest_tuning_job = TuningJob(self, name)
        self._thread = threading.Thread(target=self._run, args=(channels, name), name=f"tuning-{name}", daemon=True)
        self._thread.start()

    def _fresh_name(self) -> str:
        from container_runtime.local.tuning.tuner import _tuning_name

        return _tuning_name(self.config.base_name)

    def _run(self, channels: Any, name: str) -> None:
        try:
            super().fit(channels, job_name=name)
        except BaseException as error:  # handed to wait()
            self._failure = error

    def wait(self) -> None:
        """Return when the tuning job has ended (at once when `fit` waited); raises what it raised."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def deploy(self, initial_instance_count: int | None = None, instance_type: str | None = None,
               serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
               accelerator_type: str | None = None, endpoint_name: str | None = None, wait: bool = True,
               model_name: str | None = None, kms_key: str | None = None, data_capture_config: Any = None,
               **kwargs: Any) -> Predictor:
        """Serve the best training job's model; returns the estimator's predictor for it."""
        if kwargs:
            raise TypeError(f"deploy() got an unexpected keyword argument {sorted(kwargs)[0]!r}")
        self.wait()
        check_deploy_arguments(initial_instance_count, instance_type, {
            "accelerator_type": accelerator_type, "model_name": model_name, "kms_key": kms_key,
            "data_capture_config": data_capture_config}, {})
        from container_runtime.local.endpoints import free_port

        endpoint = super().deploy(port=free_port(), name=endpoint_name)
        estimator: Framework = self.estimator
        predictor = estimator.predictor_for(endpoint.endpoint_name, serializer, deserializer)
        self._deployed = predictor
        return predictor

    def delete_endpoint(self) -> None:
        """SDK v1's `tuner.delete_endpoint()`: stop the endpoint the last `deploy` started."""
        if self._deployed is None:
            raise LocalModeError("delete_endpoint: this tuner has not deployed an endpoint")
        self._deployed.delete_endpoint()
        self._deployed = None

    def best_training_job(self) -> str:
        self.wait()
        return super().best_training_job()

    def analytics(self) -> Any:
        """The tuning job's `HyperparameterTuningJobAnalytics`, as the SDK returns it."""
        from container_runtime.sdk.analytics import HyperparameterTuningJobAnalytics

        if self.latest_tuning_job is None:
            raise LocalModeError("analytics: no tuning job yet: call fit() first")
        return HyperparameterTuningJobAnalytics(self.latest_tuning_job.name, self.sagemaker_session)


def without_tuned(estimator: Framework, ranges: Mapping[str, Any]) -> Framework:
    """The estimator the trials start from: as the SDK does, a tuned name's static value is dropped
    (the user's estimator is left as it was)."""
    replaced = sorted(set(estimator.hyperparameters) & set(ranges))
    if not replaced:
        return estimator
    LOGGER.info("HyperparameterTuner: tuned values replace the estimator's static %s", ", ".join(replaced))
    trial = copy.copy(estimator)
    trial.hyperparameters = Hyperparameters(
        {name: value for name, value in estimator.hyperparameters.items() if name not in ranges})
    return trial
