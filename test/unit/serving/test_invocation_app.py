"""The serving data plane in-process: the WSGI app and the inference service, with no gunicorn.

Walks the error table: every status the app answers, with its JSON body, for the request that
causes it. The same cases run through gunicorn in test/functional/serving.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from container_runtime.serving.errors import InvalidInput
from container_runtime.serving.handlers import Handlers
from container_runtime.serving.health import WorkerHealth
from container_runtime.serving.service import InferenceService
from container_runtime.serving.wsgi import InvocationApp

LIMIT = 1000


class Teapot(Exception):
    status_code = 418


def _input_fn(body: Any, content_type: str) -> Any:
    if body == "bad":
        raise InvalidInput("the model takes numbers")
    if body == "teapot":
        raise Teapot("short and stout")
    if body == "slow":
        time.sleep(5)
    return body


def _predict_fn(data: Any, model: Any) -> Any:
    if data == "crash":
        raise ZeroDivisionError("division by zero")
    return {"echo": data, "model": model}


def _output_fn(prediction: Any, accept: str) -> Any:
    if prediction["echo"] == "not bytes":
        return 42
    return json.dumps(prediction), accept


def handlers(model_fn: Callable[[str], Any] = lambda model_dir: "the model") -> Handlers:
    return Handlers(model_fn=model_fn, input_fn=_input_fn, predict_fn=_predict_fn, output_fn=_output_fn,
                    transform_fn=None, user_defined=frozenset(), output_types=("application/json",))


class Client:
    def __init__(self, tmp_path: Path, model_fn: Callable[[str], Any] | None = None, load: bool = True) -> None:
        health_dir = tmp_path / "health"
        health_dir.mkdir()
        self.health = WorkerHealth(health_dir, expected_workers=1)
        self.service = InferenceService(handlers(model_fn) if model_fn else handlers(), str(tmp_path), "application/json",
                                        self.health)
        if load:
            self.service.load()
        else:
            self.health.report("loading")
        self.retired: list[bool] = []
        self.app = InvocationApp(self.service, self.health, max_payload_bytes=LIMIT, timeout_seconds=0.5,
                                 max_concurrent_transforms=2, retire_worker=lambda: self.retired.append(True))

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                content_length: str | None = None) -> tuple[int, dict[str, str], Any]:
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
                                   "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length}
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        answered: list[Any] = []
        chunks = self.app(environ, lambda status, response_headers: answered.append((status, response_headers)))
        status, response_headers = answered[0]
        payload = b"".join(chunks)
        header_map = dict(response_headers)
        assert header_map["Content-Length"] == str(len(payload))
        document = json.loads(payload) if header_map["Content-Type"] == "application/json" else payload
        return int(status.split()[0]), header_map, document


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(tmp_path)


def post(client: Client, body: str, **headers: str) -> tuple[int, dict[str, str], Any]:
    return client.request("POST", "/invocations", body.encode(), {"Content-Type": "text/csv", **headers})


def test_a_prediction_and_the_health_and_parameters_routes(client: Client) -> None:
    assert post(client, "1,2")[::2] == (200, {"echo": "1,2", "model": "the model"})
    assert client.request("GET", "/ping")[::2] == (200, {"status": "ready", "message": "1 worker(s) ready"})
    assert client.request("HEAD", "/ping")[0] == 200
    assert client.request("GET", "/execution-parameters")[2] == {
        "MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 1}


@pytest.mark.parametrize(
    ("method", "path", "body", "extra", "status", "error"),
    [
        pytest.param("GET", "/predict", "", {}, 404, "NotFound", id="unknown-route"),
        pytest.param("GET", "/invocations", "", {}, 405, "MethodNotAllowed", id="get-invocations"),
        pytest.param("POST", "/ping", "", {}, 405, "MethodNotAllowed", id="post-ping"),
        pytest.param("POST", "/execution-parameters", "", {}, 405, "MethodNotAllowed", id="post-parameters"),
        pytest.param("POST", "/invocations", "bad", {}, 400, "InvalidInput", id="handler-invalid-input"),
        pytest.param("POST", "/invocations", "teapot", {}, 418, "Teapot", id="status-code-attribute"),
        pytest.param("POST", "/invocations", "1", {"Accept": "image/png"}, 406, "NotAcceptable", id="not-acceptable"),
        pytest.param("POST", "/invocations", "x" * (LIMIT + 1), {}, 413, "PayloadTooLarge", id="over-the-limit"),
        pytest.param("POST", "/invocations", "crash", {}, 500, "HandlerFailed", id="predict-raises"),
        pytest.param("POST", "/invocations", "not bytes", {}, 500, "HandlerFailed", id="output-not-bytes"),
        pytest.param("POST", "/invocations", "slow", {}, 504, "RequestTimedOut", id="timed-out"),
    ],
)
def test_the_error_table(client: Client, method: str, path: str, body: str, extra: dict[str, str], status: int,
                         error: str) -> None:
    answered, headers, document = client.request(method, path, body.encode(), {"Content-Type": "text/csv", **extra})
    assert (answered, headers["Content-Type"], document["error"]) == (status, "application/json", error)
    assert isinstance(document["message"], str) and document["message"]
    assert client.retired == ([True] if status == 504 else [])  # a timed-out worker is replaced


def test_a_bad_content_length_and_a_body_over_the_limit_without_one(client: Client) -> None:
    assert client.request("POST", "/invocations", b"1", content_length="ten")[::2] == (
        400, {"error": "InvalidInput", "message": "invalid Content-Length 'ten'"})
    assert client.request("POST", "/invocations", b"x" * (LIMIT + 5), content_length="")[0] == 413


def test_a_text_body_that_is_not_utf8_is_invalid_input(client: Client) -> None:
    status, _, document = client.request("POST", "/invocations", b"\xff\xfe", {"Content-Type": "text/csv"})
    assert (status, document["error"]) == (400, "InvalidInput")
    assert "must be UTF-8" in document["message"]


def test_while_the_model_loads_ping_and_invocations_answer_503(tmp_path: Path) -> None:
    client = Client(tmp_path, load=False)
    assert client.request("GET", "/ping")[::2] == (
        503, {"status": "loading", "message": "0 of 1 workers have loaded the model"})
    assert post(client, "1")[::2] == (503, {"error": "ModelNotReady", "message": "the model is still loading"})


def test_a_failed_model_fn_is_reported_by_ping_and_invocations(tmp_path: Path) -> None:
    def broken(model_dir: str) -> Any:
        raise RuntimeError("weights file is corrupt")

    client = Client(tmp_path, model_fn=broken)
    status, _, document = client.request("GET", "/ping")
    assert (status, document["status"]) == (503, "failed")
    assert document["message"] == "model_fn failed in 1 worker(s): RuntimeError: weights file is corrupt"
    assert post(client, "1")[::2] == (503, {"error": "ModelNotReady", "message": "RuntimeError: weights file is corrupt"})
