"""The Open Inference Protocol (KServe v2) REST bodies: JSON tensors in, JSON tensors out.

Supports JSON `data` and the binary tensor extension (`Inference-Header-Content-Length`, each
input's `binary_data_size`) that Triton's clients use by default. A single input reaches
`predict_fn` as an array (so it batches like any array request); several inputs arrive as a dict
of arrays keyed by input name. No numpy at import time.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from container_runtime.serving.errors import InvalidInput

#: OIP datatype -> numpy dtype string.
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
}
HEADER_LENGTH = "HTTP_INFERENCE_HEADER_CONTENT_LENGTH"


class InferRequest(NamedTuple):
    id: str | None
    inputs: Any
    #: Requested output names (None: all) and whether each is wanted as binary data.
    binary_outputs: dict[str, bool] | None
    binary_default: bool


def parse_request(body: bytes, header_length: str | None) -> InferRequest:
    """The request's inputs (one array, or a dict of arrays); InvalidInput naming what is wrong."""
    import numpy as np

    binary = b""
    if header_length:
        try:
            length = int(header_length)
        except ValueError:
            raise InvalidInput(f"invalid Inference-Header-Content-Length {header_length!r}") from None
        if not 0 <= length <= len(body):
            raise InvalidInput(f"Inference-Header-Content-Length {length} is outside the body of {len(body)} bytes")
        body, binary = body[:length], body[length:]
    try:
        document = json.loads(body)
    except ValueError as error:
        raise InvalidInput(f"the inference request is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list) or not document["inputs"]:
        raise InvalidInput("the inference request needs a non-empty 'inputs' list")
    arrays: dict[str, Any] = {}
    offset = 0
    for position, tensor in enumerate(document["inputs"]):
        if not isinstance(tensor, dict):
            raise InvalidInput(f"inputs[{position}] is not an object")
        name = tensor.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"inputs[{position}] has no name")
        datatype = tensor.get("datatype")
        if datatype not in DATATYPES:
            raise InvalidInput(f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
        shape = tensor.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise InvalidInput(f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}")
        dtype = np.dtype(DATATYPES[datatype])
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise InvalidInput(f"input {name!r}: binary_data_size {size!r} is outside the binary data")
            raw = binary[offset:offset + size]
            offset += size
            if size % dtype.itemsize:
                raise InvalidInput(f"input {name!r}: {size} bytes is not a whole number of {datatype} values")
            flat = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
        else:
            try:
                flat = np.asarray(tensor.get("data"), dtype=dtype).reshape(-1)
            except (TypeError, ValueError, OverflowError) as error:
                raise InvalidInput(f"input {name!r}: data is not {datatype}: {error}") from None
        try:
            arrays[name] = flat.reshape(shape)
        except ValueError:
            raise InvalidInput(f"input {name!r}: {flat.size} values do not fill shape {shape}") from None
    parameters = document.get("parameters") or {}
    binary_default = bool(parameters.get("binary_data_output", False)) if isinstance(parameters, dict) else False
    requested = document.get("outputs")
    outputs: dict[str, bool] | None = None
    if isinstance(requested, list) and requested:
        outputs = {}
        for entry in requested:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                wanted = (entry.get("parameters") or {}).get("binary_data", binary_default)
                outputs[entry["name"]] = bool(wanted)
    inputs = next(iter(arrays.values())) if len(arrays) == 1 else arrays
    request_id = document.get("id")
    return InferRequest(str(request_id) if request_id is not None else None, inputs, outputs, binary_default)


def encode_response(
    prediction: Any, request: InferRequest, model_name: str
) -> tuple[bytes, dict[str, str]]:
    """The response body and its extra headers (the JSON header length when binary data follows)."""
    import numpy as np

    if isinstance(prediction, dict):
        named = {str(name): np.asarray(value) for name, value in prediction.items()}
    else:
        named = {"output-0": np.asarray(prediction)}
    wanted = request.binary_outputs
    if wanted is not None:
        unknown = sorted(set(wanted) - set(named))
        if unknown:
            raise InvalidInput(f"unknown output(s) {', '.join(unknown)}; the model gives {', '.join(named)}")
        named = {name: named[name] for name in wanted}
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, array in named.items():
        datatype = _datatype(array)
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        as_binary = wanted[name] if wanted is not None else request.binary_default
        if as_binary:
            raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = array.reshape(-1).tolist()
        outputs.append(entry)
    document: dict[str, Any] = {"model_name": model_name, "outputs": outputs}
    if request.id is not None:
        document["id"] = request.id
    header = json.dumps(document).encode()
    if not chunks:
        return header, {}
    return header + b"".join(chunks), {"Inference-Header-Content-Length": str(len(header))}


def _datatype(array: Any) -> str:
    kind = array.dtype.kind
    if kind == "f" and array.dtype.itemsize in (2, 4, 8):
        return f"FP{array.dtype.itemsize * 8}"
    if kind in "iu":
        return f"{'U' if kind == 'u' else ''}INT{array.dtype.itemsize * 8}"
    if kind == "b":
        return "BOOL"
    raise InvalidInput(f"the prediction has dtype {array.dtype}, which has no Open Inference Protocol datatype")


def model_metadata(model_name: str, platform: str) -> dict[str, Any]:
    """What `GET /v2/models/<name>` answers: shapes are not known before a request, so -1."""
    return {
        "name": model_name,
        "versions": ["1"],
        "platform": platform,
        "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, -1]}],
        "outputs": [{"name": "output-0", "datatype": "FP32", "shape": [-1, -1]}],
    }
