"""The data plane of one worker: load the model once, then decode, predict and encode.

Knows nothing about HTTP: it takes a body and two header values and returns a body and its
content type, or raises a `ServingError`.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from container_runtime.log import get_logger
from container_runtime.serving import content_types as ct
from container_runtime.serving.errors import (
    HandlerFailed,
    InvalidInput,
    ModelNotReady,
    NotAcceptable,
    RequestTimedOut,
    ServingError,
    Timeout,
    client_error_status,
)
from container_runtime.serving.handlers import Handlers
from container_runtime.serving.health import FAILED, LOADING, READY, WorkerHealth

if TYPE_CHECKING:  # batching (and asyncio) load only in batching workers
    from container_runtime.serving.batching import Batcher

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
        #: Set by `enable_batching`: predictions then run on the batcher's model thread.
        self.batcher: Batcher | None = None
        self.on_load: Callable[[float], None] | None = None

    def enable_batching(self, batcher_factory: Callable[[InferenceService], Batcher]) -> None:
        self.batcher = batcher_factory(self)

    def predict_rows(self, data: Any) -> Any:
        """The row-wise prediction for (possibly concatenated) rows: batch_predict_fn or predict_fn."""
        function = self.handlers.batch_predict_fn or self.handlers.predict_fn
        return function(data, self.model)

    def predict_single(self, data: Any) -> Any:
        return self.handlers.predict_fn(data, self.model)

    def start_loading(self) -> threading.Thread:
        """Load the model in the background so `/ping` can answer 503 meanwhile."""
        self.health.report(LOADING)
        thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        thread.start()
        return thread

    def load(self) -> None:
        started = time.perf_counter()
        try:
            self.model = self.handlers.model_fn(self.model_dir)
        except Exception as error:  # noqa: BLE001 - any failure of user code is reported, not raised
            self.reason = f"{type(error).__name__}: {error}"
            self.state = FAILED
            logger.error("model_fn failed: %s\n%s", self.reason, traceback.format_exc().rstrip())
            self.health.report(FAILED, self.reason)
            return
        if self.on_load is not None:
            self.on_load(time.perf_counter() - started)
        if self.batcher is not None:
            self.batcher.start()
        self.state = READY
        self.health.report(READY)
        logger.info("Model loaded")

    def check_ready(self) -> None:
        if self.state != READY:
            raise ModelNotReady(self.reason if self.state == FAILED else "the model is still loading")

    async def invoke(
        self, body: bytes, content_type_header: str | None, accept_header: str | None, deadline: float = 0.0
    ) -> tuple[bytes, str]:
        """Decode, predict and encode one request; `deadline` (perf_counter) bounds a batched wait.

        Suspends only to wait for a batched prediction: without a batcher it runs straight
        through, so a sync worker can drive it with `run_to_completion`."""
        self.check_ready()
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
            if self.batcher is None:
                prediction = _call("predict_fn", handlers.predict_fn, data, self.model)
            else:
                prediction = await self._batched(data, deadline)
            result = _call("output_fn", handlers.output_fn, prediction, accept)
        return _response(result, accept)

    async def predict(self, data: Any, deadline: float = 0.0) -> Any:
        """A prediction for already-decoded data (the Open Inference Protocol route)."""
        self.check_ready()
        if self.handlers.transform_fn is not None:
            raise InvalidInput("this model defines transform_fn, which takes bodies: use /invocations")
        if self.batcher is None:
            return _call("predict_fn", self.handlers.predict_fn, data, self.model)
        return await self._batched(data, deadline)

    async def _batched(self, data: Any, deadline: float) -> Any:
        assert self.batcher is not None
        try:
            return await self.batcher.submit(data, deadline)
        except Timeout as timeout:
            message = "the request did not finish within the timeout"
            if timeout.stuck:
                message += "; the model call is stuck, so this worker is being replaced"
            # A stuck call retires the worker through the batcher's on_stuck, not this request.
            raise RequestTimedOut(message, retire=False) from None
        except ServingError:
            raise
        except Exception as error:  # noqa: BLE001 - user code may raise anything
            raise _mapped("predict_fn", error) from error

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
        raise _mapped(name, error) from error


def _mapped(name: str, error: Exception) -> ServingError:
    """A user exception as the ServingError the client gets (4xx if it asks for one, else 500)."""
    status = client_error_status(error)
    if status is not None:
        client_error = ServingError(f"{name}: {error}")
        client_error.status = status
        client_error.error = type(error).__name__
        return client_error
    trace = "".join(traceback.format_exception(error)).rstrip()
    logger.error("%s raised %s: %s\n%s", name, type(error).__name__, error, trace)
    return HandlerFailed(name, error)


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
