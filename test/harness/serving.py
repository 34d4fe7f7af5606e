"""Starting a real `serve` process on a free port and talking HTTP to it."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_command() -> list[str]:
    script = Path(sys.executable).parent / "serve"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "container_runtime.cli.serve"]


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


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
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            serve_command(), env=environment, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                self.ping()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"serve did not listen within {timeout} s:\n{self.log()}")

    def wait_ready(self, timeout: float = 60) -> None:
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        while self.ping().status != 200:
            if time.monotonic() > deadline:
                raise AssertionError(f"/ping never became 200:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()
        return self.process.returncode
