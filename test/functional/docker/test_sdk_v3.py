"""The real SageMaker SDK v3 (`ModelTrainer`, LOCAL_CONTAINER) trains in our Chainer image, offline.

(a) With `source_code` the SDK overrides the entry point with its own driver script (`bash
sm_train.sh` from the `sm_drivers` channel), which must find what it needs in the image (python3,
pip3); (b) without it the SDK passes no command, so the image's default must be `train`. Both
leave the model where the SDK collects it: `<local_container_root>/compressed_artifacts/model.tar.gz`.
The SDK runs in its own venv (`sdk_v3_python`) against the test daemon, nothing but loopback.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from harness.docker_daemon import DockerDaemon
from harness.sdk_venvs import run_sdk_script, sdk_environment

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
MNIST = REPO / "examples" / "chainer" / "mnist.py"
SCRIPT = REPO / "test" / "scripts" / "sdk" / "v3_model_trainer.py"


@pytest.mark.parametrize("with_source_code", [True, False], ids=["source-code-driver", "no-command-default-train"])
def test_model_trainer_trains_in_our_image(
    sdk_v3_python: Path, daemon: DockerDaemon, chainer_image: str, mnist_data: Path, tmp_path: Path,
    with_source_code: bool,
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(MNIST, code / MNIST.name)
    (tmp_path / "home").mkdir()
    root = tmp_path / "root"
    root.mkdir()
    settings = {"image": chainer_image, "code": str(code), "data": str(mnist_data), "root": str(root),
                "with_source_code": with_source_code}
    result = run_sdk_script(sdk_v3_python, SCRIPT, json.dumps(settings), sdk_environment(daemon, tmp_path / "home"),
                            1500)
    assert result.returncode == 0 and "RESULT " in result.stdout, result.stdout[-4000:] + result.stderr[-4000:]
    # Our example prints Chainer's report each epoch: two epochs ran, in the container.
    assert "main/accuracy" in result.stdout
    with tarfile.open(root / "compressed_artifacts" / "model.tar.gz") as archive:
        assert "model.npz" in archive.getnames()
    if not with_source_code:
        assert "Training succeeded" in result.stdout  # our `train` ran it, not the SDK's driver
