"""The SDK's Predictor against a real local endpoint (a plain numpy model served by `serve`):
each serializer's body and type reach the server, each deserializer reads the answer, and
`initial_args` may set the request's types only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.local.endpoints import list_endpoints, stop_endpoint
from container_runtime.local.errors import LocalModeError
from container_runtime.sdk import deserializers as d
from container_runtime.sdk import serializers as s
from container_runtime.sdk.model import FrameworkModel
from container_runtime.sdk.predictor import Predictor

np = pytest.importorskip("numpy")
pytest.importorskip("gunicorn")
DOUBLING = "def model_fn(model_dir):\n    return lambda data: data * 2\n"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One endpoint for the module: a model that doubles what it gets."""
    root = tmp_path_factory.mktemp("predictor")
    home = root / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTAINER_RUNTIME_HOME", str(home))
        (root / "code").mkdir()
        (root / "code" / "doubling.py").write_text(DOUBLING)
        (root / "model").mkdir()
        (root / "model" / "weights.txt").write_text("2")
        model = FrameworkModel(model_data=str(root / "model"), role="r", entry_point="doubling.py",
                               source_dir=str(root / "code"))
        model.deploy(initial_instance_count=1, instance_type="local", endpoint_name="doubling")
        try:
            yield "doubling", home
        finally:
            for record in list_endpoints(home / "endpoints"):
                stop_endpoint(record.name, home / "endpoints")


@pytest.fixture
def home(endpoint: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONTAINER_RUNTIME_HOME", str(endpoint[1]))
    return endpoint[1]


def test_each_serializer_and_deserializer_over_http(home: Path) -> None:
    npy = Predictor("doubling", serializer=s.NumpySerializer(), deserializer=d.NumpyDeserializer())
    assert np.array_equal(npy.predict(np.array([[1.0, 2.0]])), [[2.0, 4.0]])
    as_json = Predictor("doubling", serializer=s.JSONSerializer(), deserializer=d.JSONDeserializer())
    assert as_json.predict([[1, 2], [3, 4]]) == [[2, 4], [6, 8]]
    as_csv = Predictor("doubling", serializer=s.CSVSerializer(), deserializer=d.CSVDeserializer())
    assert [[float(value) for value in row] for row in as_csv.predict([[1, 2], [3, 4]])] == [[2, 4], [6, 8]]
    raw = Predictor("doubling", serializer=s.JSONSerializer(), deserializer=d.StringDeserializer())
    assert raw.predict([1]).replace(" ", "") in ("[2]", "[2.0]")
    assert (raw.content_type, raw.accept) == ("application/json", ("application/json",))


def test_initial_args_set_the_types_and_nothing_else(home: Path) -> None:
    predictor = Predictor("doubling", serializer=s.IdentitySerializer(), deserializer=d.JSONDeserializer())
    answer = predictor.predict(b"1,2\n", initial_args={"ContentType": "text/csv", "Accept": "application/json"})
    assert answer == [[2, 4]] or answer == [2, 4]
    with pytest.raises(LocalModeError, match=r"initial_args \['TargetModel'\] are not supported"):
        predictor.predict(b"[1]", initial_args={"ContentType": "application/json", "TargetModel": "m"})


def test_the_sdks_default_predictor_sends_bytes_and_returns_bytes(home: Path) -> None:
    predictor = Predictor("doubling")
    with pytest.raises(LocalModeError, match="endpoint answered 415"):
        predictor.predict(b"\x00")  # application/octet-stream: the numpy model cannot read it
    with pytest.raises(LocalModeError, match="no endpoint named 'nothere'"):
        Predictor("nothere")
