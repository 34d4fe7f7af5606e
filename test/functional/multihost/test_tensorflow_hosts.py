"""The TensorFlow distributed examples as real two-host jobs: `train` on algo-1 and algo-2.

Each host is a network namespace with its own name and its own /opt/ml (see harness.hosts), so
the TF_CONFIG the adapter writes (`algo-1:2222`, `algo-2:2223`, `algo-1:8890`...) resolves and
connects exactly as between SageMaker instances. The single-host tests in
test/functional/tensorflow run the same scripts with local ports and stand-in servers; these
check what only a cluster shows: the adapter's own parameter servers serve the job, only the
chief writes the model, and no parameter server outlives the job on any host.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.cluster_jobs import ClusterJob, HostRun
from harness.example_data import make_example_data, mean_predictor_mse
from harness.hosts import HostCluster, can_make_hosts
from harness.jobs import JobDir

reason = can_make_hosts()
if reason is not None:
    pytest.skip(reason, allow_module_level=True)

tf = pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")
np = pytest.importorskip("numpy")

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tensorflow"
ADAPTER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_tensorflow.training:run"}
PARAMETER_SERVER_MODULE = "container_runtime_tensorflow.parameter_server"
VAL_LOSS_REGEX = r" val_loss: ([0-9\.]+)"
STARTED_SERVER = re.compile(r"Started the parameter server for (algo-\d) \(pid (\d+)\)")
#: Generous: four TensorFlow processes share what is often a single core.
JOB_TIMEOUT = 280


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_example_data(EXAMPLES / "make_data.py", tmp_path_factory.mktemp("tensorflow-data")) / "regression"


@pytest.fixture(scope="module")
def baseline_mse(data_dir: Path) -> float:
    """What a useless model scores: the bar every example must beat."""
    return mean_predictor_mse(data_dir)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[HostCluster]:
    """Fresh namespaces per test, so that whatever is left in them belongs to that test's job."""
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        yield hosts


def copy_example(program: str, data: Path) -> Callable[[JobDir], None]:
    """What `ClusterJob.each` applies: the script and its siblings into code/, the channels into input/data."""

    def copy(job: JobDir) -> None:
        for name in ("train.py", "model_def.py", program):
            shutil.copy(EXAMPLES / name, job.code / name)
        for channel in ("train", "test"):
            shutil.copytree(data / channel, job.channel(channel), dirs_exist_ok=True)

    return copy


def succeeded(runs: dict[str, HostRun], job: ClusterJob) -> None:
    for name, run in runs.items():
        assert run.returncode == 0, f"{name} exited {run.returncode}:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
        assert job.jobs[name].succeeded(), f"{name} wrote no output/success: {job.jobs[name].failure()}"


def val_losses(stdout: str) -> list[float]:
    return [float(value) for value in re.findall(VAL_LOSS_REGEX, stdout)]


def assert_servable(export_dir: Path, data: Path) -> None:
    """The SavedModel answers through `serving_default`, as TensorFlow Serving would call it."""
    assert (export_dir / "saved_model.pb").is_file(), export_dir
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    x_test = np.load(data / "test" / "x_test.npy")
    assert serve(features=tf.constant(x_test))["output_0"].shape == (len(x_test), 1)


