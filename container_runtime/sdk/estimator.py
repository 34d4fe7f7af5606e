"""`Estimator` and `Framework`, as `sagemaker.estimator` has them, running on local mode.

Each maps the SDK's arguments onto local mode's estimator (`container_runtime.local.estimator`):
`instance_type` (`local`, `local_gpu` or any `ml.*` type: all run here), `instance_count`,
`image_uri` (the Docker backend with that image; none: processes), `output_path`,
`base_job_name`, `hyperparameters`, `metric_definitions`, `environment`, `entry_point`,
`source_dir`, `dependencies` (copied next to the source, as the SDK packs them), `model_uri`. SDK v1's
names (`train_instance_type`, `image_name`, ...) are taken too. Arguments with no local meaning
are logged once as ignored (`arguments`); those that would change results are refused.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, cast

from container_runtime.local.errors import LocalModeError
from container_runtime.local.estimator import Estimator as LocalEstimator
from container_runtime.local.names import unique_name
from container_runtime.local.presets import GENERIC, FrameworkPreset
from container_runtime.local.training import TrainingJobResult, TrainingJobSpec
from container_runtime.sdk.arguments import log_ignored, refuse, renamed
from container_runtime.sdk.deploying import check_deploy_arguments, check_instance_type, model_arguments
from container_runtime.sdk.deserializers import BaseDeserializer
from container_runtime.sdk.inputs import channels_of
from container_runtime.sdk.model import FrameworkModel
from container_runtime.sdk.predictor import Predictor
from container_runtime.sdk.serializers import BaseSerializer
from container_runtime.sdk.session import Session

#: EstimatorBase's arguments that have no meaning on one machine: accepted, logged once.
IGNORED = (
    "volume_size", "volume_kms_key", "max_run", "output_kms_key", "tags", "subnets", "security_group_ids",
    "encrypt_inter_container_traffic", "use_spot_instances", "max_wait", "checkpoint_s3_uri",
    "checkpoint_local_path", "enable_network_isolation", "rules", "debugger_hook_config",
    "tensorboard_output_config", "enable_sagemaker_metrics", "profiler_config", "disable_profiler",
    "max_retry_attempts", "code_location", "container_log_level", "training_repository_access_mode",
    "training_repository_credentials_provider_arn", "enable_infra_check", "enable_remote_debug",
    "enable_session_tag_chaining", "training_plan", "keep_alive_period_in_seconds", "role", "framework_version",
)
#: Arguments that change what runs or what comes out: refused unless left at the SDK's default.
REFUSED = {
    "git_config": "clone the repository and pass its dir as source_dir",
    "instance_groups": "local jobs have one group of hosts",
    "container_entry_point": "local jobs run the runtime's train",
    "container_arguments": "local jobs run the runtime's train",
    "disable_output_compression": "local jobs write model.tar.gz",
}
#: SDK v1's names -> v2's.
RENAMED = {
    "train_instance_count": "instance_count", "train_instance_type": "instance_type",
    "train_volume_size": "volume_size", "train_volume_kms_key": "volume_kms_key", "train_max_run": "max_run",
    "train_use_spot_instances": "use_spot_instances", "train_max_wait": "max_wait", "image_name": "image_uri",
}
MAPPED = ("instance_count", "instance_type", "output_path", "base_job_name", "sagemaker_session",
          "metric_definitions", "environment", "input_mode", "model_uri", "model_channel_name")


def base_arguments(owner: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """EstimatorBase's keyword arguments checked: v1 names renamed, the ignored ones logged (once),
    the refused ones raised; what remains is what local mode uses. An unknown name is a TypeError."""
    given = dict(kwargs)
    for old, new in RENAMED.items():
        if old in given:
            given[new] = renamed(owner, new, given.get(new), old, given.pop(old))
    unknown = sorted(set(given) - set(IGNORED) - set(REFUSED) - set(MAPPED) - {"image_uri", "py_version"})
    if unknown:
        raise TypeError(f"{owner}() got an unexpected keyword argument {unknown[0]!r}")
    for name, why in REFUSED.items():
        if given.get(name):
            raise refuse(owner, name, given[name], why)
    if given.get("input_mode") not in (None, "File", "FastFile"):
        raise refuse(owner, "input_mode", given["input_mode"], "local channels are files (File mode)")
    py_version = given.get("py_version")
    if py_version is not None and not str(py_version).startswith("py3"):
        raise refuse(owner, "py_version", py_version, f"jobs run on this Python ({sys.version.split()[0]})")
    log_ignored(owner, {name: given.get(name) for name in (*IGNORED, "py_version") if name != "container_log_level"
                        or given.get(name) not in (None, logging.INFO)})
    return {name: given.get(name) for name in (*MAPPED, "image_uri")}


class TrainingJob(TrainingJobResult):
    """`estimator.latest_training_job`: the finished job, with the SDK's `name`, `job_name`, `describe()`."""

    @property
    def job_name(self) -> str:
        return self.name

    def describe(self) -> dict[str, Any]:
        return self.description

    def wait(self, logs: Any = True) -> None:
        """The job has ended already: local `fit` returns when it does."""


