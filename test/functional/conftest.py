"""Example data the functional tests share, made once per run from the examples' own data scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.example_data import make_example_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Handwritten digits as the Chainer MNIST example reads them: channels `train` and `test`."""
    pytest.importorskip("chainer")
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("digits")
    make_example_data(EXAMPLES / "chainer" / "make_data.py", out, "--only", "mnist")
    return out / "mnist"


@pytest.fixture(scope="session")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TensorFlow examples' diabetes regression data: channels `train` and `test`."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("sklearn")
    return make_example_data(EXAMPLES / "tensorflow" / "make_data.py", tmp_path_factory.mktemp("tf")) / "regression"
