"""`Transformer`: batch transform in the SageMaker SDK's words, run locally.

    transformer = estimator.transformer(strategy="MultiRecord", assemble_with="Line", accept="text/csv")
    transformer.transform("data/batch", content_type="text/csv", split_type="Line")
    print(transformer.output_path)

The constructor and `transform` take the SDK's argument names; what SageMaker needs and local
mode does not (roles, KMS keys, tags, sessions) is accepted and ignored, and what it cannot do
(manifest files, data filters, several instances) is refused with one line.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from container_runtime.local.errors import LocalModeError
from container_runtime.local.presets import GENERIC, FrameworkPreset, preset_named
from container_runtime.local.settings import s3_endpoint_url
from container_runtime.local.transform.job import TransformJobResult, TransformJobSpec, run_transform_job
from container_runtime.local.transform.options import check_options


class Transformer:
    """Transforms data sets with one model: `model_data` is a model.tar.gz (path, file:// or s3://)."""

    def __init__(
        self,
        model_data: str,
        instance_count: int = 1,
        instance_type: str = "local",
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        output_kms_key: str | None = None,
        accept: str | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        tags: Any = None,
        env: Mapping[str, str] | None = None,
        base_transform_job_name: str | None = None,
        sagemaker_session: Any = None,
        volume_kms_key: str | None = None,
        *,
        framework: str | FrameworkPreset | None = None,
        entry_point: str | None = None,
        source_dir: str | Path | None = None,
        model_server_workers: int | None = None,
        backend: str = "local",
        image: str | None = None,
        endpoints_dir: str | Path | None = None,
        console: TextIO | None = sys.stdout,
    ) -> None:
        if instance_count != 1:
            raise LocalModeError(f"instance_count {instance_count!r}: local transform jobs run on one instance")
        self.model_data = str(model_data)
        self.instance_count = instance_count
        self.instance_type = instance_type
        # Checked now, with the transform's own options later, so a bad one fails before anything runs.
        check_options(strategy=strategy, assemble_with=assemble_with, accept=accept,
                      max_concurrent_transforms=max_concurrent_transforms, max_payload=max_payload)
        self.strategy = strategy
        self.assemble_with = assemble_with
        self.accept = accept
        self.max_concurrent_transforms = max_concurrent_transforms
        self.max_payload = max_payload
        self.output_path = output_path
        self.env = dict(env or {})
        self.base_transform_job_name = base_transform_job_name
        if isinstance(framework, FrameworkPreset):
            self.framework = framework
        else:
            self.framework = preset_named(framework) if framework else GENERIC
        self.entry_point = entry_point
        self.source_dir = Path(source_dir) if source_dir is not None else None
        self.model_server_workers = model_server_workers
        self.backend = backend
        self.image = image
        self.endpoints_dir = Path(endpoints_dir) if endpoints_dir is not None else None
        self.console = console
        self.latest_transform_job: TransformJobResult | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def transform(
        self,
        data: str | Path,
        data_type: str = "S3Prefix",
        content_type: str | None = None,
        compression_type: str | None = None,
        split_type: str | None = None,
        job_name: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        experiment_config: Any = None,
        model_client_config: Any = None,
        batch_data_capture_config: Any = None,
        wait: bool = True,
        logs: bool = True,
    ) -> None:
        """Run a transform job on `data` (a file, a directory or an s3:// prefix); with `wait=False`
        it runs in the background until `wait()`."""
        if data_type != "S3Prefix":
            raise LocalModeError(f"data_type {data_type!r}: local transform jobs read S3Prefix data (a file, "
                                 "a directory or an s3:// prefix)")
        for what, value in (("input_filter", input_filter), ("output_filter", output_filter),
                            ("join_source", join_source)):
            if value not in (None, "$", "None"):
                raise LocalModeError(f"{what} {value!r}: not supported by local transform jobs")
        if self._thread is not None and self._thread.is_alive():
            raise LocalModeError("a transform job of this transformer is still running: call wait() first")
        options = check_options(
            strategy=self.strategy, max_payload=self.max_payload,
            max_concurrent_transforms=self.max_concurrent_transforms, split_type=split_type,
            assemble_with=self.assemble_with, content_type=content_type, accept=self.accept,
            compression_type=compression_type, model_client_config=model_client_config,
        )
        if job_name is None and self.base_transform_job_name:
            from container_runtime.local.names import unique_name

            job_name = unique_name(self.base_transform_job_name)
        spec = TransformJobSpec(
            model_data=self.model_data, data=str(data), output_path=self.output_path, options=options,
            framework=self.framework, entry_point=self.entry_point, source_dir=self.source_dir,
            environment=self.env, job_name=job_name, endpoints_dir=self.endpoints_dir, backend=self.backend,
            image=self.image, s3_endpoint_url=s3_endpoint_url(), workers=self.model_server_workers,
        )
        console = self.console if logs else None
        if wait:
            self._finish(run_transform_job(spec, console=console))
            return
        self._error = None
        self._thread = threading.Thread(target=self._background, args=(spec, console), name="transform-job")
        self._thread.start()

    def wait(self, logs: bool = True) -> None:
        """Block until the background job ends; re-raises its error."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _background(self, spec: TransformJobSpec, console: TextIO | None) -> None:
        try:
            self._finish(run_transform_job(spec, console=console))
        except BaseException as error:  # noqa: BLE001 - handed to wait(), which re-raises it
            self._error = error

    def _finish(self, result: TransformJobResult) -> None:
        self.latest_transform_job = result
        self.output_path = result.output_path
