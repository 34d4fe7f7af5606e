"""Replay of "Hyperparameter Tuning with Chainer" (CIFAR-10 VGG) on local mode (process backend):
tune the learning rate over two parallel training jobs, wait, deploy the best job, predict ten
sample images and delete the endpoint, with only the import lines and the cells in SUBSTITUTIONS
changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.notebook_cells import Substitution
from harness.notebooks import lay_out, replay_notebook

pytest.importorskip("chainer")
pytest.importorskip("matplotlib")
np = pytest.importorskip("numpy")
skimage_io = pytest.importorskip("skimage.io", reason="the notebook reads its sample images with skimage")

pytestmark = pytest.mark.slow

NOTEBOOK = "hyperparameter-tuning-with-chainer.rst"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
#: How much of examples/chainer/make_data.py's CIFAR-like set the replay trains on: both jobs run
#: the notebook's one epoch of VGG at once on a 2-core machine, within the test's time.
TRAIN_IMAGES, TEST_IMAGES = 512, 128

#: Every change to the notebook besides its `sagemaker` imports.
SUBSTITUTIONS = (
    Substitution(2, "data", f"get_cifar10() downloads CIFAR-10; the same TupleDatasets (float32 (3, 32, 32) "
                 "images in [0, 1], int32 labels) from examples/chainer/make_data.py's ten classes of coloured "
                 f"shapes, the first {TRAIN_IMAGES} training and {TEST_IMAGES} test images",
                 old="from chainer.datasets import get_cifar10\n\ntrain, test = get_cifar10()",
                 new="from chainer.datasets import TupleDataset\n"
                     "import numpy\n"
                     "def _cifar_split(split, count):\n"
                     "    arrays = numpy.load(f'example-data/cifar/{split}/{split}.npz')\n"
                     "    return TupleDataset(arrays['data'][:count], arrays['labels'][:count])\n"
                     f"train, test = _cifar_split('train', {TRAIN_IMAGES}), _cifar_split('test', {TEST_IMAGES})"),
)

#: The notebook's `src/` is our CIFAR VGG example under the notebook's script name.
LAYOUT = {
    "src/chainer_cifar_vgg_single_machine.py": EXAMPLES / "chainer" / "cifar_vgg.py",
    "src/net.py": EXAMPLES / "chainer" / "net.py",
}
#: The notebook's `images/` holds one 32x32 PNG per CIFAR-10 class, named like this.
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_sample_images(chainer_data: Path, images_dir: Path) -> list[int]:
    """The first test image of each of our ten classes as `images/<class name>1.png`; returns their labels."""
    arrays = np.load(chainer_data / "cifar" / "test" / "test.npz")
    images_dir.mkdir(parents=True)
    labels = []
    for label, name in enumerate(CLASS_NAMES):
        index = int(np.flatnonzero(arrays["labels"] == label)[0])
        pixels = (arrays["data"][index].transpose(1, 2, 0) * 255).round().astype(np.uint8)  # HWC, as PNGs are
        skimage_io.imsave(images_dir / f"{name}1.png", pixels, check_contrast=False)
        labels.append(label)
    return labels


def test_notebook_chainer_cifar_tunes_deploys_the_best_job_predicts_and_deletes(
        chainer_data: Path, notebook_dir: Path, home: Path) -> None:
    lay_out(notebook_dir, LAYOUT)
    (notebook_dir / "example-data").symlink_to(chainer_data)
    write_sample_images(chainer_data, notebook_dir / "images")

    result = replay_notebook(NOTEBOOK, SUBSTITUTIONS, notebook_dir, home=home, timeout=110)

    assert re.search(r"^training data at \S+", result.output(3), re.MULTILINE)
    # fit(): both trials complete with the objective the notebook's regex reads from epoch 1's row
    trials = re.findall(r"^\S+ Completed: Validation-accuracy=(\d\.\d+)", result.output(10), re.MULTILINE)
    assert len(trials) == 2, result.output(10)[-3000:]
    predictions = re.findall(r"^image (\d+): prediction: (\d)$", result.output(14), re.MULTILINE)
    assert [int(index) for index, _ in predictions] == list(range(10))
    assert result.left_running == []  # chainer_tuner.delete_endpoint() stopped it
