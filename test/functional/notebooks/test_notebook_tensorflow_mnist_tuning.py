"""Replay of "Hyperparameter Tuning using SageMaker Tensorflow Container" on local mode (process
backend): a TensorFlow 1 `model_fn` script (legacy mode) tuned on its learning rate, minimizing the
loss its log prints, then the tuning job's status, with only the import lines and the cells in
SUBSTITUTIONS changed. The notebook deploys nothing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from harness.notebook_cells import Substitution
from harness.notebooks import lay_out, replay_notebook

pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras", reason="legacy scripts' tf.compat.v1.layers need tf-keras")
pytest.importorskip("sklearn")

pytestmark = pytest.mark.slow

NOTEBOOK = "hyperparameter-tuning-using-sagemaker-tensorflow-container.rst"
LEGACY = Path(__file__).resolve().parents[3] / "examples" / "tensorflow" / "legacy"

#: Every change to the notebook besides its `sagemaker` imports.
SUBSTITUTIONS = (
    Substitution(3, "data", "tensorflow.contrib's read_data_sets downloads MNIST (TensorFlow 1 only) and the "
                 "notebook's utils.convert_to writes it as TFRecords into data/; examples/tensorflow/legacy/"
                 "make_tfrecords.py writes the same records (height, width, depth, label, image_raw) of real "
                 "handwritten digits into data/ (train and test; the script reads no validation file)",
                 new="import subprocess\n"
                     "import sys\n"
                     f"subprocess.run([{sys.executable!r}, {str(LEGACY / 'make_tfrecords.py')!r}, '--out', 'data'],"
                     " check=True)\n"),
    Substitution(6, "budget", "training_steps=1000 becomes 50: a step is one batch of 100 images whatever the data "
                 "set's size, and 1000 steps take 2.5 minutes per job on a 2-core machine (measured), so the "
                 "notebook's own value cannot fit CI's time",
                 old="training_steps=1000,", new="training_steps=50,"),
    Substitution(9, "budget", "max_jobs=9 becomes 3 (one round of the notebook's max_parallel_jobs=3): nine "
                 "TensorFlow jobs are three rounds of start-up and training on 2 cores, over CI's time",
                 old="max_jobs=9,", new="max_jobs=3,"),
    Substitution(11, "cloud", "boto3.client('sagemaker') is AWS's SageMaker API; the same describe call goes to "
                 "the local session's client",
                 old="boto3.client('sagemaker')", new="sagemaker.Session().sagemaker_client"),
)

#: The notebook's `mnist.py` is our TensorFlow 1 `model_fn` example.
LAYOUT = {"mnist.py": LEGACY / "mnist.py"}


def test_notebook_tensorflow_mnist_tuning_minimizes_the_logged_loss(notebook_dir: Path, home: Path) -> None:
    lay_out(notebook_dir, LAYOUT)

    result = replay_notebook(NOTEBOOK, SUBSTITUTIONS, notebook_dir, home=home, timeout=150)

    assert re.search(r"^\S+", result.output(4))  # print(inputs): where upload_data put the records
    assert "def model_fn(features, labels, mode, params)" in result.output(5)  # !cat 'mnist.py'
    trials = re.findall(r"^\S+ Completed: loss=(\d+\.\d+)", result.output(10), re.MULTILINE)
    assert len(trials) == 3, result.output(10)[-3000:]
    assert result.output(11).strip() == "'Completed'"
