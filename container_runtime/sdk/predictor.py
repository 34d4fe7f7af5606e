"""`Predictor`, as `sagemaker.predictor` has it: names an endpoint, serializes with its
serializer, asks for its deserializer's `ACCEPT` types and decodes with it.

HTTP goes through local mode's Predictor (`container_runtime.local.predictor`), which finds the
endpoint by name in the session's endpoints dir.
"""

from __future__ import annotations

import io
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.predictor import Predictor as EndpointClient
from container_runtime.sdk.arguments import log_ignored
from container_runtime.sdk.deserializers import BaseDeserializer, BytesDeserializer
from container_runtime.sdk.serializers import BaseSerializer, IdentitySerializer
from container_runtime.sdk.session import Session


class Predictor:
    """The SDK's Predictor: `predict(data)`, `delete_endpoint()`, `endpoint_name`."""

    def __init__(self, endpoint_name: str, sagemaker_session: Session | None = None,
                 serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
                 component_name: str | None = None, **kwargs: Any) -> None:
        self.endpoint_name = endpoint_name
        self.sagemaker_session = sagemaker_session or Session()
        self.serializer = serializer if serializer is not None else IdentitySerializer()
        self.deserializer = deserializer if deserializer is not None else BytesDeserializer()
        self.component_name = component_name
        _refuse_unknown(type(self).__name__, kwargs)
        self._client = EndpointClient(endpoint_name, endpoints_dir=self.sagemaker_session.endpoints_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint_name!r})"

    @property
    def endpoint(self) -> str:
        """The SDK's older name for `endpoint_name`."""
        return self.endpoint_name

    @property
    def content_type(self) -> str:
        return self.serializer.CONTENT_TYPE

    @property
    def accept(self) -> tuple[str, ...]:
        return self.deserializer.ACCEPT

    def predict(self, data: Any, initial_args: dict[str, str] | None = None, target_model: str | None = None,
                target_variant: str | None = None, inference_id: str | None = None,
                custom_attributes: str | None = None, component_name: str | None = None) -> Any:
        """Serialize `data`, POST it to the endpoint, decode the answer with the deserializer."""
        log_ignored("predict", {"target_model": target_model, "target_variant": target_variant,
                                "inference_id": inference_id, "custom_attributes": custom_attributes,
                                "component_name": component_name})
        args = dict(initial_args or {})
        content_type = args.pop("ContentType", None) or self.content_type
        accept = args.pop("Accept", None) or ", ".join(self.accept)
        if args:
            raise LocalModeError(f"predict: initial_args {sorted(args)} are not supported on local mode: "
                                 "only ContentType and Accept")
        body = self.serializer.serialize(data)
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif hasattr(body, "read"):
            body = body.read()
        answer, answer_type = self._client.invoke(bytes(body), content_type, accept)
        return self.deserializer.deserialize(io.BytesIO(answer), answer_type)

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        """Stop the endpoint's server."""
        self.sagemaker_session.delete_endpoint(self.endpoint_name)

    def delete_model(self) -> None:
        """Nothing to do: the model copy goes with the endpoint."""

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete_endpoint()


def _refuse_unknown(owner: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        name = sorted(kwargs)[0]
        raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}")


RealTimePredictor = Predictor
