"""Replay of "TensorFlow Eager Execution with Amazon SageMaker Script Mode and Automatic Model
Tuning" on local mode (process backend): a "local" and a "hosted" script-mode training job, each
model restored from its archive and compared with the targets, an endpoint that predicts JSON and
is deleted through the session, then a tuning job and its analytics table, with only the import
lines and the cells in SUBSTITUTIONS changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.example_data import make_example_data
from harness.notebook_cells import SAGEMAKER_IMPORTS, ImportRule, Substitution
from harness.notebooks import lay_out, replay_notebook

pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")
pytest.importorskip("pandas")

pytestmark = pytest.mark.slow

NOTEBOOK = "tensorflow-eager-execution-with-amazon-sagemaker-script-mode.rst"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tensorflow"

#: The notebook's `import tensorflow as tf` uses TensorFlow 1 names (tf.enable_eager_execution,
#: tf.set_random_seed, tf.logging); TensorFlow 2 keeps them under tf.compat.v1.
IMPORT_RULES = (*SAGEMAKER_IMPORTS, ImportRule(r"import tensorflow as tf", "import tensorflow.compat.v1 as tf"))

RESTORE = ("tfe.Saver (tensorflow.contrib.eager) restored the checkpoint by variable; TensorFlow 2's "
           "equivalent is tf.train.Checkpoint, restoring the latest checkpoint the script wrote beside its "
           "SavedModel")

#: Every change to the notebook besides its imports.
SUBSTITUTIONS = (
    Substitution(2, "data", "boston_housing.load_data() downloads the Boston housing data; the same four arrays "
                 "come from examples/tensorflow/make_data.py's regression set (scikit-learn's diabetes data, 10 "
                 "features); the notebook's normalization and prints run as written",
                 old="from tensorflow.python.keras.datasets import boston_housing\n\n"
                     "(x_train, y_train), (x_test, y_test) = boston_housing.load_data()",
                 new="import numpy\n"
                     "(x_train, y_train), (x_test, y_test) = [\n"
                     "    (numpy.load(f'example-data/regression/{split}/x_{split}.npy'),\n"
                     "     numpy.load(f'example-data/regression/{split}/y_{split}.npy')) for split in ('train', 'test')]"),
    Substitution(4, "cloud", "installs docker-compose for the SDK's Docker local mode; the replay runs on the "
                 "process backend, which needs nothing installed"),
    Substitution(7, "cloud", "the AWS CLI copies model.tar.gz from S3; local mode's model_data is a path, so the "
                 "same copy is shutil.copy (the `!tar` cell that follows runs as written)",
                 old="!aws s3 cp {local_estimator.model_data} ./local_model/model.tar.gz",
                 new="import os, shutil\nos.makedirs('local_model', exist_ok=True)\n"
                     "shutil.copy(local_estimator.model_data, './local_model/model.tar.gz')"),
    Substitution(9, "tf1", RESTORE, old="from tensorflow.contrib.eager.python import tfe\n", new="import tensorflow\n"),
    Substitution(9, "tf1", RESTORE,
                 old="saver = tfe.Saver(local_model.variables)\n    saver.restore('local_model/weights.ckpt')",
                 new="checkpoint = tensorflow.train.Checkpoint(model=local_model)\n"
                     "    checkpoint.restore(tensorflow.train.latest_checkpoint('local_model')).expect_partial()"),
    Substitution(15, "cloud", "as cell 7, for the second job's model",
                 old="!aws s3 cp {estimator.model_data} ./model/model.tar.gz",
                 new="os.makedirs('model', exist_ok=True)\nshutil.copy(estimator.model_data, './model/model.tar.gz')"),
    Substitution(17, "tf1", RESTORE,
                 old="saver = tfe.Saver(model.variables)\n    saver.restore('model/weights.ckpt')",
                 new="checkpoint = tensorflow.train.Checkpoint(model=model)\n"
                     "    checkpoint.restore(tensorflow.train.latest_checkpoint('model')).expect_partial()"),
    Substitution(23, "budget", "max_jobs=15, max_parallel_jobs=5 become 2 and 2: fifteen TensorFlow jobs of up "
                 "to 50 epochs, five at a time, are several minutes of start-up and training on 2 cores, over CI's "
                 "time; two parallel jobs still tune, record and analyse as the notebook's do",
                 old="max_jobs=15,\n                            max_parallel_jobs=5,",
                 new="max_jobs=2,\n                            max_parallel_jobs=2,"),
)

#: The notebook's `train_model/` is our Keras regression example.
LAYOUT = {f"train_model/{name}": EXAMPLES / name for name in ("train.py", "model_def.py")}
PREDICTIONS = re.compile(r"^predictions: \t\[([-\d. ]+)\]\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def tensorflow_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_example_data(EXAMPLES / "make_data.py", tmp_path_factory.mktemp("tf-data"))


def test_notebook_tensorflow_eager_trains_restores_deploys_and_tunes(
        tensorflow_data: Path, notebook_dir: Path, home: Path) -> None:
    lay_out(notebook_dir, LAYOUT)
    (notebook_dir / "example-data").symlink_to(tensorflow_data)

    result = replay_notebook(NOTEBOOK, SUBSTITUTIONS, notebook_dir, home=home, timeout=240,
                             import_rules=IMPORT_RULES)

    assert re.search(r"^x train \(354, 10\)", result.output(2), re.MULTILINE)
    assert len(re.findall(r" val_loss: [0-9.]+", result.output(6))) == 5  # the local job's 5 epochs
    assert len(re.findall(r" val_loss: [0-9.]+", result.output(14))) == 30  # the "hosted" job's 30
    for cell in (10, 18, 20):  # restored checkpoints, then the endpoint: ten predictions each
        predictions = PREDICTIONS.search(result.output(cell))
        assert predictions and len(predictions[1].split()) == 10, result.output(cell)
        assert re.search(r"^target values: \t\[", result.output(cell), re.MULTILINE)
    table = result.output(24)  # the analytics DataFrame, shown as the cell's value
    assert "FinalObjectiveValue" in table and "TrainingJobName" in table
    assert re.search(r"^The total training time is \d+\.\d\d hours$", result.output(25), re.MULTILINE)
    assert re.search(r"Completed\s+2", result.output(25))
    assert result.left_running == []  # sagemaker.Session().delete_endpoint(predictor.endpoint)
