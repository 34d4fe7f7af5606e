"""What every notebook replay needs: the notebooks, our generated data, a fresh notebook dir and home."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.example_data import make_example_data
from harness.notebook_cells import NOTEBOOKS

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(autouse=True)
def _notebooks_present() -> None:
    if not NOTEBOOKS.is_dir():
        pytest.skip(f"the user notebooks are not at {NOTEBOOKS} (set NOTEBOOKS_DIR)")


@pytest.fixture(scope="session")
def chainer_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/chainer/make_data.py's data sets (mnist/, cifar/, sentiment/), made once per session."""
    pytest.importorskip("sklearn")
    return make_example_data(EXAMPLES / "chainer" / "make_data.py", tmp_path_factory.mktemp("chainer-data"))


@pytest.fixture
def notebook_dir(tmp_path: Path) -> Path:
    """The directory the notebook runs in (its repository's layout is copied in by each test)."""
    directory = tmp_path / "notebook"
    directory.mkdir()
    return directory


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Local mode's home for this replay: jobs, endpoints, tuning jobs, uploaded data."""
    return tmp_path / "home"
