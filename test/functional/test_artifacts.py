"""Model and output artifacts are packed after the job, whatever its outcome."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

from harness.jobs import JobDir

WRITE_ARTIFACTS = (
    "import os, sys\n"
    "model = os.environ['SM_MODEL_DIR']\n"
    "os.makedirs(os.path.join(model, '1'), exist_ok=True)\n"
    "open(os.path.join(model, '1', 'saved_model.pb'), 'wb').write(os.urandom(4096))\n"
    "open(os.path.join(model, 'model.npz'), 'wb').write(b'weights' * 1000)\n"
    "if not os.path.lexists(os.path.join(model, 'latest')):\n"
    "    os.symlink('model.npz', os.path.join(model, 'latest'))\n"
    "open(os.path.join(os.environ['SM_OUTPUT_DATA_DIR'], 'metrics.json'), 'w').write('{}')\n"
    "sys.exit(int(os.environ.get('EXIT_WITH', '0')))\n"
)


def contents(path: str) -> dict[str, bytes | str]:
    found: dict[str, bytes | str] = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                found[member.name] = extracted.read()
            elif member.issym():
                found[member.name] = f"-> {member.linkname}"
    return found


def test_artifacts_round_trip(job: JobDir) -> None:
    (job.code / "t.py").write_text(WRITE_ARTIFACTS)
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = job.run()
    assert result.returncode == 0, result.stderr
    model = contents(str(job.output / "model.tar.gz"))
    assert model["model.npz"] == b"weights" * 1000
    assert model["1/saved_model.pb"] == (job.model / "1" / "saved_model.pb").read_bytes()
    assert model["latest"] == "-> model.npz"
    assert contents(str(job.output / "output.tar.gz")) == {"metrics.json": b"{}"}
    # Status comes last, after the artifacts exist.
    assert (job.output / "success").stat().st_mtime_ns >= (job.output / "model.tar.gz").stat().st_mtime_ns


def test_artifacts_are_packed_after_a_failure(job: JobDir) -> None:
    (job.code / "t.py").write_text(WRITE_ARTIFACTS)
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = job.run({"EXIT_WITH": "4"})
    assert result.returncode == 1
    assert "model.npz" in contents(str(job.output / "model.tar.gz"))


def test_packing_can_be_turned_off(job: JobDir) -> None:
    (job.code / "t.py").write_text(WRITE_ARTIFACTS)
    job.hyperparameters({"sagemaker_program": "t.py"})
    assert job.run({"SM_PACKAGE_ARTIFACTS": "false"}).returncode == 0
    assert not (job.output / "model.tar.gz").exists()


def test_packing_is_off_on_the_sagemaker_platform(job: JobDir) -> None:
    (job.code / "t.py").write_text(WRITE_ARTIFACTS)
    job.hyperparameters({"sagemaker_program": "t.py"})
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/x"
    assert job.run({"TRAINING_JOB_ARN": arn}).returncode == 0
    assert not (job.output / "model.tar.gz").exists()
    assert job.run({"TRAINING_JOB_ARN": arn, "SM_PACKAGE_ARTIFACTS": "true"}).returncode == 0
    assert (job.output / "model.tar.gz").exists()


def test_a_tarball_written_by_the_job_is_not_overwritten(job: JobDir) -> None:
    (job.code / "t.py").write_text(
        "import os\nopen(os.path.join(os.environ['SM_OUTPUT_DIR'], 'model.tar.gz'), 'wb').write(b'mine')\n"
    )
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = job.run()
    assert result.returncode == 0
    assert (job.output / "model.tar.gz").read_bytes() == b"mine"
    assert "already exists (written by the job): not overwriting it" in result.stderr
    assert os.path.exists(job.output / "output.tar.gz")


def test_a_tarball_left_by_an_earlier_run_is_replaced(job: JobDir) -> None:
    (job.code / "t.py").write_text(WRITE_ARTIFACTS)
    job.hyperparameters({"sagemaker_program": "t.py"})
    stale = job.output / "model.tar.gz"
    stale.write_bytes(b"from last week")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    result = job.run()
    assert result.returncode == 0, result.stderr
    assert "model.npz" in contents(str(stale))


def test_train_makes_the_contract_directories_a_bare_base_dir_lacks(tmp_path: Path) -> None:
    """The platform guarantees model/, output/data/, output/intermediate/ and the checkpoint dir; so does train."""
    base = tmp_path / "bare"
    (base / "input" / "config").mkdir(parents=True)
    (base / "code").mkdir()
    (base / "code" / "save.py").write_text(
        "import os\n"
        "for name in ('SM_MODEL_DIR', 'SM_OUTPUT_DATA_DIR', 'SM_OUTPUT_INTERMEDIATE_DIR'):\n"
        "    open(os.path.join(os.environ[name], 'written'), 'w').write(name)\n"
        "open(os.path.join(os.environ['SM_CHECKPOINT_DIR'], 'seen'), 'w').close()\n"
    )
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"sagemaker_program": '"save.py"'}))
    (base / "input" / "config" / "checkpointconfig.json").write_text(json.dumps({"LocalPath": str(base / "ckpt")}))
    job = JobDir(base)
    result = job.run()
    assert result.returncode == 0, result.stderr
    with tarfile.open(base / "output" / "model.tar.gz") as archive:
        assert archive.getnames() == ["written"]
    assert (base / "output" / "intermediate" / "written").exists()
    assert (base / "ckpt" / "seen").exists()
