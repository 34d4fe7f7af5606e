"""Copying a code directory into the job's code dir."""

from __future__ import annotations

from pathlib import Path

from container_runtime.usercode.fetch import classify_source, prepare_code_dir


def test_a_source_dir_that_holds_the_job_itself_is_copied_without_the_job(tmp_path: Path) -> None:
    """Local mode's jobs dir may sit inside the script's own dir: the copy must not copy itself forever."""
    source = tmp_path / "project"
    (source / "lib").mkdir(parents=True)
    (source / "train.py").write_text("print('hi')\n")
    (source / "lib" / "util.py").write_text("X = 1\n")
    code_dir = source / "jobs" / "job-1" / "hosts" / "algo-1" / "code"
    (code_dir.parent / "input").mkdir(parents=True)
    (code_dir.parent / "input" / "big.bin").write_bytes(b"0" * 1000)

    prepare_code_dir(classify_source(str(source), code_dir), code_dir, force=False, s3_endpoint_url=None, region=None)

    copied = sorted(str(path.relative_to(code_dir)) for path in code_dir.rglob("*"))
    assert copied == ["lib", "lib/util.py", "train.py"]
