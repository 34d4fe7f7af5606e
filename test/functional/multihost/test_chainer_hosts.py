"""The ChainerMN MNIST example as a real two-host job: `train` with the Chainer adapter on algo-1 and algo-2.

test/functional/chainer runs the same script with two ranks on one host; this checks what only a
cluster shows: with two hosts the adapter uses MPI without being asked, one rank per host trains
on its share of the data through the runtime's own sshd, rank 0's report reaches algo-1's log,
and only rank 0 (on algo-1) writes the model, as each host has its own /opt/ml.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.cluster_jobs import ClusterJob, HostRun
from harness.example_data import make_example_data
from harness.hosts import HostCluster, can_run_mpi_across_hosts
from harness.jobs import JobDir

reason = can_run_mpi_across_hosts()
if reason is not None:
    pytest.skip(reason, allow_module_level=True)
pytest.importorskip("chainer")
pytest.importorskip("mpi4py")
pytest.importorskip("sklearn")  # make_data.py builds MNIST from scikit-learn's digits
pytest.importorskip("matplotlib")  # the example's PlotReport

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "chainer"
SCRIPT = "mnist_chainermn.py"
ADAPTER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_chainer.training:run"}
#: No `sagemaker_use_mpi`: two hosts must be enough for the adapter to use MPI.
HYPERPARAMETERS = {"sagemaker_program": SCRIPT, "epochs": 4, "batch-size": 64, "communicator": "naive"}
#: One PrintReport row as mpirun relays it: `[job,rank]<stdout>:ESC[J` then epoch, main/loss,
#: validation/main/loss, main/accuracy, validation/main/accuracy, elapsed_time.
ROW = re.compile(r"^\[\d+,(\d+)\]<stdout>:\x1b\[J(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s*$", re.MULTILINE)
#: What only rank 0 writes: the model to the model dir, the plots and graph to the output dir.
MODEL_FILES = {"model.npz"}
REPORT_FILES = {"loss.png", "accuracy.png", "cg.dot"}


@pytest.fixture(scope="module")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_example_data(EXAMPLES / "make_data.py", tmp_path_factory.mktemp("chainer-data")) / "mnist"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[HostCluster]:
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        yield hosts


def place_example(mnist: Path) -> Callable[[JobDir], None]:
    """Every host has its own /opt/ml, so each one needs the script and both channels."""

    def place(job: JobDir) -> None:
        shutil.copy(EXAMPLES / SCRIPT, job.code / SCRIPT)
        for channel in ("train", "test"):
            shutil.copytree(mnist / channel, job.channel(channel), dirs_exist_ok=True)

    return place


def names_under(path: Path) -> set[str]:
    return {item.name for item in path.rglob("*") if item.is_file()}


def tar_names(path: Path) -> set[str]:
    with tarfile.open(path, "r:gz") as archive:
        return {Path(member.name).name for member in archive if member.isfile()}


def test_chainermn_mnist_on_two_hosts_reaches_90_percent_and_only_rank_0_on_algo_1_saves(
    cluster: HostCluster, mnist: Path
) -> None:
    job = ClusterJob(cluster, HYPERPARAMETERS)
    job.each(place_example(mnist))
    runs: dict[str, HostRun] = job.run(ADAPTER, timeout=240)

    for run in runs.values():
        assert run.returncode == 0, f"{run.name}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        assert job.jobs[run.name].succeeded()
    master_log = runs["algo-1"].stdout + runs["algo-1"].stderr
    assert "--host algo-1:1,algo-2:1" in master_log
    assert "# MPI processes: 2, communicator: naive" in runs["algo-1"].stdout

    # mpirun on algo-1 relays every rank's output; only rank 0 prints the report.
    rows = ROW.findall(runs["algo-1"].stdout)
    assert [int(epoch) for _, epoch, _ in rows] == [1, 2, 3, 4], runs["algo-1"].stdout[-3000:]
    assert {rank for rank, _, _ in rows} == {"0"}
    assert float(rows[-1][2]) >= 0.9
    assert "\x1b[J" not in runs["algo-2"].stdout

    master, worker = job.jobs["algo-1"], job.jobs["algo-2"]
    assert names_under(master.model) >= MODEL_FILES
    assert names_under(master.output) >= REPORT_FILES
    assert tar_names(master.output / "model.tar.gz") >= MODEL_FILES
    assert not MODEL_FILES & names_under(worker.model)
    assert not REPORT_FILES & names_under(worker.output)
    assert not MODEL_FILES & tar_names(worker.output / "model.tar.gz")
