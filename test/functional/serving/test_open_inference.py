"""The Open Inference Protocol (v2) routes, through Triton's own HTTP client and raw requests."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from harness.serving import WEIGHTS, Server

NAME = "linear"


@pytest.fixture(params=["unbatched", "batched"])
def v2_server(request: pytest.FixtureRequest, start_server: Callable[..., Server]) -> Server:
    env = {"SAGEMAKER_MODEL_NAME": NAME}
    if request.param == "batched":
        env["SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE"] = "16"
    server = start_server("batch_model.py", env=env, workers=1)
    server.wait_ready()
    return server


def client(server: Server) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")


@pytest.mark.parametrize("binary", [False, True], ids=["json-data", "binary-data"])
def test_tritonclient_health_metadata_and_infer(v2_server: Server, binary: bool) -> None:
    triton_client = client(v2_server)
    try:
        assert triton_client.is_server_live()
        assert triton_client.is_server_ready()
        assert triton_client.is_model_ready(NAME)
        assert not triton_client.is_model_ready("other")
        assert triton_client.get_model_metadata(NAME)["name"] == NAME
        rows = np.arange(12, dtype=np.float32).reshape(4, 3)
        tensor = triton.InferInput("x", list(rows.shape), "FP32")
        tensor.set_data_from_numpy(rows, binary_data=binary)
        wanted = triton.InferRequestedOutput("output-0", binary_data=binary)
        result = triton_client.infer(NAME, [tensor], outputs=[wanted], request_id="r-1")
        np.testing.assert_allclose(result.as_numpy("output-0"), rows @ WEIGHTS)
        assert result.get_response()["id"] == "r-1"
        with pytest.raises(InferenceServerException, match="no model 'other'"):
            triton_client.infer("other", [tensor])
        bad = triton.InferInput("x", [1, 2], "FP32")
        bad.set_data_from_numpy(np.ones((1, 2), dtype=np.float32), binary_data=binary)
        with pytest.raises(InferenceServerException, match="expected rows of 3 values"):
            triton_client.infer(NAME, [bad])
    finally:
        triton_client.close()


def test_raw_requests_and_the_v2_error_shape(v2_server: Server) -> None:
    infer = f"/v2/models/{NAME}/infer"
    body = {"id": "7", "inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}]}
    reply = v2_server.request("POST", infer, json.dumps(body).encode())
    assert reply.status == 200, reply.body
    document = reply.json()
    assert document["model_name"] == NAME and document["id"] == "7"
    [output] = document["outputs"]
    assert output["shape"] == [1, 2] and output["data"] == [4.0, 5.0]
    assert v2_server.request("GET", "/v2/health/live").status == 200
    assert v2_server.request("GET", "/v2/health/ready").json() == {"ready": True}
    assert v2_server.request("GET", f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}
    for payload, status, words in [
        (b"{", 400, "not valid JSON"),
        (b'{"inputs": []}', 400, "non-empty 'inputs'"),
        (json.dumps({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1]}]}).encode(),
         400, "do not fill shape"),
        (json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}).encode(),
         400, "datatype 'BYTES'"),
        (json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [-2, 0, 0]}]}).encode(),
         500, "bug in predict_fn"),
    ]:
        reply = v2_server.request("POST", infer, payload)
        assert reply.status == status, reply.body
        assert list(reply.json()) == ["error"] and words in reply.json()["error"]
    reply = v2_server.request("GET", infer)
    assert reply.status == 405 and list(reply.json()) == ["error"]

