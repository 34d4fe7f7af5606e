"""The Python API, named after what SageMaker SDK users know: an `Estimator` (or the `Chainer`
and `TensorFlow` presets) that `fit`s on local data and `deploy`s to a local endpoint, which a
`Predictor` queries.

    from container_runtime.local import Chainer
    estimator = Chainer("mnist.py", source_dir="examples/chainer", hyperparameters={"epochs": 2})
    estimator.fit({"train": "data/train", "test": "data/test"})
    with estimator.deploy() as predictor:
        predictor.predict(images)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from container_runtime.local.backends import check_backend
from container_runtime.local.channels import parse_channels
from container_runtime.local.errors import LocalModeError
from container_runtime.local.metrics import MetricDefinition, metric_definitions
from container_runtime.local.presets import CHAINER, GENERIC, TENSORFLOW, FrameworkPreset, preset_named
from container_runtime.local.settings import default_endpoints_dir, default_jobs_dir, s3_endpoint_url
from container_runtime.local.status import JobStatus
from container_runtime.local.training import TrainingJobResult, TrainingJobSpec, run_training_job


class TrainingJobFailed(LocalModeError):
    """`fit` ran the job and it failed or was stopped; `result` holds its record."""

    def __init__(self, result: TrainingJobResult) -> None:
        reason = result.description.get("FailureReason") or result.status
        super().__init__(f"training job {result.name} {result.status.lower()}: {reason}")
        self.result = result


class Estimator:
    preset: FrameworkPreset = GENERIC

    def __init__(
        self,
        entry_point: str,
        *,
        source_dir: str | Path | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        instance_count: int = 1,
        output_path: str | None = None,
        base_job_name: str | None = None,
        metric_definitions: Iterable[Mapping[str, str]] | Mapping[str, str] = (),
        environment: Mapping[str, str] | None = None,
        framework: str | FrameworkPreset | None = None,
        jobs_dir: str | Path | None = None,
        endpoints_dir: str | Path | None = None,
        console: TextIO | None = sys.stdout,
        backend: str = "local",
        image: str | None = None,
        backend_options: Mapping[str, object] | None = None,
    ) -> None:
        self.entry_point = entry_point
        self.source_dir = Path(source_dir) if source_dir is not None else None
        self.hyperparameters = dict(hyperparameters or {})
        self.instance_count = instance_count
        self.output_path = output_path
        self.base_job_name = base_job_name
        self.metric_definitions: tuple[MetricDefinition, ...] = _definitions(metric_definitions)
        self.environment = dict(environment or {})
        if framework is not None:
            self.preset = framework if isinstance(framework, FrameworkPreset) else preset_named(framework)
        self.jobs_dir = Path(jobs_dir) if jobs_dir is not None else default_jobs_dir()
        self.endpoints_dir = Path(endpoints_dir) if endpoints_dir is not None else default_endpoints_dir()
        self.console = console
        check_backend(backend, image)
        #: "docker" runs every job and endpoint in containers of `image` (e.g. container-runtime/chainer:cpu).
        self.backend = backend
        self.image = image
        #: The backend's own options: for "slurm", partition, time_limit and gpus_per_node.
        self.backend_options = dict(backend_options or {})
        self.latest_training_job: TrainingJobResult | None = None

    def framework_hyperparameters(self) -> dict[str, Any]:
        """What a preset adds (MPI or distribution settings); the user's own values win."""
        return {}

    def training_spec(
        self, inputs: str | Path | Mapping[str, str | Path] | None = None, *, job_name: str | None = None
    ) -> TrainingJobSpec:
        """The job `fit` runs (the tuner starts its trials from it too)."""
        if inputs is None:
            channels: Mapping[str, str | Path] = {}
        elif isinstance(inputs, (str, Path)):
            channels = {"training": inputs}  # the SDK's name for a single input
        else:
            channels = inputs
        return TrainingJobSpec(
            entry_point=self.entry_point,
            source_dir=self.source_dir,
            hyperparameters={**self.framework_hyperparameters(), **self.hyperparameters},
            channels=parse_channels(channels),
            instance_count=self.instance_count,
            jobs_dir=self.jobs_dir,
            framework=self.preset,
            output_path=self.output_path,
            job_name=job_name,
            base_job_name=self.base_job_name,
            metric_definitions=self.metric_definitions,
            environment=self.environment,
            s3_endpoint_url=s3_endpoint_url(),
            backend=self.backend,
            image=self.image,
            backend_options=self.backend_options,
        )

    def fit(
        self, inputs: str | Path | Mapping[str, str | Path] | None = None, *, job_name: str | None = None
    ) -> TrainingJobResult:
        """Run the training job to the end; raises `TrainingJobFailed` unless it completed."""
        spec = self.training_spec(inputs, job_name=job_name)
        result = run_training_job(spec, console=self.console)
        self.latest_training_job = result
        if result.status != JobStatus.COMPLETED:
            raise TrainingJobFailed(result)
        return result

    @property
    def model_data(self) -> str:
        if self.latest_training_job is None or self.latest_training_job.model_data is None:
            raise LocalModeError("no trained model yet: call fit() first")
        return self.latest_training_job.model_data

    def deploy(self, *, port: int | None = None, name: str | None = None, workers: int = 1,
               entry_point: str | None = None, source_dir: str | Path | None = None) -> Any:
        """Serve the latest model on a local port; returns a `Predictor` that stops it when closed."""
        from container_runtime.local.endpoints import deploy
        from container_runtime.local.predictor import Predictor

        record = deploy(
            self.model_data,
            endpoints_dir=self.endpoints_dir,
            framework=self.preset,
            entry_point=entry_point or Path(self.entry_point).name,
            source_dir=Path(source_dir) if source_dir is not None else self._code_dir(),
            port=port,
            name=name,
            workers=workers,
            environment=self.environment,
            s3_endpoint_url=s3_endpoint_url(),
            console=self.console,
            backend=self.backend,
            image=self.image,
        )
        return Predictor(record.url, content_type=self.preset.content_type, endpoints_dir=self.endpoints_dir,
                         name=record.name, owned=True)

    def transformer(
        self,
        instance_count: int = 1,
        instance_type: str = "local",
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        output_kms_key: str | None = None,
        accept: str | None = None,
        env: Mapping[str, str] | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        tags: Any = None,
        role: str | None = None,
        model_server_workers: int | None = None,
        volume_kms_key: str | None = None,
        entry_point: str | None = None,
        vpc_config_override: Any = None,
        enable_network_isolation: bool | None = None,
        model_name: str | None = None,
        *,
        source_dir: str | Path | None = None,
    ) -> Any:
        """A `Transformer` for the latest model, served with this estimator's code, framework and backend.

        The SDK's arguments for the cloud (KMS keys, tags, role, VPC, network isolation, model name)
        are accepted and have no effect locally."""
        from container_runtime.local.transform.api import Transformer

        return Transformer(
            self.model_data, instance_count, instance_type, strategy=strategy, assemble_with=assemble_with,
            output_path=output_path, accept=accept, max_concurrent_transforms=max_concurrent_transforms,
            max_payload=max_payload, env={**self.environment, **(env or {})}, framework=self.preset,
            entry_point=entry_point or Path(self.entry_point).name,
            source_dir=Path(source_dir) if source_dir is not None else self._code_dir(),
            model_server_workers=model_server_workers, backend=self.backend, image=self.image,
            endpoints_dir=self.endpoints_dir, console=self.console,
        )

    def _code_dir(self) -> Path:
        if self.source_dir is not None:
            return self.source_dir
        return Path(self.entry_point).expanduser().resolve().parent


