"""The Chainer example scripts, run unchanged through the real `train` on generated data.

Each test copies one example into a fresh job dir, trains it for a few epochs on the small
data sets from examples/chainer/make_data.py, and checks what a SageMaker user relies on:
the printed report (with its ESC[J prefix, which tuning regexes match), the files written
to the model and output dirs, the packed tarballs, and the model's accuracy and serving
functions loaded back in this process.
"""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from harness.example_data import make_example_data
from harness.jobs import JobDir

chainer = pytest.importorskip("chainer")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
np = pytest.importorskip("numpy")

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "chainer"

#: One PrintReport row: epoch, main/loss, validation/main/loss, main/accuracy,
#: validation/main/accuracy, elapsed_time.
ROW = re.compile(r"^\x1b\[J(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", re.MULTILINE)
#: The public CIFAR-10 tuning job's objective-metric regex (validation accuracy of epoch 1).
TUNING_REGEX = r"\[J1\s+\d\.\d+\s+\d\.\d+\s+\d\.\d+\s+(\d\.\d+)"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_example_data(EXAMPLES / "make_data.py", tmp_path_factory.mktemp("chainer-data"))


def prepare(job: JobDir, data: Path, scripts: list[str], hyperparameters: dict[str, object]) -> None:
    """Copy the example's files into the code dir and each of the data set's channels into input/data."""
    for name in scripts:
        shutil.copy(EXAMPLES / name, job.code / name)
    for channel in sorted(path for path in data.iterdir() if path.is_dir()):
        shutil.copytree(channel, job.channel(channel.name), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": scripts[0], **hyperparameters})


def run(job: JobDir) -> str:
    result = job.run(timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert job.succeeded()
    return result.stdout


def report_rows(stdout: str) -> list[dict[str, float]]:
    names = ("epoch", "main/loss", "validation/main/loss", "main/accuracy", "validation/main/accuracy")
    return [dict(zip(names, map(float, match.groups()[:5]), strict=True)) for match in ROW.finditer(stdout)]


def tar_names(path: Path) -> set[str]:
    with tarfile.open(path, "r:gz") as archive:
        return {member.name.removeprefix("./") for member in archive if member.isfile()}


def import_example(code_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import `name` from the job's code dir as serving would (siblings importable), under a private name."""
    monkeypatch.syspath_prepend(str(code_dir))
    spec = importlib.util.spec_from_file_location(f"chainer_example_{name}", code_dir / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_mnist_trains_to_90_percent_and_leaves_its_artifacts(
    job: JobDir, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(job, data_dir / "mnist", ["mnist.py"], {"epochs": 4, "batch-size": 64})
    stdout = run(job)

    rows = report_rows(stdout)
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4], stdout
    assert rows[-1]["validation/main/accuracy"] >= 0.9
    assert (job.model / "model.npz").is_file()
    for plot in ("loss.png", "accuracy.png"):
        assert (job.output / plot).read_bytes().startswith(b"\x89PNG")
    assert "model.npz" in tar_names(job.output / "model.tar.gz")
    assert (job.output / "output.tar.gz").is_file()

    # The saved model, loaded the way serving loads it, scores as well on the test set.
    module = import_example(job.code, "mnist", monkeypatch)
    predictor = module.model_fn(str(job.model))
    with np.load(job.channel("test") / "test.npz") as test:
        images, labels = test["images"], test["labels"]
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        predicted = predictor(images).array.argmax(axis=1)
    assert (predicted == labels).mean() >= 0.9


def test_cifar_one_epoch_reports_what_the_tuning_regex_reads(job: JobDir, data_dir: Path) -> None:
    prepare(job, data_dir / "cifar", ["cifar_vgg.py", "net.py"], {"epochs": 1, "batch-size": 64})
    stdout = run(job)

    assert "# Minibatch-size: 64" in stdout
    assert "# epoch: 1" in stdout
    assert "# learning rate: 0.05" in stdout
    match = re.search(TUNING_REGEX, stdout)
    assert match is not None, stdout
    assert 0.0 <= float(match.group(1)) <= 1.0
    assert float(match.group(1)) == report_rows(stdout)[0]["validation/main/accuracy"]

    written = {"log", "loss.png", "accuracy.png", "cg.dot"}
    assert written <= {path.name for path in (job.output / "data").iterdir()}
    assert written <= tar_names(job.output / "output.tar.gz")
    assert "model.npz" in tar_names(job.output / "model.tar.gz")


def test_sentiment_trains_and_serves_sentences(job: JobDir, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = ["sentiment_analysis.py", "nets.py", "nlp_utils.py"]
    prepare(job, data_dir / "sentiment", scripts, {"epochs": 4, "num-units": 128, "model-type": "rnn"})
    stdout = run(job)

    assert "# train data: 2000" in stdout and "# test  data: 500" in stdout
    assert max(row["validation/main/accuracy"] for row in report_rows(stdout)) >= 0.8
    assert {"my_model.npz", "vocab.json", "args.json"} <= {path.name for path in job.model.iterdir()}
    assert {"log", "loss.png", "accuracy.png"} <= tar_names(job.output / "output.tar.gz")

    module = import_example(job.code, "sentiment_analysis", monkeypatch)
    model = module.model_fn(str(job.model))
    classifier, vocab = model

    # The saved (best) model reaches the accuracy the report showed.
    with np.load(job.channel("test") / "test.npz", allow_pickle=True) as test:
        xs, labels = list(test["data"]), test["labels"].ravel()
    assert (classifier.predict(xs, argmax=True) == labels).mean() >= 0.8

    sentences = np.array(["What a wonderful and brilliant film", "Boring , dull and awful", "the plot was flat"])
    data = module.input_fn(npy_bytes(sentences), "application/x-npy")
    prediction = module.predict_fn(data, model)
    body, content_type = module.output_fn(prediction, "application/x-npy")
    assert content_type == "application/x-npy"
    rows = np.load(io.BytesIO(body), allow_pickle=False)
    assert rows.dtype.kind == "U" and rows.shape == (3, 3)
    assert [row[0] for row in rows] == [
        "what a wonderful and brilliant film",
        "boring , dull and awful",
        "the plot was flat",
    ]
    assert [row[1] for row in rows] == ["1", "0", "0"]
    assert all(0.5 <= float(row[2]) <= 1.0 for row in rows)

    with pytest.raises(ValueError):
        module.input_fn(b'["a sentence"]', "application/json")
    assert vocab["<eos>"] == 0 and vocab["<unk>"] == 1


ADAPTER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_chainer.training:run"}


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="needs Open MPI's mpirun (apt-get install openmpi-bin)")
def test_chainermn_with_two_processes_trains_to_the_same_accuracy(job: JobDir, data_dir: Path) -> None:
    pytest.importorskip("mpi4py")
    prepare(
        job,
        data_dir / "mnist",
        ["mnist_chainermn.py"],
        {"epochs": 4, "batch-size": 64, "sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": 2},
    )
    result = job.run(ADAPTER, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Running 2 MPI processes" in result.stderr
    # Only rank 0 reports: every report row carries rank 0's tag.
    rows = [line for line in result.stdout.splitlines() if "\x1b[J" in line]
    assert rows and all(re.match(r"\[\d+,0\]<stdout>:", line) for line in rows)
    accuracies = [float(row.split("\x1b[J", 1)[1].split()[4]) for row in rows]
    assert accuracies[-1] >= 0.9
    assert (job.model / "model.npz").is_file()


def test_mnist_model_is_served_with_the_chainer_defaults(job: JobDir, data_dir: Path, tmp_path: Path) -> None:
    from harness.serving import Server

    prepare(job, data_dir / "mnist", ["mnist.py"], {"epochs": 2})
    run(job)
    serving_base = tmp_path / "endpoint"
    (serving_base / "model").mkdir(parents=True)
    shutil.copy(job.output / "model.tar.gz", serving_base / "model" / "model.tar.gz")
    code = serving_base / "code"
    code.mkdir()
    shutil.copy(EXAMPLES / "mnist.py", code / "mnist.py")
    server = Server(serving_base, {"SAGEMAKER_PROGRAM": "mnist.py", "SAGEMAKER_SERVING_FRAMEWORK": "chainer"}, workers=1)
    try:
        server.wait_ready(timeout=120)
        with np.load(job.channel("test") / "test.npz") as test:
            images, labels = test["images"][:64], test["labels"][:64]
        buffer = io.BytesIO()
        np.save(buffer, images)
        # What the SDK's ChainerPredictor sends and expects.
        reply = server.invoke(buffer.getvalue(), "application/x-npy", "application/x-npy")
        assert reply.status == 200, reply.body
        scores = np.load(io.BytesIO(reply.body), allow_pickle=False)
        assert scores.shape == (64, 10)
        assert (scores.argmax(axis=1) == labels).mean() >= 0.85
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("name", ["mnist", "cifar_vgg", "sentiment_analysis"])
@pytest.mark.parametrize(
    ("num_gpus", "cuda_available", "device"), [("0", False, -1), ("0", True, -1), ("1", False, -1), ("1", True, 0)]
)
def test_examples_use_the_gpu_only_when_asked_and_available(
    name: str, num_gpus: str, cuda_available: bool, device: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPU here: CuPy's availability is faked, which is all the device choice reads."""
    module = import_example(EXAMPLES, name, monkeypatch)
    monkeypatch.setenv("SM_NUM_GPUS", num_gpus)
    monkeypatch.setattr(chainer.backends.cuda, "available", cuda_available)
    assert module.pick_device() == device


@pytest.mark.parametrize(("num_gpus", "cuda_available", "expected"), [("0", True, False), ("2", False, False),
                                                                       ("2", True, True)])
def test_chainermn_picks_nccl_only_with_gpus(
    num_gpus: str, cuda_available: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = import_example(EXAMPLES, "mnist_chainermn", monkeypatch)
    monkeypatch.setenv("SM_NUM_GPUS", num_gpus)
    monkeypatch.setattr(chainer.backends.cuda, "available", cuda_available)
    assert module.has_gpus() is expected
