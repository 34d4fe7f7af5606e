"""The SDK layer's serializers and deserializers: the bodies and types SageMaker SDK v2's write and read."""

from __future__ import annotations

import io
import json

import pytest

from container_runtime.sdk import deserializers as d
from container_runtime.sdk import serializers as s

np = pytest.importorskip("numpy")


def test_content_types_and_accepts_are_the_sdks() -> None:
    assert s.NumpySerializer().CONTENT_TYPE == "application/x-npy"
    assert s.JSONSerializer().CONTENT_TYPE == "application/json"
    assert s.CSVSerializer().CONTENT_TYPE == "text/csv"
    assert s.IdentitySerializer().CONTENT_TYPE == "application/octet-stream"
    assert s.JSONLinesSerializer().CONTENT_TYPE == "application/jsonlines"
    assert d.NumpyDeserializer().ACCEPT == ("application/x-npy",)
    assert d.JSONDeserializer().ACCEPT == ("application/json",)
    assert d.CSVDeserializer().ACCEPT == ("text/csv",)
    assert d.BytesDeserializer().ACCEPT == ("*/*",)
    assert d.StringDeserializer().ACCEPT == ("application/json",)
    assert d.StreamDeserializer().ACCEPT == ("*/*",)
    assert d.JSONDeserializer(accept=("application/json", "text/csv")).ACCEPT == ("application/json", "text/csv")


def test_npy_round_trip_keeps_shape_and_dtype() -> None:
    images = np.arange(12, dtype=np.float32).reshape(3, 4)
    body = s.NumpySerializer().serialize(images)
    back = d.NumpyDeserializer().deserialize(io.BytesIO(body), "application/x-npy")
    assert back.dtype == np.float32 and np.array_equal(back, images)
    assert s.NumpySerializer(dtype="float64").serialize([[1, 2]]) == _npy(np.array([[1.0, 2.0]]))


def test_a_list_of_sentences_travels_as_a_unicode_npy_array() -> None:
    sentences = ["It is fun.", "It used to be slow."]
    body = s.NumpySerializer().serialize(sentences)
    back = np.load(io.BytesIO(body))
    assert back.dtype.kind == "U" and back.tolist() == sentences


def test_empty_arrays_are_refused_as_the_sdk_refuses_them() -> None:
    with pytest.raises(ValueError, match="empty"):
        s.NumpySerializer().serialize([])
    with pytest.raises(ValueError, match="empty"):
        s.NumpySerializer().serialize(np.array([]))
    with pytest.raises(ValueError, match="empty"):
        s.CSVSerializer().serialize([])


def test_json_serializes_arrays_and_dicts_of_arrays() -> None:
    assert json.loads(s.JSONSerializer().serialize(np.array([[1.5, 2.0]]))) == [[1.5, 2.0]]
    assert json.loads(s.JSONSerializer().serialize({"instances": np.array([1, 2])})) == {"instances": [1, 2]}
    assert s.JSONSerializer().serialize(io.BytesIO(b'{"a": 1}')) == b'{"a": 1}'


def test_csv_writes_one_line_per_row() -> None:
    assert s.CSVSerializer().serialize([1, 2, 3]) == "1,2,3"
    assert s.CSVSerializer().serialize([[1, 2], [3, 4]]) == "1,2\n3,4"
    assert s.CSVSerializer().serialize(np.array([[1.5, 2.5]])) == "1.5,2.5"
    assert s.CSVSerializer().serialize("1,2") == "1,2"


def test_jsonlines_and_identity() -> None:
    assert s.JSONLinesSerializer().serialize([{"a": 1}, [2]]) == '{"a": 1}\n[2]\n'
    assert s.IdentitySerializer().serialize(b"raw") == b"raw"


def test_numpy_deserializer_reads_json_and_csv_answers_too() -> None:
    from_json = d.NumpyDeserializer().deserialize(io.BytesIO(b"[[1, 2], [3, 4]]"), "application/json")
    assert from_json.shape == (2, 2)
    from_csv = d.NumpyDeserializer().deserialize(io.BytesIO(b"1,2\n3,4\n"), "text/csv; charset=utf-8")
    assert np.array_equal(from_csv, [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="text/plain"):
        d.NumpyDeserializer().deserialize(io.BytesIO(b"x"), "text/plain")


def test_the_other_deserializers() -> None:
    assert d.BytesDeserializer().deserialize(io.BytesIO(b"\x00\x01"), "application/octet-stream") == b"\x00\x01"
    assert d.StringDeserializer().deserialize(io.BytesIO("é".encode()), "text/plain") == "é"
    assert d.JSONDeserializer().deserialize(io.BytesIO(b'{"predictions": [1]}'), "application/json") == {
        "predictions": [1]}
    assert d.CSVDeserializer().deserialize(io.BytesIO(b"1,a\n2,b\n"), "text/csv") == [["1", "a"], ["2", "b"]]
    assert d.JSONLinesDeserializer().deserialize(io.BytesIO(b'{"a": 1}\n\n[2]\n'), "application/jsonlines") == [
        {"a": 1}, [2]]
    stream = io.BytesIO(b"body")
    assert d.StreamDeserializer().deserialize(stream, "text/plain") == (stream, "text/plain")


def _npy(array: object) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
