"""TensorFlow's default serving handlers behind a real `serve`, with TF Serving's REST shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.serving import Server, decode_body, npy_bytes

tf = pytest.importorskip("tensorflow", reason="TensorFlow serving tests need tensorflow")
keras = pytest.importorskip("keras")

W = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
ROWS = [[1, 2, 3], [4, 5, 6]]
EXPECTED = [[4.0, 5.0], [10.0, 11.0]]
FRAMEWORK = {"SAGEMAKER_SERVING_FRAMEWORK": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}


def linear_model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, use_bias=False)])
    model.layers[0].set_weights([W])
    return model


def named_model() -> keras.Model:
    a = keras.Input((2,), name="a")
    b = keras.Input((1,), name="b")
    total = keras.layers.Lambda(lambda t: tf.reduce_sum(t[0], axis=1, keepdims=True) + t[1], name="sum")([a, b])
    double = keras.layers.Lambda(lambda t: t * 2, name="double")(a)
    return keras.Model({"a": a, "b": b}, {"sum": total, "double": double})


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, Callable[[Path], None]], Server]]:
    servers: list[Server] = []

    def start_server(name: str, build: Callable[[Path], None]) -> Server:
        base = tmp_path_factory.mktemp(name)
        (base / "model").mkdir()
        build(base / "model")
        server = Server(base, FRAMEWORK, workers=1)
        servers.append(server)
        server.wait_ready(timeout=120)
        return server

    yield start_server
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def linear(start: Callable[[str, Callable[[Path], None]], Server]) -> Server:
    return start("linear", lambda model_dir: linear_model().export(str(model_dir / "1"), verbose=False))


@pytest.mark.parametrize(
    "body",
    [{"instances": ROWS}, ROWS, {"inputs": ROWS}, {"instances": [{"keras_tensor": row} for row in ROWS]}],
    ids=["instances", "bare-list", "inputs", "named-instances"],
)
def test_json_rest_shapes(linear: Server, body: object) -> None:
    reply = linear.invoke(json.dumps(body).encode(), "application/json")
    assert reply.status == 200, reply.body
    assert reply.json() == {"predictions": EXPECTED}


def test_a_flat_list_is_one_instance(linear: Server) -> None:
    assert linear.invoke(b"[1, 2, 3]", "application/json").json() == {"predictions": [EXPECTED[0]]}


def test_csv_lines_are_instances(linear: Server) -> None:
    assert linear.invoke(b"1,2,3\n4,5,6\n", "text/csv").json() == {"predictions": EXPECTED}


@pytest.mark.parametrize("accept", ["application/x-npy", "text/csv", "application/jsonlines"])
def test_npy_in_and_other_types_out(linear: Server, accept: str) -> None:
    reply = linear.invoke(npy_bytes(np.array(ROWS, dtype=np.float32)), "application/x-npy", accept)
    assert reply.status == 200 and reply.headers["content-type"] == accept
    np.testing.assert_allclose(decode_body(reply.body, accept), EXPECTED)


def test_served_predictions_equal_in_process_ones(linear: Server) -> None:
    rows = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    served = np.array(linear.invoke(json.dumps({"instances": rows.tolist()}).encode(), "application/json").json()["predictions"])
    np.testing.assert_allclose(served, linear_model()(rows).numpy(), rtol=1e-6)


def test_wrong_input_names_are_a_400(linear: Server) -> None:
    reply = linear.invoke(json.dumps({"instances": [{"nope": [1, 2, 3]}]}).encode(), "application/json")
    assert reply.status == 400
    assert "missing ['keras_tensor']" in reply.json()["message"]


def test_named_inputs_and_outputs(start: Callable[[str, Callable[[Path], None]], Server]) -> None:
    server = start("named", lambda model_dir: named_model().export(str(model_dir / "7"), verbose=False))
    body = {"instances": [{"a": [1, 2], "b": [3]}, {"a": [0, 1], "b": [-1]}]}
    reply = server.invoke(json.dumps(body).encode(), "application/json")
    assert reply.status == 200, reply.body
    assert reply.json() == {"predictions": [{"sum": [6.0], "double": [2.0, 4.0]}, {"sum": [0.0], "double": [0.0, 2.0]}]}
    columnar = server.invoke(json.dumps({"inputs": {"a": [[1, 2]], "b": [[3]]}}).encode(), "application/json")
    assert columnar.json() == {"predictions": [{"sum": [6.0], "double": [2.0, 4.0]}]}
    assert server.invoke(json.dumps(body).encode(), "application/json", "application/x-npy").status == 406


def test_legacy_servo_export_and_newest_version(start: Callable[[str, Callable[[Path], None]], Server]) -> None:
    def build(model_dir: Path) -> None:
        old = linear_model()
        old.layers[0].set_weights([W * 0])
        old.export(str(model_dir / "export" / "Servo" / "1500000000"), verbose=False)
        linear_model().export(str(model_dir / "export" / "Servo" / "1700000000"), verbose=False)

    server = start("servo", build)
    assert server.invoke(json.dumps(ROWS).encode(), "application/json").json() == {"predictions": EXPECTED}


def test_keras_file_fallback(start: Callable[[str, Callable[[Path], None]], Server]) -> None:
    server = start("keras-file", lambda model_dir: linear_model().save(str(model_dir / "model.keras")))
    assert server.invoke(json.dumps(ROWS).encode(), "application/json").json() == {"predictions": EXPECTED}


def test_no_model_is_reported_on_ping(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    server = Server(tmp_path, FRAMEWORK, workers=1)
    try:
        server.wait_listening()
        deadline = time.monotonic() + 120
        reply = server.ping()
        while reply.json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.2)
            reply = server.ping()
        assert reply.status == 503
        assert "no SavedModel" in reply.json()["message"]
    finally:
        server.stop()



BODIES = {
    "application/json": json.dumps({"instances": ROWS}).encode(),
    "text/csv": b"1,2,3\n4,5,6\n",
    "application/x-npy": npy_bytes(np.array(ROWS, dtype=np.float32)),
    "application/jsonlines": b"[1, 2, 3]\n[4, 5, 6]\n",
}


@pytest.mark.parametrize("accept", ["application/json", "application/x-npy", "text/csv", "application/jsonlines"])
@pytest.mark.parametrize("content_type", list(BODIES))
def test_every_content_type_both_ways(linear: Server, content_type: str, accept: str) -> None:
    reply = linear.invoke(BODIES[content_type], content_type, accept)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == accept
    if accept == "application/json":
        assert reply.json() == {"predictions": EXPECTED}
    else:
        np.testing.assert_allclose(decode_body(reply.body, accept), EXPECTED)


def test_unsupported_request_type_is_a_415(linear: Server) -> None:
    assert linear.invoke(b"1 2 3", "text/plain").status == 415
