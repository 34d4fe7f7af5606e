"""Local mode's `slurm` backend on a real Slurm cluster (slurmctld and a slurmd per namespace host): the
`container-runtime` command runs on the login node (algo-1) with its home on the filesystem the nodes
share, exactly as a user on a cluster would run it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.example_data import make_example_data
from harness.jobs import SCRIPTS, processes_of_job
from harness.local_cli import cli_command
from harness.slurm import CONTROLLER, SlurmCluster

HOSTS = """\
import json, os
print("host", os.environ["SM_CURRENT_HOST"], "of", os.environ["SM_HOSTS"], flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "host"), "w").write(os.environ["SM_CURRENT_HOST"])
"""
FAILS_ON_ALGO_2 = """\
import os, sys
if os.environ["SM_CURRENT_HOST"] == "algo-2":
    raise ValueError("algo-2 cannot read its shard")
"""
STOPPABLE = """\
import os, signal, sys, time
def stop(*_):
    open(os.path.join(os.environ["SM_MODEL_DIR"], "stopped-by-sigterm"), "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("training on", os.environ["SM_CURRENT_HOST"], flush=True)
time.sleep(300)
"""


def cli(slurm: SlurmCluster, *arguments: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return slurm.run(CONTROLLER, [*cli_command(), "--home", str(slurm.shared_dir / "home"), *arguments],
                     timeout=timeout)


def script(slurm: SlurmCluster, name: str, text: str) -> str:
    path = slurm.shared_dir / "code" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return str(path)


def start_stoppable_job(slurm: SlurmCluster, job: str) -> subprocess.Popen[str]:
    """The CLI running a 2-node job that trains until SIGTERM, on the login node, its output piped."""
    command = slurm.client(CONTROLLER, [*cli_command(), "--home", str(slurm.shared_dir / "home"), "run",
                                        script(slurm, "stoppable.py", STOPPABLE), "--backend", "slurm",
                                        "--instance-count", "2", "--job-name", job])
    return subprocess.Popen(command, env=slurm.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def record(slurm: SlurmCluster, job: str) -> dict[str, Any]:
    return json.loads((slurm.shared_dir / "home" / "jobs" / job / "describe.json").read_text())


def test_a_two_node_job_runs_train_on_each_node_and_records_the_slurm_job(slurm_cluster: SlurmCluster) -> None:
    result = cli(slurm_cluster, "run", script(slurm_cluster, "hosts.py", HOSTS), "--backend", "slurm",
                 "--instance-count", "2", "--job-name", "two-nodes")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for host in ("algo-1", "algo-2"):  # Slurm's node names, as each node's train read them from Slurm
        assert f'{host} | host {host} of ["algo-1","algo-2"]' in lines
    described = record(slurm_cluster, "two-nodes")
    assert described["TrainingJobStatus"] == "Completed"
    assert described["SlurmJobId"].isdigit()
    job_dir = slurm_cluster.shared_dir / "home" / "jobs" / "two-nodes"
    assert "host algo-2 of" in (job_dir / "logs" / "algo-2.log").read_text()
    assert (job_dir / "output" / "model.tar.gz").is_file()
    assert not (job_dir / "hosts" / "algo-1" / "input" / "config" / "resourceconfig.json").exists()


def test_a_failing_node_fails_the_job_with_its_failure_file_as_the_reason(slurm_cluster: SlurmCluster) -> None:
    result = cli(slurm_cluster, "run", script(slurm_cluster, "fails.py", FAILS_ON_ALGO_2), "--backend", "slurm",
                 "--instance-count", "2", "--job-name", "fails")
    assert result.returncode == 1, result.stdout + result.stderr
    reason = record(slurm_cluster, "fails")["FailureReason"]
    assert reason.startswith("algo-2: ExecuteUserScriptError: ExitCode 1 ")
    assert "ValueError: algo-2 cannot read its shard" in reason


def test_ctrl_c_cancels_with_sigterm_first_so_scripts_can_checkpoint(slurm_cluster: SlurmCluster) -> None:
    process = start_stoppable_job(slurm_cluster, "stopped")
    assert process.stdout is not None
    training: set[str] = set()
    seen = []
    deadline = time.monotonic() + 120
    while len(training) < 2 and time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if "| training on " in line:
            training.add(line.split()[0])
    assert training == {"algo-1", "algo-2"}, "".join(seen)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(seen) + output
    described = record(slurm_cluster, "stopped")
    assert described["TrainingJobStatus"] == "Stopped"
    for host in ("algo-1", "algo-2"):
        assert (slurm_cluster.shared_dir / "home" / "jobs" / "stopped" / "hosts" / host / "model"
                / "stopped-by-sigterm").exists(), host
    # The job may still be COMPLETING (Slurm's own clean-up) when the CLI has its hosts' statuses.
    assert slurm_cluster.wait_for_job(described["SlurmJobId"], timeout=30) in ("CANCELLED", "COMPLETED", "FAILED")


def test_an_mpi_job_starts_its_ranks_through_slurm_with_no_sshd(slurm_cluster: SlurmCluster) -> None:
    pytest.importorskip("mpi4py")
    result = cli(slurm_cluster, "run", str(SCRIPTS / "mpi_hosts.py"), "--backend", "slurm", "--instance-count", "2",
                 "-H", "sagemaker_mpi_enabled=true", "--job-name", "mpi", timeout=240)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "Started sshd" not in result.stdout
    assert "-mca plm slurm" in result.stdout
    assert "algo-1 | [1,1]<stdout>:rank 1 of 2 on algo-2: sum 1" in result.stdout
    # mpirun exports the master's SM_* paths to every rank; on the shared filesystem they are the
    # master's own dirs, where rank 1 (on algo-2, and knowing it) wrote its report.
    report = json.loads((slurm_cluster.shared_dir / "home" / "jobs" / "mpi" / "hosts" / "algo-1" / "model"
                         / "rank-1.json").read_text())
    assert report["sm_current_host"] == "algo-2"
    assert report["sum_of_ranks"] == 1


def test_a_node_whose_slurmd_dies_fails_the_job_within_a_bound(slurm_cluster: SlurmCluster) -> None:
    process = start_stoppable_job(slurm_cluster, "lost")
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if "algo-2 | training on" in process.stdout.readline():
            break
    slurm_cluster.slurmd("algo-2").signal_leader(signal.SIGKILL)
    killed_at = time.monotonic()
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output
    assert time.monotonic() - killed_at < 60
    described = record(slurm_cluster, "lost")
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("algo-")
    # The dead slurmd's node keeps its step running: the node's own watcher sees the job is over and
    # ends its train (SIGTERM, so the script checkpoints), so nothing of the job is left running.
    job_dir = slurm_cluster.shared_dir / "home" / "jobs" / "lost"
    deadline = time.monotonic() + 60
    while processes_of_job(job_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_of_job(job_dir) == []


def test_a_tuning_job_runs_its_trials_as_slurm_jobs_two_at_a_time(slurm_cluster: SlurmCluster) -> None:
    objective = script(slurm_cluster, "objective.py", "import os\nx = float(os.environ['SM_HP_X'])\n"
                                                      "print(f'loss={(x - 0.3) ** 2}', flush=True)\n")
    result = cli(slurm_cluster, "tune", objective, "--backend", "slurm", "--range", "x=continuous:0:1",
                 "--objective", "loss", "--objective-type", "Minimize", "--metric", r"loss=loss=([0-9.e-]+)",
                 "--strategy", "Random", "--max-jobs", "4", "--max-parallel-jobs", "2", "--job-name", "tuned",
                 timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    jobs = sorted((slurm_cluster.shared_dir / "home" / "tuning" / "tuned" / "jobs").iterdir())
    trials = [json.loads((job / "describe.json").read_text()) for job in jobs if (job / "describe.json").exists()]
    assert len(trials) == 4
    assert [(trial["TrainingJobStatus"], trial.get("FailureReason")) for trial in trials] == [("Completed", None)] * 4
    assert all(trial["SlurmJobId"] for trial in trials)
    assert len({trial["SlurmJobId"] for trial in trials}) == 4


if sys.platform != "linux":  # pragma: no cover - the harness is Linux only
    pytest.skip("Slurm tests need Linux", allow_module_level=True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--partition", "gpu"), "partition 'gpu': Slurm knows debug"),
        (("--instance-count", "3"), "instance count 3: the default partition has 2 node(s)"),
    ],
)
def test_bad_slurm_input_is_one_line_before_anything_is_submitted(
    slurm_cluster: SlurmCluster, arguments: tuple[str, ...], message: str
) -> None:
    result = cli(slurm_cluster, "run", script(slurm_cluster, "hosts.py", HOSTS), "--backend", "slurm", *arguments)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {message}"
    assert slurm_cluster.check(CONTROLLER, ["squeue", "-h", "-t", "all", "-o", "%i"]).strip() == ""


def test_a_jobs_dir_the_nodes_do_not_share_is_refused_before_submission(slurm_cluster: SlurmCluster) -> None:
    """The hosts' base dir is each node's own directory at one path: a home there is not shared."""
    home = slurm_cluster.cluster.base_dir / "home"
    result = slurm_cluster.run(CONTROLLER, [*cli_command(), "--home", str(home), "run",
                                            script(slurm_cluster, "hosts.py", HOSTS), "--backend", "slurm",
                                            "--instance-count", "2"])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is not on a filesystem the Slurm nodes share" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_without_slurms_clients_the_backend_says_what_to_install(tmp_path: Path) -> None:
    from harness.local_cli import cli as local_cli

    result = local_cli(tmp_path, "run", str(SCRIPTS / "exit_code.py"), "--backend", "slurm",
                       env={"PATH": str(Path(sys.executable).parent)})
    assert result.returncode == 2
    assert result.stderr.startswith("error: --backend slurm needs Slurm's sbatch, squeue, scancel, sinfo, srun on PATH")


EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
#: One ChainerMN PrintReport row as mpirun relays it, with the host prefix: rank, epoch, validation accuracy.
CHAINER_ROW = re.compile(r"\[\d+,(\d+)\]<stdout>:\x1b\[J(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s*$", re.MULTILINE)


@pytest.mark.slow
def test_chainermn_mnist_on_two_slurm_nodes_reaches_90_percent(slurm_cluster: SlurmCluster) -> None:
    pytest.importorskip("chainer")
    pytest.importorskip("mpi4py")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    data = make_example_data(EXAMPLES / "chainer" / "make_data.py", slurm_cluster.shared_dir / "data", "--only",
                             "mnist") / "mnist"
    result = cli(slurm_cluster, "run", "mnist_chainermn.py", "--source-dir", str(EXAMPLES / "chainer"),
                 "--framework", "chainer", "--backend", "slurm", "--instance-count", "2",
                 "-H", "epochs=4", "-H", "batch-size=64", "-H", "communicator=naive",
                 "-c", f"train={data / 'train'}", "-c", f"test={data / 'test'}", "--job-name", "chainermn",
                 timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "-mca plm slurm" in result.stdout and "Started sshd" not in result.stdout
    rows = CHAINER_ROW.findall(result.stdout)
    assert [int(epoch) for _, epoch, _ in rows] == [1, 2, 3, 4], result.stdout[-3000:]
    assert float(rows[-1][2]) >= 0.9
    assert record(slurm_cluster, "chainermn")["ModelArtifacts"]["S3ModelArtifacts"].endswith("model.tar.gz")


@pytest.mark.slow
def test_tensorflow_multi_worker_on_two_slurm_nodes(slurm_cluster: SlurmCluster) -> None:
    pytest.importorskip("tensorflow")
    pytest.importorskip("sklearn")
    data = make_example_data(EXAMPLES / "tensorflow" / "make_data.py", slurm_cluster.shared_dir / "data") \
        / "regression"
    result = cli(slurm_cluster, "run", "train_multi_worker.py", "--source-dir", str(EXAMPLES / "tensorflow"),
                 "--framework", "tensorflow", "--backend", "slurm", "--instance-count", "2",
                 "-H", "sagemaker_multi_worker_mirrored_strategy_enabled=true", "-H", "epochs=3",
                 "-H", "batch_size=16", "-c", f"train={data / 'train'}", "-c", f"test={data / 'test'}",
                 "-e", "TF_CPP_MIN_LOG_LEVEL=2", "--job-name", "tf-workers", timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "algo-1 | " in result.stdout and "task worker:0 of 2 worker(s), chief: True" in result.stdout
    assert "task worker:1 of 2 worker(s), chief: False" in result.stdout
    assert record(slurm_cluster, "tf-workers")["TrainingJobStatus"] == "Completed"


def test_a_rank_that_raises_on_node_2_fails_the_job_everywhere_naming_the_rank(slurm_cluster: SlurmCluster) -> None:
    pytest.importorskip("mpi4py")
    result = cli(slurm_cluster, "run", str(SCRIPTS / "mpi_hosts.py"), "--backend", "slurm", "--instance-count", "2",
                 "-H", "sagemaker_mpi_enabled=true", "-H", "raise-on=algo-2", "--job-name", "rank-fails", timeout=240)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr
    described = record(slurm_cluster, "rank-fails")
    assert described["TrainingJobStatus"] == "Failed"
    assert "rank 1 on algo-2 failed on purpose" in described["FailureReason"]
    assert all(host["ExitCode"] != 0 for host in described["Hosts"].values())


def test_an_outside_scancel_during_training_stops_the_job(slurm_cluster: SlurmCluster) -> None:
    """Someone runs `scancel --signal=TERM` on the job: the scripts' handlers run and the record says Stopped."""
    process = start_stoppable_job(slurm_cluster, "cancelled")
    assert process.stdout is not None
    training: set[str] = set()
    deadline = time.monotonic() + 120
    while len(training) < 2 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if "| training on " in line:
            training.add(line.split()[0])
    job_id = json.loads((slurm_cluster.shared_dir / "home" / "jobs" / "cancelled" / "describe.json").read_text())[
        "SlurmJobId"]
    slurm_cluster.check(CONTROLLER, ["scancel", "--signal=TERM", job_id])
    output, _ = process.communicate(timeout=60)
    described = record(slurm_cluster, "cancelled")
    assert described["TrainingJobStatus"] == "Stopped", output
    assert described["FailureReason"].startswith("stopped from outside the job (SIGTERM to ")
    for host in ("algo-1", "algo-2"):
        assert (slurm_cluster.shared_dir / "home" / "jobs" / "cancelled" / "hosts" / host / "model"
                / "stopped-by-sigterm").exists(), host
    assert process.returncode == 130


def test_early_stopping_cancels_a_slurm_trial_with_sigterm(slurm_cluster: SlurmCluster) -> None:
    """A tuning job's trials on Slurm: a clearly worse one is stopped by the median rule through scancel
    with SIGTERM, so its script checkpoints, exactly as on this machine."""
    common = ["--backend", "slurm", "-H", "epochs=8", "-H", "seconds-per-epoch=0.4", "--objective", "loss",
              "--objective-type", "Minimize", "--metric", r"loss=loss = ([0-9.]+)"]
    parent = cli(slurm_cluster, "tune", str(SCRIPTS / "epochs_objective.py"), *common, "--strategy", "Grid",
                 "--range", "offset=categorical:0.0,0.01,0.02", "--max-parallel-jobs", "2", "--job-name", "good-ones",
                 timeout=300)
    assert parent.returncode == 0, parent.stdout[-3000:] + parent.stderr
    child = cli(slurm_cluster, "tune", str(SCRIPTS / "epochs_objective.py"), *common, "--strategy", "Random",
                "--range", "offset=categorical:5.0", "--max-jobs", "1", "--early-stopping", "Auto",
                "--warm-start", "good-ones", "--job-name", "bad-one", timeout=300)
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr
    (job_dir,) = (slurm_cluster.shared_dir / "home" / "tuning" / "bad-one" / "jobs").iterdir()
    described = json.loads((job_dir / "describe.json").read_text())
    assert described["TrainingJobStatus"] == "Stopped"
    assert described["SlurmJobId"]
    assert (job_dir / "hosts" / "algo-1" / "model" / "sigterm.txt").is_file()
    assert "saved a checkpoint on SIGTERM" in (job_dir / "logs" / "algo-1.log").read_text()
