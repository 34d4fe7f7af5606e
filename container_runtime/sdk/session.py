"""`Session` and `get_execution_role`, as `sagemaker.session` names them, for local mode.

A Session here holds no AWS clients: it knows where local mode keeps jobs, tuning jobs,
endpoints and uploaded data (`$CONTAINER_RUNTIME_HOME`), stores uploads there (or on the
S3-compatible server `S3_ENDPOINT_URL` names), and answers describe calls from the records.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from container_runtime.local import settings
from container_runtime.local.names import validate_name
from container_runtime.sdk.arguments import log_ignored
from container_runtime.sdk.client import LocalSageMakerClient

#: What `get_execution_role()` returns: a well-formed role ARN that names no real account.
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/container-runtime-local-mode"
DEFAULT_BUCKET = "sagemaker-local"


class Session:
    """The SDK's Session: the arguments are the SDK's; AWS clients given are accepted and ignored."""

    def __init__(
        self,
        boto_session: Any = None,
        sagemaker_client: Any = None,
        sagemaker_runtime_client: Any = None,
        sagemaker_featurestore_runtime_client: Any = None,
        default_bucket: str | None = None,
        settings: Any = None,
        sagemaker_metrics_client: Any = None,
        sagemaker_config: Any = None,
        default_bucket_prefix: str | None = None,
    ) -> None:
        log_ignored(type(self).__name__, {
            "boto_session": boto_session, "sagemaker_client": sagemaker_client,
            "sagemaker_runtime_client": sagemaker_runtime_client,
            "sagemaker_featurestore_runtime_client": sagemaker_featurestore_runtime_client, "settings": settings,
            "sagemaker_metrics_client": sagemaker_metrics_client, "sagemaker_config": sagemaker_config,
        })
        self._default_bucket = default_bucket
        self.default_bucket_prefix = default_bucket_prefix
        self.local_mode = True

    @property
    def home(self) -> Path:
        return _home()

    @property
    def jobs_dir(self) -> Path:
        return settings.default_jobs_dir()

    @property
    def endpoints_dir(self) -> Path:
        return settings.default_endpoints_dir()

    @property
    def tuning_dir(self) -> Path:
        return _home() / "tuning"

    @property
    def data_dir(self) -> Path:
        """The local data store `upload_data` copies into."""
        return _home() / "data"

    @property
    def sagemaker_client(self) -> LocalSageMakerClient:
        return LocalSageMakerClient(self.jobs_dir, self.tuning_dir, self.endpoints_dir)

    @property
    def boto_region_name(self) -> str:
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    def default_bucket(self) -> str:
        """The bucket given to the Session, else `sagemaker-local`."""
        return self._default_bucket or DEFAULT_BUCKET

    def upload_data(self, path: str | Path, bucket: str | None = None, key_prefix: str = "data",
                    extra_args: Any = None, callback: Any = None) -> str:
        """Copy `path` (a file or a dir) into the data store, returning its `file://` URI; with
        `S3_ENDPOINT_URL` set, upload it there and return its `s3://` URI, as the SDK does."""
        from container_runtime.sdk.uploads import copy_to_store, upload_to_s3

        log_ignored("upload_data", {"extra_args": extra_args, "callback": callback})
        if bucket is None:
            bucket = self.default_bucket()
            if self.default_bucket_prefix:
                key_prefix = f"{self.default_bucket_prefix.strip('/')}/{key_prefix}"
        endpoint_url = self.s3_endpoint()
        if endpoint_url:
            return upload_to_s3(path, bucket, key_prefix, endpoint_url)
        return copy_to_store(path, self.data_dir, bucket, key_prefix)

    def s3_endpoint(self) -> str | None:
        """The S3-compatible server uploads go to: `S3_ENDPOINT_URL`, or none (the local store)."""
        return settings.s3_endpoint_url()

    def delete_endpoint(self, endpoint_name: str) -> None:
        """Stop the local endpoint of that name."""
        from container_runtime.local.endpoints import stop_endpoint

        stop_endpoint(endpoint_name, self.endpoints_dir)

    def delete_endpoint_config(self, endpoint_config_name: str) -> None:
        """Nothing to do: a local endpoint has no separate config."""
        validate_name(endpoint_config_name, "endpoint config name")

    def delete_model(self, model_name: str) -> None:
        """Nothing to do: a local endpoint's model copy goes with the endpoint's dir."""
        validate_name(model_name, "model name")

    def describe_training_job(self, job_name: str) -> dict[str, Any]:
        return self.sagemaker_client.describe_training_job(TrainingJobName=job_name)

    def describe_tuning_job(self, job_name: str) -> dict[str, Any]:
        return self.sagemaker_client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job_name)


def get_execution_role(sagemaker_session: Session | None = None, use_default: bool = False) -> str:
    """A placeholder role ARN: local mode needs none, but notebook code passes one around."""
    return PLACEHOLDER_ROLE


def _home() -> Path:
    return settings.home()
