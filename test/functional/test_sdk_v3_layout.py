"""A job whose code arrives the SageMaker SDK v3 way runs under `train` with its guarantees.

The base dirs are laid out by hand as `ModelTrainer(source_code=...)` lays out `/opt/ml`: the
channel `sm_drivers` with `sourcecode.json` and `distributed.json`, the code in the channel
`code`, nothing in `<base>/code`. No Docker, no SDK: `train` alone reads the layout.
"""

from __future__ import annotations

import io
import json
import signal
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from harness.jobs import SCRIPTS, JobDir


def v3_job(tmp_path: Path, source_code: dict[str, Any], scripts: tuple[str, ...],
           hyperparameters: dict[str, str] | None = None) -> JobDir:
    """A base dir as SDK v3 local mode mounts it; hyperparameters as the SDK writes them (strings)."""
    job = JobDir.at(tmp_path / "opt_ml")
    drivers = job.channel("sm_drivers")
    (drivers / "sourcecode.json").write_text(json.dumps(
        {"source_dir": "/home/user/src", "requirements": None, "entry_script": None, "command": None,
         "ignore_patterns": [".env", ".git", "__pycache__"], **source_code}
    ))
    (drivers / "distributed.json").write_text("{}")
    code = job.channel("code")
    for name in scripts:
        (code / name).write_bytes((SCRIPTS / name).read_bytes())
    job.channel("train", {"data.csv": "1,2\n"})
    job.config_file("hyperparameters.json", hyperparameters or {})
    job.config_file("resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"],
                                            "network_interface_name": "eth0", "current_instance_type": "local"})
    job.config_file("inputdataconfig.json", {name: {"TrainingInputMode": "File"}
                                             for name in ("code", "sm_drivers", "train")})
    return job


def report_of(job: JobDir) -> dict[str, Any]:
    with tarfile.open(job.output / "model.tar.gz") as archive:
        member = archive.extractfile("report.json")
        assert member is not None
        report: dict[str, Any] = json.load(member)
    return report


def test_entry_script_runs_from_the_code_channel_with_v3s_arguments(tmp_path: Path) -> None:
    job = v3_job(tmp_path, {"entry_script": "report_env.py"}, ("report_env.py",),
                 {"epochs": "3", "lr": "0.1", "layers": "[64, 32]", "b": "true", "name": "a b"})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert job.succeeded()
    report = report_of(job)  # the model artifact: model/ packed as model.tar.gz
    code = job.base / "input" / "data" / "code"
    # v3's rendering: file order, --name for every key, strings raw, the rest JSON.
    assert report["argv"] == ["report_env.py", "--epochs", "3", "--lr", "0.1", "--layers", "[64, 32]",
                              "--b", "true", "--name", "a b"]
    assert report["cwd"] == str(code)
    env = report["env"]
    assert env["SM_ENTRY_SCRIPT"] == "report_env.py"
    assert env["SM_SOURCE_DIR"] == str(code)
    assert env["SM_OUTPUT_FAILURE"] == str(job.output / "failure")
    assert (env["SM_MASTER_ADDR"], env["SM_MASTER_PORT"], env["SM_HOST_COUNT"], env["SM_CURRENT_HOST_RANK"]) == (
        "algo-1", "7777", "1", "0")
    assert env["SM_CHANNEL_TRAIN"] == str(job.base / "input" / "data" / "train")
    assert env["PYTHONPATH"].split(":")[0] == str(code)
    assert "SM_DISTRIBUTED_CONFIG" not in env
    assert "code from the SDK v3 channels" in result.stderr
    assert not any((job.base / "code").iterdir())  # nothing copied into <base>/code


def test_a_failing_script_gets_its_own_error_in_the_failure_file(tmp_path: Path) -> None:
    job = v3_job(tmp_path, {"entry_script": "raise_error.py"}, ("raise_error.py",))
    result = job.run()
    assert result.returncode == 1
    failure = job.failure() or ""
    assert failure.startswith("ExecuteUserScriptError:\nExitCode 1")
    assert "ValueError: boom: the learning rate is negative" in failure
    assert not job.succeeded()


def test_sigterm_reaches_the_script_and_artifacts_are_packed(tmp_path: Path) -> None:
    job = v3_job(tmp_path, {"entry_script": "checkpoint_on_sigterm.py"}, ("checkpoint_on_sigterm.py",))
    process = job.start({"SM_STOP_GRACE_SECONDS": "30"})
    pids = job.base / "output" / "data" / "pids"
    deadline = time.monotonic() + 30
    while not pids.exists():
        assert time.monotonic() < deadline, "the script never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "checkpoint written" in stdout
    assert (job.base / "checkpoints" / "checkpoint.txt").read_text() == "stopped by signal 15\n"
    assert (job.failure() or "").startswith("TrainingStopped:\nSignal SIGTERM")
    assert (job.output / "output.tar.gz").exists()


def test_a_command_runs_as_argv_with_variables_expanded_and_no_hyperparameter_arguments(tmp_path: Path) -> None:
    command = f"{sys.executable} report_env.py --data $SM_CHANNEL_TRAIN --text 'two words'"
    job = v3_job(tmp_path, {"command": command, "entry_script": "ignored.py"}, ("report_env.py",), {"epochs": "3"})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert report_of(job)["argv"] == ["report_env.py", "--data", str(job.base / "input" / "data" / "train"),
                                      "--text", "two words"]


def test_a_command_that_needs_a_shell_is_a_one_line_configuration_error(tmp_path: Path) -> None:
    job = v3_job(tmp_path, {"command": "python report_env.py | tee log"}, ("report_env.py",))
    result = job.run()
    assert result.returncode == 1
    failure = job.failure() or ""
    assert "sourcecode.json" in failure and "'|' needs a shell" in failure


def test_source_dir_sent_as_a_tarball_is_unpacked_in_the_code_channel(tmp_path: Path) -> None:
    job = v3_job(tmp_path, {"source_dir": "/home/user/src.tar.gz", "entry_script": "pkg/report_env.py"}, ())
    data = (SCRIPTS / "report_env.py").read_bytes()
    with tarfile.open(job.base / "input" / "data" / "code" / "src.tar.gz", "w:gz") as archive:
        member = tarfile.TarInfo("pkg/report_env.py")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert report_of(job)["cwd"] == str(job.base / "input" / "data" / "code")
