"""The data plane of one worker: load the model once, then decode, predict and encode.

Knows nothing about HTTP: it takes a body and two header values and returns a body and its
content type, or raises a `ServingError`.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from container_runtime.log import get_logger
from container_runtime.serving import content_types as ct
from container_runtime.serving.errors import (
    HandlerFailed,
    InvalidInput,
    ModelNotReady,
    NotAcceptable,
    ServingError,
    client_error_status,
)
from container_runtime.serving.handlers import Handlers
from container_runtime.serving.health import FAILED, LOADING, READY, WorkerHealth

logger = get_logger(__name__)


class InferenceService:
    def __init__(self, handlers: Handlers, model_dir: str, default_accept: str, health: WorkerHealth) -> None:
        self.handlers = handlers
        self.model_dir = model_dir
        self.default_accept = default_accept
        self.health = health
        self.state = LOADING
        self.reason = "loading the model"
        self.model: Any = None

    def start_loading(self) -> threading.Thread:
        """Load the model in the background so `/ping` can answer 503 meanwhile."""
        self.health.report(LOADING)
        thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        thread.start()
        return thread

    def load(self) -> None:
        try:
            self.model = self.handlers.model_fn(self.model_dir)
        except Exception as error:  # noqa: BLE001 - any failure of user code is reported, not raised
            self.reason = f"{type(error).__name__}: {error}"
            self.state = FAILED
            logger.error("model_fn failed: %s\n%s", self.reason, traceback.format_exc().rstrip())
            self.health.report(FAILED, self.reason)
            return
        self.state = READY
        self.health.report(READY)
        logger.info("Model loaded")

    def invoke(self, body: bytes, content_type_header: str | None, accept_header: str | None) -> tuple[bytes, str]:
        if self.state != READY:
            raise ModelNotReady(self.reason if self.state == FAILED else "the model is still loading")
        content_type = ct.media_type(content_type_header) or ct.JSON
        accept = self._accept(accept_header)
        input_data: bytes | str = body
        if content_type in ct.TEXT_TYPES:
            try:
                input_data = body.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvalidInput(f"a {content_type} body must be UTF-8: {error}") from error
        handlers = self.handlers
        if handlers.transform_fn is not None:
            result = _call("transform_fn", handlers.transform_fn, self.model, input_data, content_type, accept)
        else:
            data = _call("input_fn", handlers.input_fn, input_data, content_type)
            prediction = _call("predict_fn", handlers.predict_fn, data, self.model)
            result = _call("output_fn", handlers.output_fn, prediction, accept)
        return _response(result, accept)

    def _accept(self, header: str | None) -> str:
        accepted = ct.parse_accept(header)
        chosen = ct.negotiate(accepted, self.handlers.output_types, self.default_accept)
        if chosen is not None:
            return chosen
        custom_output = self.handlers.user_defined & {"output_fn", "transform_fn"}
        if custom_output and accepted:
            return accepted[0]  # the user's own output_fn may know this type
        raise NotAcceptable(f"cannot answer with any of {header!r}; supported: {', '.join(self.handlers.output_types)}")


def _call(name: str, function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except ServingError:
        raise
    except Exception as error:  # noqa: BLE001 - user code may raise anything
        status = client_error_status(error)
        if status is not None:
            client_error = ServingError(f"{name}: {error}")
            client_error.status = status
            client_error.error = type(error).__name__
            raise client_error from error
        logger.error("%s raised %s: %s\n%s", name, type(error).__name__, error, traceback.format_exc().rstrip())
        raise HandlerFailed(name, error) from error


def _response(result: Any, accept: str) -> tuple[bytes, str]:
    body, content_type = result if isinstance(result, tuple) and len(result) == 2 else (result, accept)
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    if not isinstance(body, bytes):
        raise HandlerFailed(
            "output_fn", TypeError(f"returned {type(body).__name__}; expected bytes, str or (body, content_type)")
        )
    return body, str(content_type)
