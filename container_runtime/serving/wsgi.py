"""The HTTP layer: routes, body limits, timeouts and the one JSON error shape.

`/ping`, `POST /invocations` and `GET /execution-parameters`; everything else is a JSON 404.
No model logic lives here: the `InferenceService` does that.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from container_runtime.log import get_logger
from container_runtime.serving.errors import (
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimedOut,
    ServingError,
)
from container_runtime.serving.health import WorkerHealth
from container_runtime.serving.service import InferenceService

logger = get_logger(__name__)
StartResponse = Callable[..., Any]
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
    ) -> None:
        self.service = service
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
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        retire = False
        try:
            status, body, content_type = self._route(method, path, environ)
        except RequestTimedOut as error:
            status, body, content_type = _error(error)
            retire = True
        except ServingError as error:
            status, body, content_type = _error(error)
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        logger.info("%s %s %d %dB %.1fms", method, path, status, len(body), (time.perf_counter() - started) * 1000)
        if retire:
            logger.warning("Request outlived %.0f s: replacing this worker", self.timeout_seconds)
            self.retire_worker()
        return [body]

    def _route(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, bytes, str]:
        if path == "/invocations":
            if method != "POST":
                raise MethodNotAllowed("use POST for /invocations")
            body = self._read_body(environ)
            accept = environ.get("HTTP_ACCEPT")
            content_type = environ.get("CONTENT_TYPE") or environ.get("HTTP_CONTENTTYPE")
            try:
                with _deadline(self.timeout_seconds):
                    payload, response_type = self.service.invoke(body, content_type, accept)
            except _DeadlineExpired:
                raise RequestTimedOut(f"the request did not finish within {self.timeout_seconds:g} s") from None
            return 200, payload, response_type
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowed("use GET for /ping")
            summary = self.health.summary()
            document = json.dumps({"status": summary.status, "message": summary.message}).encode()
            return (200 if summary.healthy else 503), document, _JSON
        if path == "/execution-parameters":
            if method != "GET":
                raise MethodNotAllowed("use GET for /execution-parameters")
            return 200, self.execution_parameters, _JSON
        raise NotFound(f"no route {path!r}: use /ping, /invocations or /execution-parameters")

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


def _discard(stream: Any, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


def _error(error: ServingError) -> tuple[int, bytes, str]:
    return error.status, json.dumps({"error": error.error, "message": error.message}).encode(), _JSON


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
