"""The SDK's serializers (`sagemaker.serializers`): turn what `predict` is given into a request
body, each with the `CONTENT_TYPE` it is sent as. numpy is imported only by those that need it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BaseSerializer", "CSVSerializer", "IdentitySerializer", "JSONLinesSerializer", "JSONSerializer",
    "NumpySerializer", "SimpleBaseSerializer",
]


class BaseSerializer:
    """What a Predictor needs of a serializer: `serialize(data)` and `CONTENT_TYPE`."""

    content_type = "application/octet-stream"

    @property
    def CONTENT_TYPE(self) -> str:  # noqa: N802 - the SDK's name
        return self.content_type

    def serialize(self, data: Any) -> Any:
        raise NotImplementedError


class SimpleBaseSerializer(BaseSerializer):
    """A serializer for one content type, given when it is made (the SDK's default: JSON)."""

    def __init__(self, content_type: str = "application/json") -> None:
        if not isinstance(content_type, str):
            raise ValueError(f"content_type {content_type!r}: expected a string such as 'application/json'")
        self.content_type = content_type


def _read(data: Any) -> Any:
    """File-like data is sent as its content, as the SDK does."""
    return data.read()


def _listed(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") and not isinstance(value, (str, bytes)) else value


class JSONSerializer(SimpleBaseSerializer):
    """JSON; numpy arrays (also as dict values) become lists."""

    def serialize(self, data: Any) -> Any:
        if isinstance(data, dict):
            return json.dumps({key: _listed(value) for key, value in data.items()})
        if hasattr(data, "read"):
            return _read(data)
        return json.dumps(_listed(data))


class JSONLinesSerializer(SimpleBaseSerializer):
    """One JSON document per line from a list; a string or a file is sent as it is."""

    def __init__(self, content_type: str = "application/jsonlines") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> Any:
        if isinstance(data, str):
            return data
        if hasattr(data, "read"):
            return _read(data)
        return "".join(json.dumps(_listed(item)) + "\n" for item in _listed(data))


class CSVSerializer(SimpleBaseSerializer):
    """Comma-separated values: a row from a 1-D sequence, one line per row from a 2-D one."""

    def __init__(self, content_type: str = "text/csv") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> Any:
        if hasattr(data, "read"):
            return _read(data)
        data = _listed(data)
        if isinstance(data, list) and data and _is_row(data[0]):
            return "\n".join(self._row(row) for row in data)
        return self._row(data)

    @staticmethod
    def _row(row: Any) -> str:
        if isinstance(row, str):
            return row
        row = _listed(row)
        if isinstance(row, Sequence):
            if not row:
                raise ValueError("Cannot serialize empty array")
            return ",".join(str(value) for value in row)
        return str(row)


def _is_row(value: Any) -> bool:
    return isinstance(_listed(value), Sequence) and not isinstance(value, str)


class NumpySerializer(SimpleBaseSerializer):
    """The NPY format (`numpy.save`), from an array or anything `numpy.array` takes, as `dtype` if given."""

    def __init__(self, dtype: Any = None, content_type: str = "application/x-npy") -> None:
        super().__init__(content_type)
        self.dtype = dtype

    def serialize(self, data: Any) -> Any:
        import io

        import numpy as np

        if hasattr(data, "read"):
            return _read(data)
        if isinstance(data, np.ndarray):
            array = data if self.dtype is None else data.astype(self.dtype)
        else:
            if isinstance(data, Sequence) and len(data) == 0:
                raise ValueError("Cannot serialize empty array.")
            array = np.array(data, self.dtype)
        if array.size == 0:
            raise ValueError("Cannot serialize empty array.")
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()


class IdentitySerializer(SimpleBaseSerializer):
    """Sends the data unchanged (bytes or a string); the SDK Predictor's default."""

    def __init__(self, content_type: str = "application/octet-stream") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> Any:
        return data
