"""The GPU variants, built on a stand-in for their CUDA base (Debian without Python: no registry
here serves nvidia/cuda, and there is no GPU). What this proves: the build installs Python from
apt when the base has none, the GPU packages (CuPy for CUDA 12, TensorFlow's CUDA wheels) resolve
with the package and its extras, and an image without a usable GPU trains on the CPU. What it
cannot prove: that they use a GPU on the real base (see the README's Framework images section).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.containers import prepare_job, run_container
from harness.docker_daemon import DockerDaemon

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
REPORT_ROW = re.compile(r"^\x1b\[J(\d+)\s", re.MULTILINE)

CUPY_PROBE = """
import sys, cupy, chainer
print(sys.prefix, cupy.__version__, chainer.backends.cuda.available)
"""
TF_PROBE = """
import importlib.metadata as metadata, tensorflow as tf
print(tf.test.is_built_with_cuda(), len(tf.config.list_physical_devices("GPU")), metadata.version("nvidia-cudnn-cu12"))
"""


def test_chainer_gpu_variant_has_cupy_and_trains_on_the_cpu_without_a_gpu(
    daemon: DockerDaemon, chainer_gpu_image: str, mnist_data: Path, tmp_path: Path
) -> None:
    probe = run_container(daemon, chainer_gpu_image, ["python", "-c", CUPY_PROBE])
    assert probe.returncode == 0, probe.stderr[-2000:]
    prefix, cupy_version, cuda_available = probe.stdout.split()
    assert prefix == "/opt/venv" and cupy_version.startswith("13.") and cuda_available == "False"
    job = prepare_job(tmp_path / "opt_ml", [EXAMPLES / "chainer" / "mnist.py"], {"epochs": 1}, mnist_data)
    trained = run_container(daemon, chainer_gpu_image, ["train"], mounts={job.base: "/opt/ml"})
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert REPORT_ROW.findall(trained.stdout) == ["1"]
    assert (job.model / "model.npz").is_file()


def test_tensorflow_gpu_variant_has_cuda_tensorflow_and_trains_on_the_cpu_without_a_gpu(
    daemon: DockerDaemon, tensorflow_gpu_image: str, regression_data: Path, tmp_path: Path
) -> None:
    probe = run_container(daemon, tensorflow_gpu_image, ["python", "-c", TF_PROBE])
    assert probe.returncode == 0, probe.stderr[-2000:]
    built_with_cuda, gpus, cudnn = probe.stdout.split()
    assert (built_with_cuda, gpus) == ("True", "0") and cudnn.startswith("9.")
    scripts = [EXAMPLES / "tensorflow" / name for name in ("train.py", "model_def.py")]
    job = prepare_job(tmp_path / "opt_ml", scripts, {"epochs": 3, "batch_size": 32}, regression_data)
    trained = run_container(daemon, tensorflow_gpu_image, ["train"], mounts={job.base: "/opt/ml"})
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert (job.model / "1" / "saved_model.pb").is_file()
