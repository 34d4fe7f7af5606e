"""Replay of "MNIST Training and Prediction with SageMaker Chainer" on local mode (process
backend): train, fetch the output archive, deploy, predict and delete the endpoint, with only the
import lines and the cells in SUBSTITUTIONS changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.notebook_cells import Substitution
from harness.notebooks import gpu_tools_path, lay_out, replay_notebook

pytest.importorskip("chainer")
pytest.importorskip("matplotlib")

pytestmark = pytest.mark.slow

NOTEBOOK = "mnist-training-and-prediction-with-sagemaker-chainer.rst"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

#: Every change to the notebook besides its `sagemaker` imports.
SUBSTITUTIONS = (
    Substitution(2, "cloud", "installs docker-compose for the SDK's Docker local mode; the replay runs on the "
                 "process backend, which needs nothing installed"),
    Substitution(3, "data", "chainer.datasets.get_mnist() downloads MNIST; the same TupleDatasets (float32 (784,) "
                 "images in [0, 1], int32 labels) from examples/chainer/make_data.py's handwritten digits",
                 old="train, test = chainer.datasets.get_mnist()",
                 new="from chainer.datasets import TupleDataset\n"
                     "import numpy\n"
                     "train, test = [TupleDataset(*(numpy.load(f'example-data/mnist/{split}/{split}.npz')[key]\n"
                     "                              for key in ('images', 'labels')))\n"
                     "               for split in ('train', 'test')]"),
    Substitution(8, "cloud", "the AWS CLI copies the output archive from S3; local mode's S3ModelArtifacts is a "
                 "path, so the same copy is shutil.copy (the `!tar` line that follows runs as written)",
                 old="!aws --region {sagemaker_session.boto_session.region_name} s3 cp {output_data} "
                     "output/single_machine_mnist/output.tar",
                 new="shutil.copy(output_data, 'output/single_machine_mnist/output.tar')"),
    Substitution(9, "display", "shows the two training plots with IPython.display.Image"),
    Substitution(13, "input", "input.html is a canvas whose JavaScript sets `data` in the kernel to the digit a "
                 "person draws; the replay has no browser, so `data` is one held-out digit, as the canvas sends it "
                 "(one row of 784 floats)",
                 new="data = test_images[:1].tolist()"),
)

#: The notebook's script `chainer_mnist_single_machine.py` is our MNIST example under that name.
LAYOUT = {"chainer_mnist_single_machine.py": EXAMPLES / "chainer" / "mnist.py"}
ROW = re.compile(r"^(?:algo-\d+ \| )?\x1b\[J(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.MULTILINE)


def test_notebook_chainer_mnist_trains_deploys_predicts_and_deletes(
        chainer_data: Path, notebook_dir: Path, home: Path, tmp_path: Path) -> None:
    lay_out(notebook_dir, LAYOUT)
    (notebook_dir / "example-data").symlink_to(chainer_data)

    result = replay_notebook(NOTEBOOK, SUBSTITUTIONS, notebook_dir, home=home, timeout=110,
                             path=[gpu_tools_path(tmp_path / "gpu-tools")])

    assert re.search(r"^Instance type = local(_gpu)?$", result.output(6), re.MULTILINE)
    rows = ROW.findall(result.output(7))  # the script's PrintReport, relayed by fit(): epochs 1..3
    assert [int(row[0]) for row in rows] == [1, 2, 3]
    assert float(rows[-1][4]) > 0.8, rows[-1]  # validation accuracy of the last epoch
    for plot in ("accuracy.png", "loss.png"):  # what the skipped display cell 9 shows, from output.tar.gz
        assert (notebook_dir / "output" / "single_machine_mnist" / plot).read_bytes().startswith(b"\x89PNG")
    labels = re.search(r"^The predicted labels are: \[([\d ]+)\]$", result.output(12), re.MULTILINE)
    assert labels and len(labels[1].split()) == 5
    assert re.search(r"^What you wrote is: \d$", result.output(14), re.MULTILINE)
    assert result.left_running == []  # chainer_estimator.delete_endpoint() stopped it
