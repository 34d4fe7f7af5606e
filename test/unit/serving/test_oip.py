"""Open Inference Protocol bodies: JSON and binary tensors in, outputs as the request asks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from container_runtime.serving.errors import InvalidInput
from container_runtime.serving.oip import encode_response, parse_request


def test_json_tensor_and_named_inputs() -> None:
    one = parse_request(json.dumps({"id": 3, "inputs": [
        {"name": "x", "shape": [2, 2], "datatype": "INT32", "data": [[1, 2], [3, 4]]}]}).encode(), None)
    assert one.id == "3" and one.inputs.dtype == np.int32 and one.inputs.tolist() == [[1, 2], [3, 4]]
    two = parse_request(json.dumps({"inputs": [
        {"name": "a", "shape": [1], "datatype": "FP64", "data": [1.5]},
        {"name": "b", "shape": [1], "datatype": "BOOL", "data": [True]}]}).encode(), None)
    assert set(two.inputs) == {"a", "b"} and two.inputs["b"].dtype == np.bool_


def test_binary_tensor_extension_both_ways() -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    header = json.dumps({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
                                     "parameters": {"binary_data_size": array.nbytes}}],
                         "outputs": [{"name": "output-0", "parameters": {"binary_data": True}}]}).encode()
    request = parse_request(header + array.tobytes(), str(len(header)))
    assert request.inputs.tolist() == array.tolist()
    body, headers = encode_response(request.inputs * 2, request, "m")
    length = int(headers["Inference-Header-Content-Length"])
    document = json.loads(body[:length])
    assert document["outputs"][0]["parameters"]["binary_data_size"] == array.nbytes
    assert np.frombuffer(body[length:], dtype=np.float32).tolist() == (array * 2).ravel().tolist()


@pytest.mark.parametrize(("body", "words"), [
    (b"[1]", "non-empty 'inputs'"),
    (json.dumps({"inputs": [{"name": "x", "shape": [3], "datatype": "FP8", "data": [1, 2, 3]}]}), "datatype 'FP8'"),
    (json.dumps({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}), "non-negative"),
    (json.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2, 3]}]}), "do not fill"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": ["a"]}]}), "data is not INT8"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32",
                             "parameters": {"binary_data_size": 4}}]}), "outside the binary data"),
])
def test_bad_requests_name_the_problem(body: bytes | str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_request(body.encode() if isinstance(body, str) else body, None)


def test_unknown_requested_output_is_refused() -> None:
    request = parse_request(json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
                                        "outputs": [{"name": "nope"}]}).encode(), None)
    with pytest.raises(InvalidInput, match="unknown output"):
        encode_response(np.ones(1), request, "m")
