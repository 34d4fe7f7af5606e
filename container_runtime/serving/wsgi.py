"""The HTTP layer: routes, body limits, timeouts, metrics and the JSON error shapes.

SageMaker's `/ping`, `POST /invocations` and `GET /execution-parameters`, Prometheus'
`GET /metrics`, and the Open Inference Protocol's `/v2/...` routes (errors there as
`{"error": "..."}`, the protocol's shape); everything else is a JSON 404. No model logic
lives here: the `InferenceService` does that.

`InvocationApp.respond` takes a WSGI environ and is a coroutine that suspends only to wait for
a batched prediction. Sync workers call the app as WSGI, which drives `respond` straight through
in the request's own thread (where SIGALRM can cut a request short); batching workers serve it
through `asgi`, on their event loop.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from types import FrameType
from typing import Any, TypeVar

from container_runtime.log import get_logger
from container_runtime.serving import oip
from container_runtime.serving.errors import (
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimedOut,
    ServingError,
)
from container_runtime.serving.health import LOADING, READY, WorkerHealth
from container_runtime.serving.metrics import TEXT_FORMAT, ServingMetrics, render, route_label
from container_runtime.serving.service import InferenceService

logger = get_logger(__name__)
StartResponse = Callable[..., Any]
T = TypeVar("T")
_JSON = "application/json"
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
#: Bodies up to this many times the limit are read (and dropped) before the 413 goes out.
DRAIN_FACTOR = 4


class InvocationApp:
    """A WSGI application for one worker."""

    def __init__(
        self,
        service: InferenceService,
        health: WorkerHealth,
        *,
        max_payload_bytes: int,
        timeout_seconds: float,
        max_concurrent_transforms: int,
        retire_worker: Callable[[], None],
        metrics: ServingMetrics | None = None,
        model_name: str = "model",
        platform: str = "numpy",
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.model_name = model_name
        self.platform = platform
        self.v2_model = f"/v2/models/{model_name}"
        self.health = health
        self.max_payload_bytes = max_payload_bytes
        self.timeout_seconds = timeout_seconds
        self.retire_worker = retire_worker
        self.execution_parameters = json.dumps(
            {
                "MaxConcurrentTransforms": max_concurrent_transforms,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": max(1, max_payload_bytes // (1024 * 1024)),
            }
        ).encode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """WSGI, for sync workers (no batcher, so `respond` never suspends)."""
        status, headers, body = run_to_completion(self.respond(environ))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    async def respond(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for one request."""
        metrics = self.metrics
        if metrics is None:
            return await self._handle(environ, None)
        metrics.in_flight.inc()
        try:
            return await self._handle(environ, metrics)
        finally:
            metrics.in_flight.dec()

    async def _handle(
        self, environ: dict[str, Any], metrics: ServingMetrics | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        retire = False
        headers: list[tuple[str, str]] = []
        v2 = path.startswith("/v2")
        try:
            status, body, content_type, headers = await self._route(method, path, environ, started)
        except RequestTimedOut as error:
            status, body, content_type = _error(error, v2)
            retire = error.retire
        except ServingError as error:
            status, body, content_type = _error(error, v2)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
        elapsed = time.perf_counter() - started
        if metrics is not None:
            route = route_label(path)
            metrics.requests.labels(route, str(status)).inc()
            metrics.latency.labels(route).observe(elapsed)
        logger.info("%s %s %d %dB %.1fms", method, path, status, len(body), elapsed * 1000)
        if retire:
            logger.warning("Request outlived %.0f s: replacing this worker", self.timeout_seconds)
            self.health.report(LOADING, "replacing a worker whose model call outlived the timeout")
            self.retire_worker()
        return status, headers, body

    async def _route(
        self, method: str, path: str, environ: dict[str, Any], started: float
    ) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        if path == "/invocations":
            if method != "POST":
                raise MethodNotAllowed("use POST for /invocations")
            body = self._read_body(environ)
            accept = environ.get("HTTP_ACCEPT")
            content_type = environ.get("CONTENT_TYPE") or environ.get("HTTP_CONTENTTYPE")
            with self._deadline():
                payload, response_type = await self.service.invoke(
                    body, content_type, accept, started + self.timeout_seconds
                )
            return 200, payload, response_type, []
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowed("use GET for /ping")
            summary = self.health.summary()
            document = json.dumps({"status": summary.status, "message": summary.message}).encode()
            return (200 if summary.healthy else 503), document, _JSON, []
        if path == "/execution-parameters":
            if method != "GET":
                raise MethodNotAllowed("use GET for /execution-parameters")
            return 200, self.execution_parameters, _JSON, []
        if path == "/metrics":
            if method != "GET":
                raise MethodNotAllowed("use GET for /metrics")
            if self.metrics is None:
                raise NotFound("metrics are off in this server")
            return 200, render(), TEXT_FORMAT, []
        if path.startswith("/v2"):
            return await self._open_inference(method, path, environ, started)
        raise NotFound(f"no route {path!r}: use /ping, /invocations, /execution-parameters, /metrics or /v2")

    async def _open_inference(
        self, method: str, path: str, environ: dict[str, Any], started: float
    ) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        if path == "/v2/health/live":
            _only(method, "GET", path)
            return 200, b'{"live": true}', _JSON, []
        if path == "/v2/health/ready":
            _only(method, "GET", path)
            ready = self.health.summary().healthy
            return (200 if ready else 503), json.dumps({"ready": ready}).encode(), _JSON, []
        if path == "/v2":
            _only(method, "GET", path)
            document = {"name": "container-runtime", "version": "0.1.0", "extensions": ["binary_tensor_data"]}
            return 200, json.dumps(document).encode(), _JSON, []
        if path == self.v2_model or path == f"{self.v2_model}/versions/1":
            _only(method, "GET", path)
            return 200, json.dumps(oip.model_metadata(self.model_name, self.platform)).encode(), _JSON, []
        if path in (f"{self.v2_model}/ready", f"{self.v2_model}/versions/1/ready"):
            _only(method, "GET", path)
            ready = self.service.state == READY
            return (200 if ready else 503), json.dumps({"name": self.model_name, "ready": ready}).encode(), _JSON, []
        if path in (f"{self.v2_model}/infer", f"{self.v2_model}/versions/1/infer"):
            _only(method, "POST", path)
            body = self._read_body(environ)
            request = oip.parse_request(body, environ.get(oip.HEADER_LENGTH))
            with self._deadline():
                prediction = await self.service.predict(request.inputs, started + self.timeout_seconds)
            payload, headers = oip.encode_response(prediction, request, self.model_name)
            return 200, payload, _JSON, list(headers.items())
        if path.startswith("/v2/models/"):
            raise NotFound(f"no model {path.split('/')[3]!r}: this server hosts {self.model_name!r}")
        raise NotFound(f"no route {path!r}")

    def _deadline(self) -> Any:
        """SIGALRM for unbatched workers (main thread); batched requests wait with a deadline instead."""
        if self.service.batcher is not None:
            return contextlib.nullcontext()
        return _timed(self.timeout_seconds)

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length_header = environ.get("CONTENT_LENGTH") or ""
        if length_header:
            try:
                length = int(length_header)
            except ValueError:
                raise InvalidInput(f"invalid Content-Length {length_header!r}") from None
            if length > self.max_payload_bytes:
                if length <= DRAIN_FACTOR * self.max_payload_bytes:
                    # Read the body first so the client, still sending, gets this 413 rather than a
                    # broken pipe; a body far over the limit is not worth reading.
                    _discard(stream, length)
                raise PayloadTooLarge(f"body of {length} bytes is over the limit of {self.max_payload_bytes} bytes")
            body: bytes = stream.read(length) if length > 0 else b""
            return body
        body = stream.read(self.max_payload_bytes + 1)
        if len(body) > self.max_payload_bytes:
            raise PayloadTooLarge(f"body is over the limit of {self.max_payload_bytes} bytes")
        return body


def run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends, run in the calling thread."""
    try:
        coroutine.send(None)
    except StopIteration as finished:
        result: T = finished.value
        return result
    coroutine.close()
    raise RuntimeError("a request waited for an event loop in a worker without one")


def _discard(stream: Any, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


def _only(method: str, allowed: str, path: str) -> None:
    if method != allowed and not (allowed == "GET" and method == "HEAD"):
        raise MethodNotAllowed(f"use {allowed} for {path}")


def _error(error: ServingError, oip_shape: bool = False) -> tuple[int, bytes, str]:
    if oip_shape:
        return error.status, json.dumps({"error": f"{error.error}: {error.message}"}).encode(), _JSON
    return error.status, json.dumps({"error": error.error, "message": error.message}).encode(), _JSON


class _timed:
    """The request's code under `_deadline`, turning its expiry into a 504 that retires the worker."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.alarm = _deadline(seconds)

    def __enter__(self) -> None:
        self.alarm.__enter__()

    def __exit__(self, kind: Any, value: Any, trace: Any) -> None:
        self.alarm.__exit__(kind, value, trace)
        if isinstance(value, _DeadlineExpired):
            raise RequestTimedOut(f"the request did not finish within {self.seconds:g} s") from None


class _DeadlineExpired(BaseException):
    """Raised by SIGALRM inside handler code; a BaseException so `except Exception` in user
    code cannot swallow it."""


class _deadline:
    """Interrupt the request's code after `seconds` (needs the main thread, as in sync workers)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False
        self.previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self.previous = signal.signal(signal.SIGALRM, self._expire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        self.armed = True

    def __exit__(self, *exc_info: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    def _expire(self, signum: int, frame: FrameType | None) -> None:
        raise _DeadlineExpired()