class Chainer(Estimator):
    """ChainerMN over MPI when `use_mpi` (the SDK's arguments become its hyperparameters)."""

    preset = CHAINER

    def __init__(self, entry_point: str, *, use_mpi: bool | None = None, num_processes: int | None = None,
                 process_slots_per_host: int | None = None, additional_mpi_options: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(entry_point, **kwargs)
        self.mpi_settings = mpi_settings(use_mpi, num_processes, process_slots_per_host, additional_mpi_options)

    def framework_hyperparameters(self) -> dict[str, Any]:
        return {key: value for key, value in self.mpi_settings.items() if value is not None}


def mpi_settings(use_mpi: bool | None, num_processes: int | None, process_slots_per_host: int | None,
                 additional_mpi_options: str | None) -> dict[str, Any]:
    """The SDK's Chainer MPI arguments as the hyperparameters that carry them (None: not sent)."""
    return {
        "sagemaker_use_mpi": use_mpi,
        "sagemaker_num_processes": num_processes,
        "sagemaker_process_slots_per_host": process_slots_per_host,
        "sagemaker_additional_mpi_options": additional_mpi_options,
    }


class TensorFlow(Estimator):
    """`distribution` as the SDK takes it: parameter_server, multi_worker_mirrored_strategy or mpi."""

    preset = TENSORFLOW

    def __init__(self, entry_point: str, *, distribution: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(entry_point, **kwargs)
        self.distribution = dict(distribution or {})

    def framework_hyperparameters(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        for key, value in self.distribution.items():
            enabled = isinstance(value, Mapping) and bool(value.get("enabled"))
            if key == "parameter_server":
                settings["sagemaker_parameter_server_enabled"] = enabled
            elif key == "multi_worker_mirrored_strategy":
                settings["sagemaker_multi_worker_mirrored_strategy_enabled"] = enabled
            elif key == "mpi":
                settings["sagemaker_mpi_enabled"] = enabled
                if isinstance(value, Mapping) and "processes_per_host" in value:
                    settings["sagemaker_mpi_num_of_processes_per_host"] = value["processes_per_host"]
                if isinstance(value, Mapping) and "custom_mpi_options" in value:
                    settings["sagemaker_mpi_custom_mpi_options"] = value["custom_mpi_options"]
            else:
                raise LocalModeError(
                    f"distribution {key!r}: choose parameter_server, multi_worker_mirrored_strategy or mpi"
                )
        return settings


def _definitions(raw: Iterable[Mapping[str, str]] | Mapping[str, str]) -> tuple[MetricDefinition, ...]:
    return metric_definitions(raw)
