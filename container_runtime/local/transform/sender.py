"""Sending requests to the endpoint: several at once, answers handed back in input order.

Each sending thread keeps its own HTTP connection to the loopback endpoint (reopened when
serve closes it). At most twice `concurrency` requests are out or waiting to be written, so
memory stays bounded however large the input is.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from container_runtime.local.errors import LocalModeFailure
from container_runtime.local.predictor import error_line
from container_runtime.local.transform.records import Batch, FileEnd

#: Seconds one request may take (SageMaker's default invocation timeout for transform jobs).
INVOCATION_TIMEOUT_S = 600.0


class RecordRefused(Exception):
    """The endpoint answered a request with an error status; `reason` is its one-line message."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BatchRefused(Exception):
    """`batch` was refused: `refusal` says how."""

    def __init__(self, batch: Batch, refusal: RecordRefused) -> None:
        super().__init__(refusal.reason)
        self.batch = batch
        self.refusal = refusal


class BatchFailed(Exception):
    """`batch` got no answer: serve closed the connection, died or did not answer in time."""

    def __init__(self, batch: Batch, reason: str) -> None:
        super().__init__(reason)
        self.batch = batch
        self.reason = reason


class Invoker:
    """POST /invocations on a loopback port with the job's content type and accept."""

    def __init__(self, port: int, *, content_type: str | None, accept: str | None,
                 timeout: float = INVOCATION_TIMEOUT_S) -> None:
        self.port = port
        self.timeout = timeout
        self.headers = {"Content-Type": content_type} if content_type else {}
        if accept:
            self.headers["Accept"] = accept
        self._local = threading.local()

    def invoke(self, body: bytes) -> bytes:
        """The answer's bytes; RecordRefused for an error status, LocalModeFailure when serve is gone."""
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", "/invocations", body=body, headers=self.headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                # A kept-alive connection serve had closed: once more on a fresh one.
                connection.close()
                if attempt == 2:
                    raise LocalModeFailure(f"the endpoint closed the connection: {error}") from None
                continue
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                what = f"no answer within {self.timeout:g} s" if isinstance(error, TimeoutError) else str(error)
                raise LocalModeFailure(f"the endpoint at 127.0.0.1:{self.port} stopped answering: {what}") from None
            if response.status != 200:
                raise RecordRefused(response.status, error_line(response.status, payload))
            return payload
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.connection = connection
        return connection


def execution_parameters(port: int, timeout: float = 10.0) -> dict[str, Any]:
    """The endpoint's GET /execution-parameters, or {} when it has none (SageMaker's defaults then apply)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/execution-parameters")
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        raise LocalModeFailure(f"the endpoint at 127.0.0.1:{port} did not answer /execution-parameters: {error}"
                               ) from None
    finally:
        connection.close()
    if response.status != 200:
        return {}
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def send_in_order(
    items: Iterable[Batch | FileEnd], invoke: Callable[[bytes], bytes], concurrency: int
) -> Iterator[tuple[Batch | FileEnd, bytes]]:
    """(item, answer) for each item in input order; a FileEnd comes back with b"" once its file's
    batches have. A refused batch raises BatchRefused, one with no answer BatchFailed; nothing after
    it is handed back."""
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="transform")
    window: deque[tuple[Batch | FileEnd, Future[bytes] | None]] = deque()
    limit = 2 * concurrency
    try:
        for item in items:
            future = executor.submit(invoke, item.body) if isinstance(item, Batch) else None
            window.append((item, future))
            while len(window) > limit:
                yield _settled(*window.popleft())
        while window:
            yield _settled(*window.popleft())
    finally:
        for _, pending in window:
            if pending is not None:
                pending.cancel()
        executor.shutdown(wait=False, cancel_futures=True)


def _settled(item: Batch | FileEnd, future: Future[bytes] | None) -> tuple[Batch | FileEnd, bytes]:
    if future is None or not isinstance(item, Batch):
        return item, b""
    try:
        return item, future.result()
    except RecordRefused as refusal:
        raise BatchRefused(item, refusal) from None
    except LocalModeFailure as failure:
        raise BatchFailed(item, str(failure)) from None


