"""The SDK's deserializers (`sagemaker.deserializers`): decode an endpoint's answer, given as a
stream and its Content-Type, each with the `ACCEPT` types it asks for."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, BinaryIO

__all__ = [
    "BaseDeserializer", "BytesDeserializer", "CSVDeserializer", "JSONDeserializer", "JSONLinesDeserializer",
    "NumpyDeserializer", "SimpleBaseDeserializer", "StreamDeserializer", "StringDeserializer",
]


class BaseDeserializer:
    """What a Predictor needs of a deserializer: `deserialize(stream, content_type)` and `ACCEPT`."""

    accept: str | tuple[str, ...] = "*/*"

    @property
    def ACCEPT(self) -> tuple[str, ...]:  # noqa: N802 - the SDK's name
        return (self.accept,) if isinstance(self.accept, str) else tuple(self.accept)

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        raise NotImplementedError


class SimpleBaseDeserializer(BaseDeserializer):
    """A deserializer asking for the types given when it is made (the SDK's default: any)."""

    def __init__(self, accept: str | tuple[str, ...] = "*/*") -> None:
        self.accept = accept


def _body(stream: BinaryIO) -> bytes:
    try:
        return stream.read()
    finally:
        stream.close()


class BytesDeserializer(SimpleBaseDeserializer):
    """The answer's bytes, undecoded; the SDK Predictor's default."""

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        return _body(stream)


class StringDeserializer(SimpleBaseDeserializer):
    """The answer as text in `encoding`."""

    def __init__(self, encoding: str = "UTF-8", accept: str | tuple[str, ...] = "application/json") -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        return _body(stream).decode(self.encoding)


class StreamDeserializer(SimpleBaseDeserializer):
    """The stream and its content type, for the caller to read (and close)."""

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        return stream, content_type


class CSVDeserializer(SimpleBaseDeserializer):
    """Rows of strings, as `csv.reader` splits the answer."""

    def __init__(self, encoding: str = "utf-8", accept: str | tuple[str, ...] = "text/csv") -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        return list(csv.reader(io.StringIO(_body(stream).decode(self.encoding))))


class JSONDeserializer(SimpleBaseDeserializer):
    """The answer parsed as JSON."""

    def __init__(self, accept: str | tuple[str, ...] = "application/json") -> None:
        super().__init__(accept)

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        return json.loads(_body(stream))


class JSONLinesDeserializer(SimpleBaseDeserializer):
    """A list with one parsed document per non-empty line."""

    def __init__(self, accept: str | tuple[str, ...] = "application/jsonlines") -> None:
        super().__init__(accept)

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        return [json.loads(line) for line in _body(stream).decode().splitlines() if line.strip()]


class NumpyDeserializer(SimpleBaseDeserializer):
    """A numpy array from an NPY (or NPZ), JSON or CSV answer, as `dtype` when given."""

    def __init__(self, dtype: Any = None, accept: str | tuple[str, ...] = "application/x-npy",
                 allow_pickle: bool = True) -> None:
        super().__init__(accept)
        self.dtype = dtype
        self.allow_pickle = allow_pickle

    def deserialize(self, stream: BinaryIO, content_type: str) -> Any:
        import numpy as np

        body = _body(stream)
        media = content_type.split(";", 1)[0].strip().lower()
        if media == "text/csv":
            return np.genfromtxt(io.StringIO(body.decode("utf-8")), delimiter=",", dtype=self.dtype)
        if media == "application/json":
            return np.array(json.loads(body), dtype=self.dtype)
        if media == "application/x-npy":
            array = np.load(io.BytesIO(body), allow_pickle=self.allow_pickle)
            return array if self.dtype is None else array.astype(self.dtype)
        if media == "application/x-npz":
            return np.load(io.BytesIO(body), allow_pickle=self.allow_pickle)
        raise ValueError(f"{content_type} cannot be deserialized into a numpy array")