class Hyperparameters(dict[str, Any]):
    """The estimator's hyperparameters: a mapping, as local mode and the tuner read them, that the
    SDK's `estimator.hyperparameters()` call also answers."""

    def __call__(self) -> dict[str, Any]:
        return dict(self)


class PendingTrainingJob:
    """`latest_training_job` after `fit(wait=False)`: the job runs in a background thread; `wait()`
    joins it (raising what `fit` would have raised), `stop()` stops it as Ctrl-C would."""

    def __init__(self, spec: TrainingJobSpec, console: Any) -> None:
        from container_runtime.local.training import JobControl

        assert spec.job_name is not None
        self.name = spec.job_name
        self._jobs_dir = spec.jobs_dir
        self._control = JobControl()
        self._result: TrainingJob | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(spec, console), name=f"job-{self.name}", daemon=True)
        self._thread.start()

    def _run(self, spec: TrainingJobSpec, console: Any) -> None:
        from container_runtime.local.estimator import TrainingJobFailed
        from container_runtime.local.status import JobStatus
        from container_runtime.local.training import run_training_job

        try:
            result = run_training_job(spec, console=console, control=self._control)
            if result.status != JobStatus.COMPLETED:
                raise TrainingJobFailed(result)
            self._result = TrainingJob(*result)
        except BaseException as error:  # handed to wait()
            self._failure = error

    @property
    def job_name(self) -> str:
        return self.name

    def wait(self, logs: Any = True) -> None:
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        self._control.stop("stopped by stop()")

    def describe(self) -> dict[str, Any]:
        """The job's record: `InProgress` while it runs."""
        if self._result is not None:
            return self._result.description
        from container_runtime.local.describe import read_description

        record = self._jobs_dir / self.name / "describe.json"
        if not record.is_file() and self._thread.is_alive():  # not written yet: the job is starting
            return {"TrainingJobName": self.name, "TrainingJobStatus": "InProgress"}
        return read_description(record)

    @property
    def status(self) -> str:
        return str(self.describe()["TrainingJobStatus"])

    @property
    def model_data(self) -> str | None:
        """Where the model is once the job has ended (waits for it)."""
        self.wait()
        assert self._result is not None
        return self._result.model_data


