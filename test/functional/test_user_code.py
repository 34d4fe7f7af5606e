"""Getting the user's code in place and started: archives, S3, packages, requirements, shells."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.jobs import SCRIPTS, JobDir
from harness.s3_server import S3Server, running_s3_server


def make_source_tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def report(job: JobDir) -> dict[str, object]:
    return json.loads((job.model / "report.json").read_text())  # type: ignore[no-any-return]


REPORT_SCRIPT = (SCRIPTS / "report_env.py").read_text()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


def test_code_from_local_tarball(job: JobDir, tmp_path: Path) -> None:
    tarball = make_source_tarball(tmp_path / "sourcedir.tar.gz", {"train.py": REPORT_SCRIPT, "lib/util.py": ""})
    job.code.rmdir()
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_submit_directory": str(tarball)})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert (job.code / "lib" / "util.py").exists()
    env = report(job)["env"]
    assert isinstance(env, dict) and env["SM_MODULE_DIR"] == str(tarball)


def test_code_from_file_uri_directory(job: JobDir, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(REPORT_SCRIPT)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_submit_directory": f"file://{source}"})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert (job.code / "train.py").exists()


def test_code_from_s3(job: JobDir, tmp_path: Path, s3: S3Server) -> None:
    tarball = make_source_tarball(tmp_path / "sourcedir.tar.gz", {"train.py": REPORT_SCRIPT})
    uri = s3.put_object("code-bucket", "job/source/sourcedir.tar.gz", tarball)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_submit_directory": uri})
    result = job.run(s3.environment())
    assert result.returncode == 0, result.stderr
    assert (job.code / "train.py").read_text() == REPORT_SCRIPT


def test_missing_s3_object_is_a_clear_failure(job: JobDir, s3: S3Server) -> None:
    s3.put_object("code-bucket", "other", b"x")
    uri = "s3://code-bucket/missing/sourcedir.tar.gz"
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_submit_directory": uri})
    result = job.run(s3.environment())
    assert result.returncode == 1
    assert uri in (job.failure() or "")
    assert "Traceback" not in result.stderr


def test_non_empty_code_dir_is_kept_and_said_so(job: JobDir, tmp_path: Path) -> None:
    tarball = make_source_tarball(tmp_path / "sourcedir.tar.gz", {"train.py": "raise SystemExit(9)\n"})
    (job.code / "train.py").write_text(REPORT_SCRIPT)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_submit_directory": str(tarball)})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert "is not empty: using the code already there, NOT unpacking" in result.stderr
    assert "SM_FORCE_CODE_EXTRACT" in result.stderr


def test_force_code_extract_replaces_the_code_dir(job: JobDir, tmp_path: Path) -> None:
    tarball = make_source_tarball(tmp_path / "sourcedir.tar.gz", {"train.py": REPORT_SCRIPT})
    (job.code / "train.py").write_text("raise SystemExit(9)\n")
    (job.code / "stale.txt").write_text("old")
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_submit_directory": str(tarball)})
    result = job.run({"SM_FORCE_CODE_EXTRACT": "true"})
    assert result.returncode == 0, result.stderr
    assert not (job.code / "stale.txt").exists()


@pytest.mark.parametrize("marker", ["setup.py", "pyproject.toml"])
def test_package_entry_point_is_installed_and_run_as_module(job: JobDir, marker: str, tmp_path: Path) -> None:
    package = job.code / "trainer_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(REPORT_SCRIPT)
    if marker == "setup.py":
        (job.code / "setup.py").write_text(
            "from setuptools import setup\nsetup(name='trainer-pkg', version='1.0', packages=['trainer_pkg'])\n"
        )
    else:
        (job.code / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
            '[project]\nname = "trainer-pkg"\nversion = "1.0"\n'
            '[tool.setuptools]\npackages = ["trainer_pkg"]\n'
        )
    job.hyperparameters({"sagemaker_program": "trainer_pkg/main.py", "epochs": 2})
    # pip's quirk: PIP_NO_BUILD_ISOLATION=0 turns isolation off, so the venv's setuptools builds it.
    offline = {"PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1", "PIP_TARGET": str(tmp_path / "site")}
    result = job.run(offline, timeout=300)
    assert result.returncode == 0, result.stderr
    seen = report(job)
    assert str(seen["argv"]).endswith("main.py', '--epochs', '2']")
    assert "Running python package" in result.stderr and "-m trainer_pkg.main" in result.stderr


def build_wheel(directory: Path, name: str, version: str, module_source: str) -> Path:
    """A minimal pure-Python wheel, written by hand so the test needs no network or builder."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module_source.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    records = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        records.append(f"{path},sha256={digest},{len(data)}")
    records.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(records) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def test_requirements_are_installed_from_a_local_wheel(job: JobDir, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "cr_test_dependency", "1.0", "ANSWER = 42\n")
    (job.code / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\ncr_test_dependency==1.0\n")
    (job.code / "train.py").write_text("import cr_test_dependency\nprint('answer', cr_test_dependency.ANSWER)\n")
    job.hyperparameters({"sagemaker_program": "train.py"})
    venv_pip_target = tmp_path / "site"
    result = job.run({"PIP_TARGET": str(venv_pip_target), "PYTHONPATH": str(venv_pip_target)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "answer 42" in result.stdout
    assert "Installing user dependencies" in result.stderr


def test_failing_requirements_are_reported(job: JobDir, tmp_path: Path) -> None:
    (job.code / "requirements.txt").write_text("--no-index\ncr-package-that-does-not-exist==9.9\n")
    (job.code / "train.py").write_text("print('never')\n")
    job.hyperparameters({"sagemaker_program": "train.py"})
    result = job.run(timeout=300)
    assert result.returncode == 1
    failure = job.failure() or ""
    assert failure.startswith("InstallRequirementsError:\nExitCode 1")
    assert "cr-package-that-does-not-exist" in failure
    assert "never" not in result.stdout


def test_shell_entry_point_gets_arguments_as_a_list(job: JobDir) -> None:
    job.script("run.sh").hyperparameters(
        {"sagemaker_program": "run.sh", "learning-rate": 0.5, "name": "two words; rm -rf /", "q": "'\"$HOME"}
    )
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "arg:--learning-rate", "arg:0.5", "arg:--name", "arg:two words; rm -rf /",
        "arg:-q", "arg:'\"$HOME", "lr:0.5",
    ]


def test_shell_script_without_shebang_runs_with_sh(job: JobDir) -> None:
    (job.code / "go.sh").write_text('echo "first=$1"\n')
    job.hyperparameters({"sagemaker_program": "go.sh", "x": 1})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "first=-x\n"


def test_framework_module_gets_the_job(job: JobDir, tmp_path: Path) -> None:
    adapter = tmp_path / "adapter_pkg"
    adapter.mkdir()
    (adapter / "__init__.py").write_text("")
    (adapter / "training.py").write_text(
        "def run(job):\n"
        "    entry = job.prepare_code()\n"
        "    args = ['--from-adapter', '1', *job.user_args()]\n"
        "    job.run_checked(job.user_command(entry, args), env=job.child_env(args))\n"
    )
    job.script("report_env.py").hyperparameters({"sagemaker_program": "report_env.py", "lr": 1})
    result = job.run(
        {"SAGEMAKER_TRAINING_MODULE": "adapter_pkg.training:run", "PYTHONPATH": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    seen = report(job)
    assert seen["argv"] == ["report_env.py", "--from-adapter", "1", "--lr", "1"]
    env = seen["env"]
    assert isinstance(env, dict) and env["SM_FRAMEWORK_MODULE"] == "adapter_pkg.training:run"


def test_framework_module_that_raises_is_a_framework_error(job: JobDir, tmp_path: Path) -> None:
    (tmp_path / "broken_adapter.py").write_text("def main():\n    raise RuntimeError('adapter bug')\n")
    result = job.run({"SAGEMAKER_TRAINING_MODULE": "broken_adapter:main", "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    failure = job.failure() or ""
    assert failure.startswith("Framework Error: \nTraceback")
    assert "RuntimeError: adapter bug" in failure


def test_unknown_framework_module(job: JobDir) -> None:
    result = job.run({"SAGEMAKER_TRAINING_MODULE": "no_such_adapter:run"})
    assert result.returncode == 1
    assert "SAGEMAKER_TRAINING_MODULE: cannot import 'no_such_adapter'" in result.stderr


def test_entry_point_that_cannot_be_executed(job: JobDir) -> None:
    (job.code / "tool").write_text("#!/nonexistent/interpreter\necho never\n")
    job.hyperparameters({"sagemaker_program": "tool"})
    result = job.run()
    assert result.returncode == 1
    failure = job.failure() or ""
    assert failure.startswith("ExecuteUserScriptError:\nExitCode 127")
    assert "No such file or directory" in failure


def test_extensionless_script_without_shebang_runs_with_sh(job: JobDir) -> None:
    (job.code / "train").write_text('echo "args: $*"\n')
    job.hyperparameters({"sagemaker_program": "train", "epochs": 2})
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "args: --epochs 2\n"


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("the runtime targets Linux", allow_module_level=True)
