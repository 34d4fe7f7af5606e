"""`Session().sagemaker_client`: the few describe calls notebooks make on the boto3 SageMaker
client, answered from local mode's records (the same dicts the CLI's `describe` prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from container_runtime.local.describe import read_description
from container_runtime.local.errors import LocalModeError
from container_runtime.local.names import validate_name


class LocalSageMakerClient:
    """Answers `describe_training_job`, `describe_hyper_parameter_tuning_job` and `describe_endpoint`."""

    def __init__(self, jobs_dir: Path, tuning_dir: Path, endpoints_dir: Path) -> None:
        self.jobs_dir = jobs_dir
        self.tuning_dir = tuning_dir
        self.endpoints_dir = endpoints_dir

    def describe_training_job(self, *, TrainingJobName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        """A job run by `fit`, or one a tuning job ran (kept under the tuning job's dir)."""
        return read_description(self.training_job_dir(TrainingJobName) / "describe.json")

    def training_job_dir(self, job_name: str) -> Path:
        """Where a training job's record is: `jobs/<name>`, or `tuning/<tuning job>/jobs/<name>` for a trial."""
        name = validate_name(job_name, "training job name")
        trials = sorted(path.parent for path in self.tuning_dir.glob(f"*/jobs/{name}/describe.json"))
        for directory in (self.jobs_dir / name, *trials):
            if (directory / "describe.json").is_file():
                return directory
        raise LocalModeError(f"no training job {name} in {self.jobs_dir} or {self.tuning_dir}")

    def describe_hyper_parameter_tuning_job(self, *, HyperParameterTuningJobName: str) -> dict[str, Any]:  # noqa: N803
        name = validate_name(HyperParameterTuningJobName, "tuning job name")
        return read_description(self.tuning_dir / name / "describe.json")

    def describe_endpoint(self, *, EndpointName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        from container_runtime.local.endpoints import endpoint_alive, find_endpoint

        try:
            record = find_endpoint(EndpointName, self.endpoints_dir)
        except LocalModeError:
            raise LocalModeError(f"endpoint {EndpointName!r}: no such endpoint in {self.endpoints_dir}") from None
        status = "InService" if endpoint_alive(record) else "Failed"
        return {"EndpointName": record.name, "EndpointStatus": status, "EndpointUrl": record.url}
