"""Replay of "Training a sentiment analysis model with Chainer" on local mode (process backend):
train with three channels, fetch the output archive, deploy the script's custom input, predict
and output functions, predict sentences and delete the endpoint, with only the import lines and
the cells in SUBSTITUTIONS changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.notebook_cells import Substitution
from harness.notebooks import lay_out, replay_notebook

pytest.importorskip("chainer")
pytest.importorskip("matplotlib")

pytestmark = pytest.mark.slow

NOTEBOOK = "training-a-sentiment-analysis-model-with-chainer.rst"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

#: Every change to the notebook besides its `sagemaker` imports.
SUBSTITUTIONS = (
    Substitution(
        2, "data",
        "dataset.download_dataset fetches the Stanford Sentiment Treebank (stsa.binary) and get_stsa_dataset "
        "tokenizes it; the same objects come from examples/chainer/make_data.py's generated sentences: "
        "`file_paths` its text files (the stsa format, '<label> <sentence>'), `train`/`test` (token ids, label) "
        "pairs, `vocab` word -> id. Only the sentences of the most common length are kept: the notebook's next "
        "cell np.savez-es the sequences as one array, which numpy >= 1.24 refuses for sequences of different "
        "lengths (the notebook was written for older numpy, which made an object array)",
        old='import dataset\n\nfile_paths = dataset.download_dataset("stsa.binary")\n\n'
            'new_file_paths = dataset.get_stsa_dataset(file_paths)\n'
            'train, test, vocab = dataset.get_stsa_dataset(file_paths)\n',
        new="import json\n"
            "import numpy\n"
            "file_paths = ['example-data/sentiment/text/train.txt', 'example-data/sentiment/text/test.txt']\n"
            "def _same_length_pairs(split):\n"
            "    arrays = numpy.load(f'example-data/sentiment/{split}/{split}.npz', allow_pickle=True)\n"
            "    lengths = [len(ids) for ids in arrays['data']]\n"
            "    common = max(set(lengths), key=lengths.count)\n"
            "    return [(ids, label) for ids, label in zip(arrays['data'], arrays['labels']) if len(ids) == common]\n"
            "train, test = _same_length_pairs('train'), _same_length_pairs('test')\n"
            "with open('example-data/sentiment/vocab/vocab.json') as vocab_file:\n"
            "    vocab = json.load(vocab_file)\n"),
    Substitution(6, "cloud", "s3_util, the notebook's own helper, downloads the archive from S3 with boto3; local "
                 "mode's S3ModelArtifacts is a path, so the archive is opened where it is",
                 old="from s3_util import retrieve_output_from_s3\n", new=""),
    Substitution(6, "cloud", "(as above) retrieve_output_from_s3 = download, then extract into the directory",
                 old="retrieve_output_from_s3(output_data, 'output/sentiment')",
                 new="import tarfile\n"
                     "with tarfile.open(output_data) as archive:\n"
                     "    archive.extractall('output/sentiment')"),
    Substitution(7, "display", "shows the two training plots with IPython.display.Image"),
)

#: The notebook's `src/` is our sentiment example with its two modules.
LAYOUT = {f"src/{name}": EXAMPLES / "chainer" / name for name in ("sentiment_analysis.py", "nets.py", "nlp_utils.py")}
PREDICTION = re.compile(r"^sentence: (.*)\nprediction: ([01])\nscore: ([\d.e-]+)$", re.MULTILINE)


def test_notebook_chainer_sentiment_trains_deploys_predicts_and_deletes(
        chainer_data: Path, notebook_dir: Path, home: Path) -> None:
    lay_out(notebook_dir, LAYOUT)
    (notebook_dir / "example-data").symlink_to(chainer_data)

    result = replay_notebook(NOTEBOOK, SUBSTITUTIONS, notebook_dir, home=home, timeout=110)

    assert re.match(r"[01] \w+", result.output(2))  # the first lines of the training text
    training = result.output(5)  # fit(): the script's summary and one report row per epoch
    assert "# epoch: 10" in training and "# Model: rnn" in training
    assert re.search(r"\x1b\[J10\s", training)
    for plot in ("accuracy.png", "loss.png"):  # what the skipped display cell 7 shows, from output.tar.gz
        assert (notebook_dir / "output" / "sentiment" / plot).read_bytes().startswith(b"\x89PNG")
    fixed = PREDICTION.findall(result.output(9))
    assert [row[0] for row in fixed] == [sentence.lower() for sentence in (  # predict_fn's processed input
        "It is fun and easy to train Chainer models on Amazon SageMaker!",
        "It used to be slow, difficult, and laborious to train and deploy a model to production.",
        "But now it is super fast to deploy to production. And I love it when my model generalizes!")]
    from_test_set = PREDICTION.findall(result.output(10))
    assert len(from_test_set) > 10
    assert all(0.0 <= float(score) <= 1.0 for _, _, score in fixed + from_test_set)
    assert result.left_running == []  # chainer_estimator.delete_endpoint() stopped it
