"""The thin GPU path of Chainer's predict_fn, covered with fakes (no GPU here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("chainer")

from container_runtime_chainer.serving import ChainerHandlers, to_host  # noqa: E402


class FakeDeviceArray:
    """Stands in for a cupy array: only `.get()` copies it to the host."""

    def __init__(self, host: np.ndarray) -> None:
        self.host = host

    def get(self) -> np.ndarray:
        return self.host


class FakeDeviceModule:
    """Stands in for cupy as a model's `xp`."""

    def __init__(self) -> None:
        self.moved: list[Any] = []

    def asarray(self, data: Any) -> FakeDeviceArray:
        self.moved.append(data)
        return FakeDeviceArray(np.asarray(data))


class FakeGpuModel:
    def __init__(self) -> None:
        self.xp = FakeDeviceModule()
        self.seen_train_flag: bool | None = None

    def __call__(self, data: FakeDeviceArray) -> Any:
        import chainer

        self.seen_train_flag = chainer.config.train
        assert isinstance(data, FakeDeviceArray)
        return type("Output", (), {"array": FakeDeviceArray(data.host * 2)})()


def test_inputs_move_to_the_models_device_and_results_come_back() -> None:
    model = FakeGpuModel()
    result = ChainerHandlers().predict_fn(np.ones((1, 3), dtype=np.float32), model)
    assert isinstance(result, np.ndarray)
    np.testing.assert_array_equal(result, np.full((1, 3), 2, dtype=np.float32))
    assert len(model.xp.moved) == 1
    assert model.seen_train_flag is False


def test_to_host_leaves_numpy_alone() -> None:
    array = np.arange(3)
    assert to_host(array) is array
    assert to_host(FakeDeviceArray(array)) is array


@pytest.mark.parametrize(
    ("body", "content_type", "dtype"),
    [(b"[[1, 2]]", "application/json", np.float32), (b"1,2\n", "text/csv", np.float32),
     (b"[1, 2]\n", "application/jsonlines", np.float32)],
)
def test_text_bodies_become_float32(body: bytes, content_type: str, dtype: Any) -> None:
    assert ChainerHandlers().input_fn(body.decode(), content_type).dtype == dtype


def test_npy_keeps_its_dtype() -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([[1.0, 2.0]], dtype=np.float64))
    assert ChainerHandlers().input_fn(buffer.getvalue(), "application/x-npy").dtype == np.float64
