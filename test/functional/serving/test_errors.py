"""Each error code, with its one JSON body shape and no traceback sent to the client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.serving import Server, npy_bytes

GOOD = b"[[1, 2, 3]]"


CASES = [
    ("unsupported content type", GOOD, "text/plain", None, 415, "UnsupportedContentType"),
    ("no acceptable output", GOOD, "application/json", "image/png", 406, "NotAcceptable"),
    ("JSON that does not parse", b"[[1, 2", "application/json", None, 400, "InvalidInput"),
    ("ragged JSON", b"[[1, 2, 3], [4]]", "application/json", None, 400, "InvalidInput"),
    ("CSV with words", b"a,b,c\n", "text/csv", None, 400, "InvalidInput"),
    ("corrupt NPY", b"\x93NUMPY garbage", "application/x-npy", None, 400, "InvalidInput"),
    ("pickled NPY", npy_bytes(np.array([{"a": 1}], dtype=object), allow_pickle=True), "application/x-npy", None, 400, "InvalidInput"),
    ("not UTF-8", b"\xff\xfe", "text/csv", None, 400, "InvalidInput"),
    ("wrong shape (model's own 400)", b"[[1, 2]]", "application/json", None, 400, "InvalidInput"),
    ("exception in predict_fn", b"[[-2, 0, 0]]", "application/json", None, 500, "HandlerFailed"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "error"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_error_codes(server: Server, body: bytes, content_type: str, accept: str | None, status: int, error: str) -> None:
    reply = server.invoke(body, content_type, accept)
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/json"
    document = reply.json()
    assert set(document) == {"error", "message"}
    assert document["error"] == error
    assert "Traceback" not in document["message"]


def test_handler_failure_names_the_function_and_logs_the_traceback(server: Server) -> None:
    reply = server.invoke(b"[[-2, 0, 0]]", "application/json")
    assert reply.json()["message"] == "predict_fn raised ZeroDivisionError: bug in predict_fn"
    time.sleep(0.2)
    assert "Traceback" in server.log() and "ZeroDivisionError" in server.log()


def test_pickled_npy_is_allowed_only_when_the_operator_opts_in(start_server: Callable[..., Server]) -> None:
    server = start_server(env={"SAGEMAKER_NPY_ALLOW_PICKLE": "true"}, workers=1)
    server.wait_ready()
    reply = server.invoke(npy_bytes(np.array([[1, 2, 3]], dtype=object), allow_pickle=True), "application/x-npy")
    assert reply.status == 200
    assert reply.json() == [[4.0, 5.0]]


@pytest.mark.parametrize(("path", "method", "status"), [("/nowhere", "GET", 404), ("/", "POST", 404),
                                                        ("/invocations", "GET", 405), ("/ping", "POST", 405)])
def test_routes(server: Server, path: str, method: str, status: int) -> None:
    reply = server.request(method, path, b"" if method == "POST" else None)
    assert reply.status == status
    assert set(reply.json()) == {"error", "message"}


def test_execution_parameters(server: Server) -> None:
    reply = server.request("GET", "/execution-parameters")
    assert reply.status == 200
    assert reply.json() == {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


def test_payload_at_the_limit_and_one_byte_over(start_server: Callable[..., Server]) -> None:
    limit = 1024 * 1024  # SAGEMAKER_MAX_PAYLOAD_IN_MB=1 means 1 MiB
    server = start_server(env={"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}, workers=1)
    server.wait_ready()
    row = b"1,2,3\n"
    at_limit = row * (limit // len(row)) + b"1" * (limit % len(row))
    assert len(at_limit) == limit
    reply = server.invoke(at_limit, "text/csv")
    assert reply.status != 413, reply.body
    assert reply.status == 400  # the last line "1111" has one column: the model refuses it, the server took it
    over = at_limit + b"1"
    reply = server.invoke(over, "text/csv")
    assert reply.status == 413
    assert reply.json()["error"] == "PayloadTooLarge"
    valid_at_limit = json.dumps([[1, 2, 3]]).encode().ljust(limit, b" ")
    assert server.invoke(valid_at_limit, "application/json").status == 200


def test_slow_request_gets_504_and_the_worker_is_replaced(start_server: Callable[..., Server], tmp_path: Path) -> None:
    server = start_server(env={"SAGEMAKER_MODEL_SERVER_TIMEOUT": "1", "SLOW_SECONDS": "30"}, workers=1)
    server.wait_ready()
    started = time.monotonic()
    reply = server.invoke(b"[[-1, 0, 0]]", "application/json")
    assert reply.status == 504
    assert reply.json()["error"] == "RequestTimedOut"
    assert time.monotonic() - started < 10
    server.wait_ready()
    assert server.invoke(GOOD, "application/json").status == 200
    loads = (tmp_path / "model" / "loads.log").read_text().split()
    assert len(loads) == 2 and loads[0] != loads[1]
