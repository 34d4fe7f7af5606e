"""`container-runtime run`: a training job from the command line, its record, its artifacts, and
the one-line errors for bad input that leave no partial job behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.hosts import can_run_mpi_across_hosts
from harness.local_cli import cli, cli_command

REPO = Path(__file__).resolve().parents[3]
QUICKSTART = REPO / "examples" / "quickstart"
SCRIPTS = REPO / "test" / "scripts"
ACCURACY = "validation:accuracy=([0-9.]+)"


def quickstart(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli(home, "run", str(QUICKSTART / "train.py"), "-c", f"train={QUICKSTART / 'data' / 'train.csv'}",
               "-c", f"test=file://{QUICKSTART / 'data' / 'test.csv'}", "-H", "epochs=3", "-H", "learning-rate=0.05",
               "--metric", f"accuracy={ACCURACY}", *extra)


def only_job(home: Path) -> Path:
    jobs = sorted((home / "jobs").iterdir())
    assert len(jobs) == 1, jobs
    return jobs[0]


def record(job_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((job_dir / "describe.json").read_text())
    return loaded


def test_a_job_leaves_its_artifacts_logs_and_record(tmp_path: Path) -> None:
    result = quickstart(tmp_path, "--base-job-name", "quick")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "algo-1 | epoch=3" in result.stdout
    job_dir = only_job(tmp_path)
    assert job_dir.name.startswith("quick-2")
    described = record(job_dir)
    assert described["TrainingJobStatus"] == "Completed"
    assert described["FailureReason"] is None
    assert described["TrainingTimeInSeconds"] > 0
    assert described["HyperParameters"]["epochs"] == "3"
    assert described["HyperParameters"]["learning-rate"] == "0.05"
    assert [m["MetricName"] for m in described["FinalMetricDataList"]] == ["accuracy"]
    assert Path(described["ModelArtifacts"]["S3ModelArtifacts"]) == job_dir / "output" / "model.tar.gz"
    assert (job_dir / "output" / "model.tar.gz").is_file()
    assert (job_dir / "output" / "output.tar.gz").is_file()
    assert "epoch=3" in (job_dir / "logs" / "algo-1.log").read_text()
    # The host saw the hyperparameters JSON-encoded, as the SDK writes them.
    sent = json.loads((job_dir / "hosts" / "algo-1" / "input" / "config" / "hyperparameters.json").read_text())
    assert sent["epochs"] == "3" and sent["sagemaker_program"] == '"train.py"'
    listed = cli(tmp_path, "jobs")
    assert f"{job_dir.name}  Completed" in listed.stdout


def test_job_names_sort_by_start_time(tmp_path: Path) -> None:
    for _ in range(2):
        assert quickstart(tmp_path, "--base-job-name", "same").returncode == 0
    names = [path.name for path in (tmp_path / "jobs").iterdir()]
    created = [record(tmp_path / "jobs" / name)["CreationTime"] for name in sorted(names)]
    assert len(set(names)) == 2
    assert created == sorted(created)


def test_artifacts_and_record_go_to_a_local_output_dir(tmp_path: Path) -> None:
    output = tmp_path / "results"
    result = quickstart(tmp_path / "home", "--job-name", "to-output", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert (output / "to-output" / "output" / "model.tar.gz").is_file()
    assert (output / "to-output" / "logs" / "algo-1.log").is_file()
    described = json.loads((output / "to-output" / "describe.json").read_text())
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == str(output / "to-output" / "output" / "model.tar.gz")


def test_a_failing_script_gives_a_failed_record_naming_the_error(tmp_path: Path) -> None:
    result = cli(tmp_path, "run", str(SCRIPTS / "raise_error.py"), "--job-name", "broken")
    assert result.returncode == 1
    described = record(tmp_path / "jobs" / "broken")
    assert described["TrainingJobStatus"] == "Failed"
    # The failing host's contractual output/failure, on one line (as SageMaker's FailureReason).
    failure = (tmp_path / "jobs" / "broken" / "hosts" / "algo-1" / "output" / "failure").read_text()
    assert described["FailureReason"] == "algo-1: " + " ".join(failure.split())
    assert described["FailureReason"].startswith("algo-1: ExecuteUserScriptError: ExitCode 1 ")
    assert "ValueError: boom: the learning rate is negative" in described["FailureReason"]


def test_the_failure_reason_is_the_hosts_failure_file_even_when_the_script_wrote_it(tmp_path: Path) -> None:
    """A script may write output/failure itself (the contract allows it): that text is the reason."""
    script = tmp_path / "own_reason.py"
    script.write_text(
        "import os, sys\n"
        "path = os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure')\n"
        "open(path, 'w').write('DataError: shard 3 is empty\\nsee the data team')\n"
        "sys.exit(2)\n"
    )
    result = cli(tmp_path, "run", str(script), "--job-name", "own-reason")
    assert result.returncode == 1
    assert record(tmp_path / "jobs" / "own-reason")["FailureReason"] == (
        "algo-1: DataError: shard 3 is empty see the data team"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-c", "train=/nonexistent/data"], "error: channel 'train': no such file or directory '/nonexistent/data'"),
        (["-c", "train=ftp://host/data"], "error: channel 'train': 'ftp://host/data': only local paths"),
        (["--metric", "loss=loss: [0-9.]+"], "error: metric 'loss': regex 'loss: [0-9.]+' has no group"),
        (["--metric", "loss=loss: ([0-9.]+"], "error: metric 'loss': bad regex"),
        (["-H", "novalue"], "error: hyperparameter 'novalue': expected NAME=VALUE"),
        (["--job-name", "bad_name!"], "error: job name 'bad_name!'"),
        (["--instance-count", "0"], "error: instance count 0: must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = cli(tmp_path, "run", str(QUICKSTART / "train.py"), *arguments)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "jobs").exists() or not list((tmp_path / "jobs").iterdir())


def test_an_entry_point_missing_from_the_source_dir_is_refused(tmp_path: Path) -> None:
    result = cli(tmp_path, "run", "nothere.py", "--source-dir", str(QUICKSTART))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: entry point 'nothere.py' is not in the source dir '{QUICKSTART}'"


def test_an_existing_job_dir_is_never_reused(tmp_path: Path) -> None:
    assert quickstart(tmp_path, "--job-name", "once").returncode == 0
    before = (tmp_path / "jobs" / "once" / "describe.json").read_text()
    again = quickstart(tmp_path, "--job-name", "once")
    assert again.returncode == 2
    assert "job dir" in again.stderr and "already exists" in again.stderr
    assert (tmp_path / "jobs" / "once" / "describe.json").read_text() == before


def test_several_hosts_without_root_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from container_runtime.local import cli as local_cli
    from container_runtime.local.backends import netns

    monkeypatch.setattr(netns, "can_make_hosts", lambda: "several hosts on one machine need root")
    code = local_cli.main(["--home", str(tmp_path), "run", str(QUICKSTART / "train.py"), "--instance-count", "2"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: instance count 2: several hosts on one machine need root; run as root, or use an instance count of 1"
    )
    assert not (tmp_path / "jobs").exists() or not list((tmp_path / "jobs").iterdir())


@pytest.mark.skipif(can_run_mpi_across_hosts() is not None, reason=str(can_run_mpi_across_hosts()))
def test_a_two_host_mpi_job_as_root(tmp_path: Path) -> None:
    pytest.importorskip("mpi4py")
    result = cli(tmp_path, "run", str(SCRIPTS / "mpi_hosts.py"), "--instance-count", "2", "-H",
                 "sagemaker_mpi_enabled=true", "--job-name", "two-hosts")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "algo-1 | [1,1]<stdout>:rank 1 of 2 on algo-2: sum 1" in result.stdout
    assert "algo-2 | " in result.stdout
    job_dir = tmp_path / "jobs" / "two-hosts"
    assert record(job_dir)["TrainingJobStatus"] == "Completed"
    assert json.loads((job_dir / "hosts" / "algo-2" / "model" / "rank-1.json").read_text())["sm_current_host"] == "algo-2"
    assert (job_dir / "output" / "model.tar.gz").is_file()


def test_ctrl_c_stops_every_host_and_the_record_says_stopped(tmp_path: Path) -> None:
    import signal

    command = cli_command()
    process = subprocess.Popen(
        [*command, "--home", str(tmp_path), "run", str(SCRIPTS / "checkpoint_on_sigterm.py"), "--job-name", "stop-me"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "algo-1 | training" in line:
            break
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "algo-1 | checkpoint written" in stdout
    job_dir = tmp_path / "jobs" / "stop-me"
    assert record(job_dir)["TrainingJobStatus"] == "Stopped"
    assert (job_dir / "hosts" / "algo-1" / "checkpoints" / "checkpoint.txt").is_file()
