"""`Model` and `FrameworkModel`, as `sagemaker.model` has them: a trained model (`model.tar.gz`,
its dir, or an `s3://` URI) deployed to a local endpoint with its serving script."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from container_runtime.local.presets import GENERIC, FrameworkPreset
from container_runtime.local.settings import s3_endpoint_url
from container_runtime.sdk.arguments import log_ignored
from container_runtime.sdk.deploying import check_deploy_arguments
from container_runtime.sdk.deserializers import BaseDeserializer
from container_runtime.sdk.predictor import Predictor
from container_runtime.sdk.serializers import BaseSerializer
from container_runtime.sdk.session import Session


class FrameworkModel:
    """A model with its serving code; `deploy()` serves it here (Docker when `image_uri` is given)."""

    preset: ClassVar[FrameworkPreset] = GENERIC
    default_predictor_cls: ClassVar[type[Predictor]] = Predictor

    def __init__(self, model_data: str, role: str | None = None, entry_point: str | None = None,
                 image_uri: str | None = None, framework_version: str | None = None,
                 py_version: str | None = None, predictor_cls: type[Predictor] | None = None,
                 model_server_workers: int | None = None, source_dir: str | None = None,
                 env: Mapping[str, str] | None = None, name: str | None = None,
                 sagemaker_session: Session | None = None, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - {"container_log_level", "code_location", "dependencies", "git_config",
                                        "vpc_config", "enable_network_isolation", "model_kms_key"})
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}")
        log_ignored(type(self).__name__, {"role": role, "framework_version": framework_version,
                                          "py_version": py_version, "name": name, **kwargs})
        self.model_data = model_data
        self.role = role
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.image_uri = image_uri
        self.predictor_cls = predictor_cls or self.default_predictor_cls
        self.model_server_workers = model_server_workers
        self.env = dict(env or {})
        self.sagemaker_session = sagemaker_session or Session()
        self.endpoint_name: str | None = None

    def deploy(self, initial_instance_count: int | None = None, instance_type: str | None = None,
               serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
               accelerator_type: str | None = None, endpoint_name: str | None = None, **kwargs: Any) -> Predictor:
        """Serve the model on a local endpoint; returns `predictor_cls` for it."""
        from container_runtime.local.endpoints import deploy, free_port

        check_deploy_arguments(initial_instance_count, instance_type, {"accelerator_type": accelerator_type, **kwargs},
                               {})
        source_dir = Path(self.source_dir) if self.source_dir is not None else None
        entry_point = self.entry_point
        if entry_point is not None and source_dir is None:
            script = Path(entry_point).expanduser().resolve()
            source_dir, entry_point = script.parent, script.name
        record = deploy(
            self.model_data, endpoints_dir=self.sagemaker_session.endpoints_dir, framework=self.preset,
            entry_point=entry_point, source_dir=source_dir, port=free_port(), name=endpoint_name,
            workers=self.model_server_workers or 1, environment=self.env, s3_endpoint_url=s3_endpoint_url(),
            backend="docker" if self.image_uri else "local", image=self.image_uri,
        )
        self.endpoint_name = record.name
        kwargs_out: dict[str, Any] = {}
        if serializer is not None:
            kwargs_out["serializer"] = serializer
        if deserializer is not None:
            kwargs_out["deserializer"] = deserializer
        return self.predictor_cls(record.name, self.sagemaker_session, **kwargs_out)

    def delete_model(self) -> None:
        """Nothing to do: a local endpoint's model copy goes with the endpoint."""


Model = FrameworkModel
