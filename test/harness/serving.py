"""Starting a real `serve` process on a free port and talking HTTP to it."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from container_runtime.local.backends.commands import runtime_command
from container_runtime.process import ProcessGroup
from harness.jobs import SCRIPTS

#: The weights of test/scripts/serving/linear_model.py: y = x @ WEIGHTS.
WEIGHTS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)


def npy_bytes(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    """An array as the body of an `application/x-npy` request."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def request_bodies(rows: list[list[float]]) -> dict[str, bytes]:
    """The same rows in each request content type `serve` decodes."""
    return {
        "application/x-npy": npy_bytes(np.array(rows, dtype=np.float32)),
        "application/json": json.dumps(rows).encode(),
        "text/csv": "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode(),
        "application/jsonlines": "".join(json.dumps(row) + "\n" for row in rows).encode(),
    }


def decode_body(body: bytes, content_type: str) -> np.ndarray:
    """A response body as an array, for each response content type `serve` encodes."""
    if content_type == "application/x-npy":
        return np.load(io.BytesIO(body), allow_pickle=False)
    if content_type == "application/json":
        return np.array(json.loads(body))
    if content_type == "text/csv":
        return np.array([[float(v) for v in line.split(",")] for line in body.decode().splitlines()])
    if content_type == "application/jsonlines":
        return np.array([json.loads(line) for line in body.decode().splitlines()])
    raise AssertionError(f"no decoder for {content_type}")


def make_model_dir(base: Path, module: str = "linear_model.py") -> Path:
    """`<base>/model` with the weights and `code/<module>` from test/scripts/serving."""
    model = base / "model"
    (model / "code").mkdir(parents=True, exist_ok=True)
    np.save(model / "weights.npy", WEIGHTS)
    shutil.copy(SCRIPTS / "serving" / module, model / "code" / module)
    return model


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at `host` now (0.0.0.0 for a server that binds every address)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve_command() -> list[str]:
    return runtime_command("serve")


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float = 30) -> Reply:
    """One HTTP request to 127.0.0.1:`port`; OSError while nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def wait_for_ping(port: int, server: ProcessGroup, timeout: float, *, ready: bool = True) -> str | None:
    """Wait until GET /ping answers (200 when `ready`, any status otherwise); None, or why it did not."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while time.monotonic() < deadline:
        code = server.wait(0)
        if code is not None:
            return f"exited with {code} before answering /ping"
        try:
            status = http_request(port, "GET", "/ping", timeout=2).status
        except OSError:
            status = None  # not listening yet
        if status is not None and (status == 200 or not ready):
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    return f"no {'200 from ' if ready else 'answer to '}GET /ping within {timeout:.0f} s"


class Server:
    """A `serve` process for one test; `stop()` sends SIGTERM and returns the exit code."""

    def __init__(self, base: Path, env: Mapping[str, str] | None = None, workers: int = 2) -> None:
        self.port = free_port()
        self.log_path = base / "serve.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "SM_"))}
        environment.update(
            SAGEMAKER_BASE_DIR=str(base),
            SAGEMAKER_BIND_TO_PORT=str(self.port),
            SAGEMAKER_MODEL_SERVER_WORKERS=str(workers),
        )
        environment.update(env or {})
        self.process = ProcessGroup.start(serve_command(), label="serve", output=self.log_path, env=environment)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        return http_request(self.port, method, path, body, headers, timeout)

    def invoke(self, body: bytes, content_type: str | None = None, accept: str | None = None, **extra: str) -> Reply:
        headers = dict(extra)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        return self.request("POST", "/invocations", body, headers)

    def ping(self) -> Reply:
        return self.request("GET", "/ping")

    def wait_listening(self, timeout: float = 60) -> None:
        problem = wait_for_ping(self.port, self.process, timeout, ready=False)
        if problem is not None:
            raise AssertionError(f"serve {problem}:\n{self.log()}")

    def wait_ready(self, timeout: float = 60) -> None:
        problem = wait_for_ping(self.port, self.process, timeout)
        if problem is not None:
            raise AssertionError(f"serve {problem}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM to serve only (gunicorn's master ends its workers), SIGKILL to the group after `timeout`."""
        code = self.process.wait(0)
        if code is None:
            self.process.signal_leader(signal.SIGTERM)
            code = self.process.wait(timeout)
            if code is None:
                code = self.process.stop(0)
        assert code is not None
        return code