class Framework(LocalEstimator):
    """The SDK's `Framework` estimator: `entry_point` is run by the framework's training adapter."""

    preset: FrameworkPreset = GENERIC
    #: The SDK's default serializer and deserializer for `deploy()`, and the predictor class it returns.
    predictor_cls: ClassVar[type[Predictor]] = Predictor
    model_cls: ClassVar[type[FrameworkModel]] = FrameworkModel
    default_serializer: ClassVar[type[BaseSerializer] | None] = None
    default_deserializer: ClassVar[type[BaseDeserializer] | None] = None

    def __init__(self, entry_point: str, source_dir: str | None = None,
                 hyperparameters: Mapping[str, Any] | None = None, container_log_level: int = logging.INFO,
                 code_location: str | None = None, image_uri: str | None = None,
                 dependencies: Sequence[str] | None = None, enable_network_isolation: bool | None = None,
                 git_config: Mapping[str, str] | None = None, checkpoint_s3_uri: str | None = None,
                 checkpoint_local_path: str | None = None, enable_sagemaker_metrics: bool | None = None,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        mapped = base_arguments(owner, {
            **kwargs, "container_log_level": container_log_level, "code_location": code_location,
            "image_uri": image_uri,
            "enable_network_isolation": enable_network_isolation, "git_config": git_config,
            "checkpoint_s3_uri": checkpoint_s3_uri, "checkpoint_local_path": checkpoint_local_path,
            "enable_sagemaker_metrics": enable_sagemaker_metrics,
        })
        session = mapped["sagemaker_session"] or Session()
        self.sagemaker_session = session
        self.role = kwargs.get("role")
        self.instance_type = check_instance_type(owner, "instance_type", mapped["instance_type"])
        self.image_uri = mapped["image_uri"]
        self.dependencies = list(dependencies or ())
        self.model_uri = mapped["model_uri"]
        self.model_channel_name = mapped["model_channel_name"] or "model"
        self._bundled: Path | None = None
        self._source_given = source_dir is not None
        self._deployed: Predictor | None = None
        super().__init__(
            entry_point,
            source_dir=source_dir,
            hyperparameters=hyperparameters,
            instance_count=_count(owner, "instance_count", mapped["instance_count"]),
            output_path=mapped["output_path"],
            base_job_name=mapped["base_job_name"],
            metric_definitions=mapped["metric_definitions"] or (),
            environment=mapped["environment"],
            jobs_dir=session.jobs_dir,
            endpoints_dir=session.endpoints_dir,
            backend="docker" if self.image_uri else "local",
            image=self.image_uri,
        )
        self.hyperparameters = Hyperparameters(self.hyperparameters)

    def set_hyperparameters(self, **kwargs: Any) -> None:
        """Add or replace hyperparameters, as the SDK's method does."""
        self.hyperparameters.update(kwargs)

    def create_model(self, model_server_workers: int | None = None, role: str | None = None,
                     vpc_config_override: Any = None, entry_point: str | None = None,
                     source_dir: str | None = None, dependencies: Sequence[str] | None = None,
                     **kwargs: Any) -> FrameworkModel:
        """The trained model as the framework's Model, to `deploy()` later (serving code: the training code's)."""
        if dependencies:
            raise refuse("create_model", "dependencies", dependencies, "put them in source_dir")
        return self.model_cls(
            self.model_data, role=role or self.role, entry_point=entry_point or Path(self.entry_point).name,
            source_dir=source_dir or str(self._code_dir()), image_uri=self.image_uri,
            predictor_cls=self.predictor_cls, model_server_workers=model_server_workers, env=self.environment,
            sagemaker_session=self.sagemaker_session, **kwargs,
        )

    def training_spec(self, inputs: Any = None, *, job_name: str | None = None) -> TrainingJobSpec:
        """Local mode's job for these SDK inputs (`TrainingInput`s included), with the dependencies
        packed next to the source and `model_uri` as the model channel."""
        channels = channels_of(inputs, self.instance_count)
        if self.model_uri is not None:
            if channels is None:
                channels = {}
            elif not isinstance(channels, dict):
                channels = {"training": channels}
            channels = {**channels, self.model_channel_name: self.model_uri}
        if (self.dependencies or not self._source_given) and self._bundled is None:
            # As the SDK packs them: the source dir, or only the entry point's file, plus the dependencies.
            self._bundled = _bundle(self.entry_point, self.source_dir, self.dependencies,
                                    self.sagemaker_session.home / "code")
            self.source_dir = self._bundled
            if not self._source_given:
                self.entry_point = Path(self.entry_point).name
        spec = super().training_spec(channels, job_name=job_name)
        # The session's S3 server (a LocalSession's s3_endpoint_url), where upload_data put the data.
        return spec._replace(s3_endpoint_url=self.sagemaker_session.s3_endpoint())

    def fit(self, inputs: Any = None, wait: bool = True,  # type: ignore[override] # None, as the SDK's
            logs: Any = "All", job_name: str | None = None, experiment_config: Mapping[str, str] | None = None,
            **kwargs: Any) -> None:
        """Run the training job to its end (`latest_training_job`); its output goes to the console unless
        `logs` is off. Returns None, as the SDK's `fit` does."""
        if kwargs:
            raise TypeError(f"fit() got an unexpected keyword argument {sorted(kwargs)[0]!r}")
        log_ignored("fit", {"experiment_config": experiment_config})
        self.console = sys.stdout if logs not in (False, None, "None") else None
        if not wait:
            name = job_name or unique_name(self.base_job_name or Path(self.entry_point).stem)
            self.latest_training_job = cast(Any, PendingTrainingJob(self.training_spec(inputs, job_name=name),
                                                                     self.console))
            return
        result = super().fit(inputs, job_name=job_name)
        self.latest_training_job = TrainingJob(*result)

    def deploy(self, initial_instance_count: int | None = None, instance_type: str | None = None,
               serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
               accelerator_type: str | None = None, endpoint_name: str | None = None,
               use_compiled_model: bool = False, wait: bool = True, model_name: str | None = None,
               kms_key: str | None = None, data_capture_config: Any = None, tags: Any = None,
               serverless_inference_config: Any = None, async_inference_config: Any = None,
               volume_size: int | None = None, model_data_download_timeout: int | None = None,
               container_startup_health_check_timeout: int | None = None,
               inference_recommendation_id: str | None = None, explainer_config: Any = None,
               **kwargs: Any) -> Any:
        """Serve the latest model on a local endpoint; returns the framework's predictor for it."""
        check_deploy_arguments(initial_instance_count, instance_type, {
            "accelerator_type": accelerator_type, "model_name": model_name, "kms_key": kms_key,
            "data_capture_config": data_capture_config, "tags": tags, "volume_size": volume_size,
            "model_data_download_timeout": model_data_download_timeout,
            "container_startup_health_check_timeout": container_startup_health_check_timeout,
            "inference_recommendation_id": inference_recommendation_id, "explainer_config": explainer_config,
        }, {"use_compiled_model": use_compiled_model, "serverless_inference_config": serverless_inference_config,
            "async_inference_config": async_inference_config})
        model = model_arguments(kwargs)
        if model.get("env"):
            self.environment = {**self.environment, **model["env"]}
        from container_runtime.local.endpoints import free_port

        # A free port, not SageMaker local mode's fixed 8080: several endpoints (and other servers) coexist.
        endpoint = super().deploy(port=free_port(), name=endpoint_name, workers=model.get("model_server_workers") or 1,
                                  entry_point=model.get("entry_point"), source_dir=model.get("source_dir"))
        predictor = self.predictor_for(endpoint.endpoint_name, serializer, deserializer)
        self._deployed = predictor
        return predictor

    def transformer(self, instance_count: int, instance_type: str,  # type: ignore[override] # the SDK's signature
                    strategy: str | None = None,
                    assemble_with: str | None = None, output_path: str | None = None,
                    output_kms_key: str | None = None, accept: str | None = None, env: Mapping[str, str] | None = None,
                    max_concurrent_transforms: int | None = None, max_payload: int | None = None,
                    tags: Any = None, role: str | None = None, model_server_workers: int | None = None,
                    volume_kms_key: str | None = None, entry_point: str | None = None,
                    vpc_config_override: Any = None, enable_network_isolation: bool | None = None,
                    model_name: str | None = None) -> Any:
        """The SDK's `estimator.transformer()`: a `Transformer` for the latest model, served with this code."""
        log_ignored(f"{type(self).__name__}.transformer", {
            "output_kms_key": output_kms_key, "tags": tags, "role": role, "volume_kms_key": volume_kms_key,
            "vpc_config_override": vpc_config_override, "enable_network_isolation": enable_network_isolation,
            "model_name": model_name,
        })
        return super().transformer(
            instance_count, check_instance_type(type(self).__name__, "instance_type", instance_type),
            strategy=strategy, assemble_with=assemble_with, output_path=output_path, accept=accept, env=env,
            max_concurrent_transforms=max_concurrent_transforms, max_payload=max_payload,
            model_server_workers=model_server_workers, entry_point=entry_point,
        )

    def predictor_for(self, endpoint_name: str, serializer: BaseSerializer | None,
                      deserializer: BaseDeserializer | None) -> Predictor:
        """The predictor `deploy` returns: the framework's defaults unless a (de)serializer is given."""
        if serializer is None and self.default_serializer is not None:
            serializer = self.default_serializer()
        if deserializer is None and self.default_deserializer is not None:
            deserializer = self.default_deserializer()
        return self.predictor_cls(endpoint_name, self.sagemaker_session, serializer=serializer,
                                  deserializer=deserializer)

    def delete_endpoint(self) -> None:
        """SDK v1's `estimator.delete_endpoint()`: stop the endpoint the last `deploy` started."""
        if self._deployed is None:
            raise LocalModeError("delete_endpoint: this estimator has not deployed an endpoint")
        self._deployed.delete_endpoint()
        self._deployed = None


class Estimator(Framework):
    """The SDK's generic `Estimator`: `image_uri` runs on the Docker backend; local mode needs an `entry_point`."""

    def __init__(self, image_uri: str | None = None, role: str | None = None, *, entry_point: str | None = None,
                 source_dir: str | None = None, hyperparameters: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        if entry_point is None:
            raise LocalModeError("Estimator: entry_point is required on local mode (it runs your script with "
                                 "the runtime's train)")
        super().__init__(entry_point, source_dir=source_dir, hyperparameters=hyperparameters,
                         image_uri=image_uri, role=role, **kwargs)


def _count(owner: str, name: str, value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LocalModeError(f"{owner}: {name}={value!r}: must be a whole number of at least 1")
    return value


def _bundle(entry_point: str, source_dir: Path | None, dependencies: Sequence[str], under: Path) -> Path:
    """A copy of the source (dir, or the entry point's file) with each dependency beside it, as the SDK packs them."""
    under.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="sdk-code-", dir=under))
    if source_dir is not None:
        shutil.copytree(source_dir, target, dirs_exist_ok=True)
    else:
        script = Path(entry_point).expanduser()
        if not script.is_file():
            raise LocalModeError(f"entry point {entry_point!r}: no such file")
        shutil.copy2(script, target / script.name)
    for dependency in dependencies:
        path = Path(dependency).expanduser()
        if path.is_dir():
            shutil.copytree(path, target / path.name, dirs_exist_ok=True)
        elif path.is_file():
            shutil.copy2(path, target / path.name)
        else:
            raise LocalModeError(f"dependencies: no such file or directory {dependency!r}")
    return target
