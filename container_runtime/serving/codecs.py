"""Encoding and decoding request and response bodies: NPY, JSON, CSV and JSON Lines.

NPY bodies are loaded without pickle unless the operator opted in
(`SAGEMAKER_NPY_ALLOW_PICKLE=true`): a pickle in a request body runs code on the server.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from container_runtime.serving import content_types as ct
from container_runtime.serving.errors import InvalidInput, NotAcceptable, UnsupportedContentType

DECODABLE = (ct.NPY, ct.JSON, ct.CSV, ct.JSON_LINES)
ENCODABLE = (ct.JSON, ct.NPY, ct.CSV, ct.JSON_LINES)


def decode(body: bytes | str, content_type: str, *, allow_pickle: bool = False, dtype: Any = None) -> Any:
    """Turn a request body into a numpy array; raises InvalidInput or UnsupportedContentType."""
    if content_type == ct.NPY:
        return _decode_npy(body if isinstance(body, bytes) else body.encode("utf-8"), allow_pickle)
    if content_type not in ct.TEXT_TYPES and content_type not in ct.JSON_LINES_ALIASES:
        raise UnsupportedContentType(f"cannot decode content type {content_type!r}; supported: {', '.join(DECODABLE)}")
    text = _text(body)
    if content_type == ct.JSON:
        value = _json_value(text)
    elif content_type == ct.CSV:
        value = _csv_rows(text)
    else:
        value = [_json_value(line) for line in text.splitlines() if line.strip()]
    return _array(value, dtype)


def encode(prediction: Any, accept: str) -> bytes:
    """Turn a prediction (array, list, scalar, dict for JSON) into body bytes of type `accept`."""
    if accept == ct.JSON:
        return json.dumps(prediction, default=json_default).encode("utf-8")
    if accept == ct.NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue()
    if accept == ct.CSV:
        return _csv_text(prediction).encode("utf-8")
    if accept in ct.JSON_LINES_ALIASES:
        rows = prediction.tolist() if isinstance(prediction, np.ndarray) else prediction
        if not isinstance(rows, (list, tuple)):
            rows = [rows]
        return "".join(json.dumps(row, default=json_default) + "\n" for row in rows).encode("utf-8")
    raise NotAcceptable(f"cannot encode a response as {accept!r}; supported: {', '.join(ENCODABLE)}")


def _decode_npy(body: bytes, allow_pickle: bool) -> Any:
    try:
        return np.load(io.BytesIO(body), allow_pickle=allow_pickle)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise InvalidInput(
                "the .npy body holds Python objects, which are refused unless the server sets "
                "SAGEMAKER_NPY_ALLOW_PICKLE=true"
            ) from error
        raise InvalidInput(f"the body is not a valid .npy array: {error}") from error
    except Exception as error:  # noqa: BLE001 - numpy raises many types for corrupt input
        raise InvalidInput(f"the body is not a valid .npy array: {type(error).__name__}: {error}") from error


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the body is not UTF-8 text: {error}") from error


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"the body is not valid JSON: {error}") from error


def _csv_rows(text: str) -> list[Any]:
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        try:
            rows.append([float(field) for field in row])
        except ValueError as error:
            raise InvalidInput(f"the CSV body is not numeric: {error}") from error
    if rows and all(len(row) == 1 for row in rows):
        return [row[0] for row in rows]
    return rows


def _array(value: Any, dtype: Any) -> Any:
    if isinstance(value, dict):
        for key in ("instances", "inputs"):
            if key in value:
                value = value[key]
                break
        else:
            raise InvalidInput("a JSON object body needs an 'instances' or 'inputs' key")
    try:
        array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidInput(f"the body is not a rectangular numeric array: {error}") from error
    if array.dtype.kind not in "biuf":
        raise InvalidInput(f"the body is not numeric (decoded as {array.dtype})")
    return array


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)` for numpy arrays and scalars and bytes."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _csv_text(prediction: Any) -> str:
    array = np.asarray(prediction)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(-1, 1)
    elif array.ndim > 2:
        array = array.reshape(array.shape[0], -1)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(array.tolist())
    return buffer.getvalue()
