"""The container suite's data: the examples' small data sets. The daemon and the images come from
the harness plugin (test/harness/plugin.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.example_data import make_example_data

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def mnist_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Chainer examples' MNIST-shaped digits: channels `train` and `test`."""
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("chainer-data")
    make_example_data(EXAMPLES / "chainer" / "make_data.py", out, "--only", "mnist")
    return out / "mnist"


@pytest.fixture(scope="session")
def regression_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TensorFlow examples' diabetes regression data: channels `train` and `test`."""
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("tensorflow-data")
    return make_example_data(EXAMPLES / "tensorflow" / "make_data.py", out) / "regression"
