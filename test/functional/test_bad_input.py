"""Every bad input ends with one clear line naming the file and key, a failure file and exit 1."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.jobs import JobDir


def _tar_with_member(path: Path, name: str) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(name)
        data = b"print('pwned')\n"
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def not_json(job: JobDir) -> None:
    job.config_file("hyperparameters.json", "{not json")


def not_an_object(job: JobDir) -> None:
    job.config_file("resourceconfig.json", '["algo-1"]')


def host_not_in_hosts(job: JobDir) -> None:
    job.config_file("resourceconfig.json", {"current_host": "algo-3", "hosts": ["algo-1", "algo-2"]})


def entry_point_missing(job: JobDir) -> None:
    job.hyperparameters({"sagemaker_program": "missing.py"})


def entry_point_outside(job: JobDir) -> None:
    job.hyperparameters({"sagemaker_program": "../outside.py"})


def entry_point_symlink_outside(job: JobDir) -> None:
    (job.base / "evil.py").write_text("print('outside')\n")
    (job.code / "link.py").symlink_to(job.base / "evil.py")
    job.hyperparameters({"sagemaker_program": "link.py"})


def no_entry_point(job: JobDir) -> None:
    job.hyperparameters({"epochs": 1})


def unsupported_archive(job: JobDir) -> None:
    (job.base / "code.zip").write_bytes(b"PK\x03\x04rest-of-zip")
    job.code.rmdir()
    job.hyperparameters({"sagemaker_program": "t.py", "sagemaker_submit_directory": str(job.base / "code.zip")})


def hostile_archive(job: JobDir) -> None:
    archive = _tar_with_member(job.base / "sourcedir.tar.gz", "../../escaped.py")
    job.code.rmdir()
    job.hyperparameters({"sagemaker_program": "t.py", "sagemaker_submit_directory": str(archive)})


def submit_dir_missing(job: JobDir) -> None:
    job.hyperparameters({"sagemaker_program": "t.py", "sagemaker_submit_directory": "/nonexistent/src.tar.gz"})


def submit_dir_bad_scheme(job: JobDir) -> None:
    job.hyperparameters({"sagemaker_program": "t.py", "sagemaker_submit_directory": "http://example.invalid/x.tgz"})


def unreadable_channel(job: JobDir) -> None:
    job.config_file("inputdataconfig.json", {"train": {"TrainingInputMode": "File"}})
    (job.base / "input" / "data" / "train").write_text("a file, not a directory")


def bad_channel_config(job: JobDir) -> None:
    job.config_file("inputdataconfig.json", {"train": "File"})


def nul_in_hyperparameter(job: JobDir) -> None:
    job.script("report_env.py")
    job.hyperparameters({"sagemaker_program": "report_env.py", "bad": "a\u0000b"})


def nul_in_job_name(job: JobDir) -> None:
    job.script("report_env.py")
    job.hyperparameters({"sagemaker_program": "report_env.py", "sagemaker_job_name": "job\u0000name"})


def nul_in_network_interface(job: JobDir) -> None:
    job.script("report_env.py")
    job.hyperparameters({"sagemaker_program": "report_env.py"})
    job.config_file("resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"],
                                            "network_interface_name": "eth\u00000"})


def bad_cli_style(job: JobDir) -> None:
    job.script("report_env.py")
    job.hyperparameters({"sagemaker_program": "report_env.py", "sagemaker_cli_style": "yaml"})


def bad_grace_variable(job: JobDir) -> None:
    job.script("report_env.py")
    job.hyperparameters({"sagemaker_program": "report_env.py"})
    job.config_file("checkpointconfig.json", {"LocalPath": "relative/dir"})


CASES: list[tuple[str, Callable[[JobDir], None], str]] = [
    ("not JSON", not_json, "hyperparameters.json: is not valid JSON"),
    ("not an object", not_an_object, "resourceconfig.json: expected a JSON object, got an array"),
    ("current_host not in hosts", host_not_in_hosts, "current_host 'algo-3' is not in hosts"),
    ("entry point missing", entry_point_missing, "entry point 'missing.py' not found"),
    ("entry point outside", entry_point_outside, "invalid entry point '../outside.py'"),
    ("entry point symlink outside", entry_point_symlink_outside, "outside the code dir"),
    ("no entry point", no_entry_point, "no entry point"),
    ("unsupported archive", unsupported_archive, "code.zip: unsupported archive format"),
    ("hostile archive", hostile_archive, "refusing member '../../escaped.py'"),
    ("submit dir missing", submit_dir_missing, "'/nonexistent/src.tar.gz' does not exist"),
    ("submit dir scheme", submit_dir_bad_scheme, "unsupported URI scheme 'http'"),
    ("unreadable channel", unreadable_channel, "channel 'train'"),
    ("bad channel config", bad_channel_config, "channel 'train': expected an object, got a string"),
    ("NUL in hyperparameter", nul_in_hyperparameter, "hyperparameter 'bad'"),
    ("NUL in sagemaker_job_name", nul_in_job_name, "hyperparameters.json: key 'sagemaker_job_name': value"),
    ("NUL in network_interface_name", nul_in_network_interface,
     "resourceconfig.json: key 'network_interface_name': value 'eth\\x000' contains a NUL character"),
    ("bad cli style", bad_cli_style, "'sagemaker_cli_style': expected 'contract' or 'json'"),
    ("relative checkpoint dir", bad_grace_variable, "checkpointconfig.json: key 'LocalPath'"),
]


@pytest.mark.parametrize(("make_bad", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(job: JobDir, make_bad: Callable[[JobDir], None], expected: str) -> None:
    make_bad(job)
    result = job.run()
    assert result.returncode == 1, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(error_lines) == 1, result.stderr
    assert expected in error_lines[0]
    assert "Traceback" not in result.stderr
    failure = job.failure()
    assert failure is not None and expected in failure
    assert not job.succeeded()
    assert not (job.base.parent / "escaped.py").exists()


#: (adapter variables, the hyperparameter that turns MPI on) for the generic flow and each adapter.
MPI_FLOWS = {
    "generic": ({}, "sagemaker_mpi_enabled"),
    "chainer": ({"SAGEMAKER_TRAINING_MODULE": "container_runtime_chainer.training:run"}, "sagemaker_use_mpi"),
    "tensorflow": ({"SAGEMAKER_TRAINING_MODULE": "container_runtime_tensorflow.training:run"}, "sagemaker_mpi_enabled"),
}


def job_with_requirements(job: JobDir, tmp_path: Path, hyperparameters: dict[str, object]) -> dict[str, str]:
    """A job whose requirements.txt pip would try to install; returns variables under which any pip run
    leaves a log file (PIP_LOG) and fails fast (no index)."""
    job.script("report_env.py")
    (job.code / "requirements.txt").write_text("cr-package-that-does-not-exist==9.9\n")
    job.hyperparameters({"sagemaker_program": "report_env.py", **hyperparameters})
    return {"PIP_LOG": str(tmp_path / "pip.log"), "PIP_NO_INDEX": "1"}


@pytest.mark.parametrize("flow", list(MPI_FLOWS))
def test_a_bad_process_count_fails_before_pip_runs(job: JobDir, tmp_path: Path, flow: str) -> None:
    adapter, mpi_flag = MPI_FLOWS[flow]
    pip_env = job_with_requirements(job, tmp_path, {mpi_flag: True, "sagemaker_mpi_num_processes": 0})
    result = job.run({**adapter, **pip_env})
    assert result.returncode == 1, result.stderr
    expected = "hyperparameters.json: key 'sagemaker_mpi_num_processes': expected a whole number of processes >= 1"
    error_lines = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(error_lines) == 1 and expected in error_lines[0], result.stderr
    assert expected in (job.failure() or "")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pip.log").exists(), "pip ran before the configuration error was reported"
    assert "Installing user dependencies" not in result.stderr
    assert not (job.model / "report.json").exists()


def test_pip_leaves_its_log_when_it_runs(job: JobDir, tmp_path: Path) -> None:
    """The control for the test above: the same job without the bad count does run pip (which fails)."""
    adapter, mpi_flag = MPI_FLOWS["tensorflow"]
    pip_env = job_with_requirements(job, tmp_path, {mpi_flag: False, "sagemaker_mpi_num_processes": 2})
    result = job.run({**adapter, **pip_env})
    assert result.returncode == 1
    assert (tmp_path / "pip.log").exists()
    assert (job.failure() or "").startswith("InstallRequirementsError")


def test_contradictory_tensorflow_modes_fail_before_pip_runs(job: JobDir, tmp_path: Path) -> None:
    adapter, _ = MPI_FLOWS["tensorflow"]
    pip_env = job_with_requirements(
        job, tmp_path, {"sagemaker_mpi_enabled": True, "sagemaker_parameter_server_enabled": True}
    )
    result = job.run({**adapter, **pip_env})
    assert result.returncode == 1
    assert "are both true" in (job.failure() or "")
    assert not (tmp_path / "pip.log").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SM_STOP_GRACE_SECONDS", "soon"), ("SM_PACKAGE_ARTIFACTS", "maybe"), ("SM_FORCE_CODE_EXTRACT", "2")],
)
def test_bad_variable(job: JobDir, variable: str, value: str) -> None:
    job.script("report_env.py")
    job.hyperparameters({"sagemaker_program": "report_env.py"})
    result = job.run({variable: value})
    assert result.returncode == 1
    assert f"environment variable {variable}" in result.stderr
    assert repr(value) in (job.failure() or "")


def test_train_takes_no_arguments(job: JobDir) -> None:
    import subprocess

    from harness.jobs import train_command

    help_text = subprocess.run([*train_command(), "--help"], capture_output=True, text=True, check=False)
    assert help_text.returncode == 0 and help_text.stdout.startswith("usage: train")
    wrong = subprocess.run([*train_command(), "--epochs", "3"], capture_output=True, text=True, check=False,
                           env=job.environment(None))
    assert wrong.returncode == 2
    assert "unexpected argument '--epochs'" in wrong.stderr
    assert not (job.output / "failure").exists()
