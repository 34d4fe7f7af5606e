"""`sagemaker.transformer.Transformer`: batch transform jobs, run by local mode's transform engine.

The SDK names a transformer's model by `model_name`, a model SageMaker created from a training
job (the estimator's `transformer()` uses the job's name). Here the name is a training job in the
session's records, whose model, code and framework are used; a `model.tar.gz` path or a `file://`
or `s3://` URI works too, with the code named by `entry_point`/`source_dir`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from container_runtime.local.deployment import model_source
from container_runtime.local.transform.api import Transformer as LocalTransformer
from container_runtime.sdk.arguments import log_ignored
from container_runtime.sdk.session import Session


class Transformer(LocalTransformer):
    """The SDK's constructor: `model_name` first; cloud-only arguments are accepted and named once as ignored."""

    def __init__(self, model_name: str, instance_count: int = 1, instance_type: str = "local",
                 strategy: str | None = None, assemble_with: str | None = None, output_path: str | None = None,
                 output_kms_key: str | None = None, accept: str | None = None,
                 max_concurrent_transforms: int | None = None, max_payload: int | None = None,
                 tags: Any = None, env: Mapping[str, str] | None = None, base_transform_job_name: str | None = None,
                 sagemaker_session: Session | None = None, volume_kms_key: str | None = None, *,
                 entry_point: str | None = None, source_dir: str | Path | None = None,
                 image_uri: str | None = None) -> None:
        session = sagemaker_session or Session()
        log_ignored("Transformer", {"output_kms_key": output_kms_key, "tags": tags, "volume_kms_key": volume_kms_key})
        job_record = session.jobs_dir / model_name / "describe.json"
        source = model_source(
            job=model_name if job_record.is_file() else None,
            model_data=None if job_record.is_file() else model_name,
            entry_point=entry_point, source_dir=Path(source_dir) if source_dir is not None else None,
            framework=None, jobs_dir=session.jobs_dir, command="transform",
        )
        super().__init__(
            source.model_data, instance_count, instance_type, strategy=strategy, assemble_with=assemble_with,
            output_path=output_path, accept=accept, max_concurrent_transforms=max_concurrent_transforms,
            max_payload=max_payload, env=env, base_transform_job_name=base_transform_job_name,
            framework=source.preset, entry_point=source.entry_point, source_dir=source.source_dir,
            backend="docker" if image_uri else "local", image=image_uri, endpoints_dir=session.endpoints_dir,
        )
        self.model_name = model_name
        self.sagemaker_session = session
