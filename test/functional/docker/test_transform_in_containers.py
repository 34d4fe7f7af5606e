"""A batch transform job on the Docker backend: the endpoint runs in a container of the framework
image, the records travel from the host, and no container outlives the job."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.local.endpoints import list_endpoints, stop_endpoint
from harness.docker_daemon import DockerDaemon

np = pytest.importorskip("numpy")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

INFERENCE = '''
import json
import os

import numpy as np


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as file:
        return json.load(file)


def predict_fn(data, model):
    return np.atleast_2d(np.asarray(data, dtype=float)).sum(axis=1, keepdims=True) * model["scale"]
'''


@pytest.fixture
def home(tmp_path: Path, daemon: DockerDaemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    yield tmp_path
    for record in list_endpoints(tmp_path / "endpoints"):
        stop_endpoint(record.name, tmp_path / "endpoints")


def test_a_transform_job_serves_in_a_container(daemon: DockerDaemon, chainer_image: str, home: Path) -> None:
    from container_runtime.local import Transformer

    archive = home / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        content = b'{"scale": 3}'
        info = tarfile.TarInfo("model.json")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    code = home / "code"
    code.mkdir()
    (code / "inference.py").write_text(INFERENCE)
    values = np.arange(600, dtype=float).reshape(200, 3)
    (home / "data").mkdir()
    np.savetxt(home / "data" / "rows.csv", values, delimiter=",", fmt="%.1f")

    transformer = Transformer(str(archive), strategy="MultiRecord", assemble_with="Line", accept="text/csv",
                              max_concurrent_transforms=2, output_path=str(home / "out"), entry_point="inference.py",
                              source_dir=code, backend="docker", image=chainer_image,
                              endpoints_dir=home / "endpoints", console=None)
    transformer.transform(str(home / "data"), content_type="text/csv", split_type="Line")
    answers = np.loadtxt(home / "out" / "rows.csv.out", delimiter=",")
    assert np.allclose(answers, values.sum(axis=1) * 3)
    name = transformer.latest_transform_job.name  # type: ignore[union-attr]
    assert "Serving" in (home / "endpoints" / name / "serve.log").read_text()  # it ran in the container
    assert list_endpoints(home / "endpoints") == []
    left = daemon.run("ps", "-a", "--filter", f"label=container-runtime.endpoint={name}", "--format", "{{.Names}}")
    assert left.stdout.split() == []