def parameter_server_pids() -> dict[int, str]:
    """Every live process (any namespace) running the adapter's parameter server, with its cmdline."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if PARAMETER_SERVER_MODULE in cmdline:
            found[int(entry.name)] = cmdline
    return found


def namespace_pids(namespace: str) -> list[str]:
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_parameter_server_job_trains_across_two_hosts_and_leaves_no_parameter_server(
    cluster: HostCluster, data_dir: Path, baseline_mse: float
) -> None:
    """The adapter starts a parameter server per host beside the script and must stop it on every
    host once the job ends there: a survivor would keep a SageMaker instance (and its port) busy."""
    checkpoints = cluster.base_dir / "checkpoints"  # each host's own, as a local --model_dir
    job = ClusterJob(
        cluster,
        {
            "sagemaker_program": "train_parameter_server.py",
            "sagemaker_parameter_server_enabled": True,
            "epochs": 8,
            "batch_size": 32,
            "learning_rate": 0.05,
            "model_dir": str(checkpoints),
        },
    ).each(copy_example("train_parameter_server.py", data_dir))
    before = parameter_server_pids()  # another job on this machine is not ours to judge

    runs = job.run(ADAPTER, timeout=JOB_TIMEOUT)

    # Checked before the cluster is torn down (teardown would kill what is left).
    leftovers = {pid: cmdline for pid, cmdline in parameter_server_pids().items() if pid not in before}
    in_namespaces = {host.name: namespace_pids(host.namespace) for host in cluster.hosts}
    succeeded(runs, job)
    assert not leftovers, leftovers
    assert in_namespaces == {"algo-1": [], "algo-2": []}

    master, worker = runs["algo-1"].stdout + runs["algo-1"].stderr, runs["algo-2"].stdout + runs["algo-2"].stderr
    # Each host ran its own parameter server, at the address TF_CONFIG gives it.
    started = dict(STARTED_SERVER.findall(master + worker))
    assert set(started) == {"algo-1", "algo-2"}, master + worker
    assert not {int(pid) for pid in started.values()} & set(parameter_server_pids())
    assert "parameter server ps:0 serving at algo-1:2223" in master
    assert "parameter server ps:1 serving at algo-2:2223" in worker
    assert "had already exited" not in master + worker  # they served until stopped

    assert "1 worker(s), 2 parameter server(s)" in master
    assert "worker 0: the chief has finished" in worker
    losses = val_losses(master)
    assert len(losses) == 8, master
    assert losses[-1] < 0.75 * baseline_mse, (losses, baseline_mse)
    assert not val_losses(worker)  # the coordinator alone reports

    algo1, algo2 = (host.base for host in cluster.hosts)
    assert_servable(algo1 / "model" / "1", data_dir)
    assert (algo1 / "checkpoints" / "model.ckpt-8.index").is_file()
    # The worker only executes steps for the coordinator: no model, no checkpoints.
    assert not any((algo2 / "model").iterdir())
    assert not (algo2 / "checkpoints").exists()


def test_multi_worker_mirrored_job_trains_in_step_across_two_hosts_and_saves_from_the_chief_only(
    cluster: HostCluster, data_dir: Path, baseline_mse: float
) -> None:
    """Both hosts are workers of one synchronous model; worker 0 (algo-1) is the chief and the only
    host whose model dir SageMaker would upload something from."""
    job = ClusterJob(
        cluster,
        {
            "sagemaker_program": "train_multi_worker.py",
            "sagemaker_multi_worker_mirrored_strategy_enabled": True,
            "epochs": 6,
            "batch_size": 16,
            "learning_rate": 0.05,
        },
    ).each(copy_example("train_multi_worker.py", data_dir))

    runs = job.run(ADAPTER, timeout=JOB_TIMEOUT)

    in_namespaces = {host.name: namespace_pids(host.namespace) for host in cluster.hosts}
    succeeded(runs, job)
    assert in_namespaces == {"algo-1": [], "algo-2": []}
    chief, worker = runs["algo-1"].stdout, runs["algo-2"].stdout
    assert "task worker:0 of 2 worker(s), chief: True, replicas in sync: 2" in chief
    assert "task worker:1 of 2 worker(s), chief: False, replicas in sync: 2" in worker
    losses = val_losses(chief)
    assert len(losses) == 6, chief
    assert losses == val_losses(worker)  # synchronous: the same model on both hosts
    assert losses[-1] < 0.75 * baseline_mse, (losses, baseline_mse)

    algo1, algo2 = (host.base for host in cluster.hosts)
    assert_servable(algo1 / "model" / "1", data_dir)
    # --model_dir defaults to SM_MODEL_DIR: the chief's checkpoints land beside the SavedModel.
    assert (algo1 / "model" / "model.ckpt-6.index").is_file()
    # The other worker saves too (the strategy needs it) but into a scratch dir it deletes.
    assert not any((algo2 / "model").iterdir())
