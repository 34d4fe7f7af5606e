"""Chainer's default serving handlers behind a real `serve`: every content type both ways."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.serving import Server, decode_body, make_model_dir, request_bodies

pytest.importorskip("chainer", reason="Chainer serving tests need chainer (pip install 'container-runtime[chainer]')")

ROWS = [[1, 2, 3], [4, 5, 6]]
EXPECTED = [[4.0, 5.0], [10.0, 11.0]]


BODIES = request_bodies(ROWS)


@pytest.fixture(scope="module")
def chainer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base: Path = tmp_path_factory.mktemp("chainer-serving")
    make_model_dir(base, "chainer_linear.py")
    server = Server(base, {"SAGEMAKER_PROGRAM": "chainer_linear.py", "SAGEMAKER_SERVING_FRAMEWORK": "chainer"}, workers=1)
    server.wait_ready()
    yield server
    assert server.stop() == 0


@pytest.mark.parametrize("accept", list(BODIES))
@pytest.mark.parametrize("content_type", list(BODIES))
def test_every_content_type_both_ways(chainer_server: Server, content_type: str, accept: str) -> None:
    reply = chainer_server.invoke(BODIES[content_type], content_type, accept)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == accept
    np.testing.assert_allclose(decode_body(reply.body, accept), EXPECTED)


def test_json_becomes_float32_and_npy_keeps_its_dtype(chainer_server: Server) -> None:
    reply = chainer_server.invoke(BODIES["application/json"], "application/json", "application/x-npy")
    assert np.load(io.BytesIO(reply.body)).dtype == np.float32


@pytest.mark.parametrize(("content_type", "accept", "status"),
                         [("text/plain", None, 415), ("application/json", "image/png", 406)])
def test_unsupported_types(chainer_server: Server, content_type: str, accept: str | None, status: int) -> None:
    reply = chainer_server.invoke(BODIES["application/json"], content_type, accept)
    assert reply.status == status
    assert set(reply.json()) == {"error", "message"}


def test_missing_model_fn_names_the_script(tmp_path: Path) -> None:
    make_model_dir(tmp_path, "transform_model.py")
    code = tmp_path / "model" / "code"
    (code / "nothing.py").write_text("X = 1\n")
    server = Server(tmp_path, {"SAGEMAKER_PROGRAM": "nothing.py", "SAGEMAKER_SERVING_FRAMEWORK": "chainer"}, workers=1)
    try:
        server.wait_listening()
        deadline_reply = server.ping()
        for _ in range(50):
            if deadline_reply.json()["status"] == "failed":
                break
            deadline_reply = server.ping()
        assert deadline_reply.status == 503
        assert "model_fn(model_dir) in nothing.py" in deadline_reply.json()["message"]
    finally:
        server.stop()
